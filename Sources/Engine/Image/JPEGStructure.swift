// The JPEG container as the probe reads it (ITU T.81, annex B): SOI, marker segments, the first
// SOFn frame header for the size, then entropy-coded scans skipped byte-wise up to EOI. Only the
// frame types libjpeg-turbo decodes are accepted, so the probe and the decoder agree on what is valid.

import Foundation

/// Header and segment-framing checks for JPEG data.
enum JPEGStructure {
    static func hasSignature(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8
    }

    /// Reads the frame header, checks the size limits, and follows segments and scans to EOI.
    static func probe(_ bytes: UnsafeRawBufferPointer, limits: ImageSizeLimits) throws(ImageError) -> ImageInfo {
        var offset = 2
        var frame: ImageInfo?
        var sawScan = false
        while true {
            // Like libjpeg, skip stray bytes before a marker (it warns, PIL decodes anyway), then
            // any number of 0xFF fill bytes.
            while offset < bytes.count, bytes[offset] != 0xFF { offset += 1 }
            while offset < bytes.count, bytes[offset] == 0xFF { offset += 1 }
            guard offset < bytes.count else { throw .truncated(.jpeg) }
            let marker = bytes[offset]
            offset += 1
            switch marker {
            case 0xD9:  // EOI
                guard let frame, sawScan else { throw .corrupt(.jpeg, "no image data before the end marker") }
                return frame
            case 0xD8:
                throw .corrupt(.jpeg, "second start-of-image marker")
            case 0x01, 0xD0...0xD7:  // TEM, RSTn: no length field
                continue
            default:
                break
            }
            guard bytes.count - offset >= 2 else { throw .truncated(.jpeg) }
            let length = bytes.bigEndianUInt16(at: offset)
            guard length >= 2 else { throw .corrupt(.jpeg, "marker 0x\(hex(marker)) has length \(length)") }
            guard bytes.count - offset >= length else { throw .truncated(.jpeg) }
            let body = UnsafeRawBufferPointer(rebasing: bytes[(offset + 2)..<(offset + length)])
            offset += length
            switch marker {
            case 0xC0...0xCF where marker != 0xC4 && marker != 0xC8 && marker != 0xCC:  // SOFn
                guard frame == nil else { throw .corrupt(.jpeg, "two frame headers") }
                frame = try frameHeader(marker, body, limits: limits)
            case 0xDA:  // SOS, then entropy-coded data up to the next marker that is not RSTn
                guard frame != nil else { throw .corrupt(.jpeg, "scan before the frame header") }
                sawScan = true
                offset = try endOfEntropyCodedData(bytes, from: offset)
            default:
                break
            }
        }
    }

    /// Parses a SOFn body: precision (1), height (2), width (2), component count (1), then 3 bytes
    /// per component.
    private static func frameHeader(
        _ marker: UInt8, _ body: UnsafeRawBufferPointer, limits: ImageSizeLimits
    ) throws(ImageError) -> ImageInfo {
        // libjpeg-turbo decodes baseline (SOF0), extended (SOF1) and progressive (SOF2) Huffman
        // frames and their arithmetic-coded forms (SOF9, SOF10); not lossless or hierarchical ones.
        guard [0xC0, 0xC1, 0xC2, 0xC9, 0xCA].contains(marker) else {
            let kind = marker == 0xC3 || marker == 0xCB ? "lossless" : "hierarchical or lossless"
            throw .unsupported(.jpeg, "\(kind) coding (SOF\(marker - 0xC0))")
        }
        guard body.count >= 6 else { throw .corrupt(.jpeg, "frame header is \(body.count) bytes") }
        let precision = Int(body[0])
        let height = body.bigEndianUInt16(at: 1)
        let width = body.bigEndianUInt16(at: 3)
        let components = Int(body[5])
        guard body.count == 6 + 3 * components else {
            throw .corrupt(.jpeg, "frame header length does not match its \(components) components")
        }
        guard precision == 8 else { throw .unsupported(.jpeg, "\(precision)-bit samples") }
        switch components {
        case 1, 3:
            break
        case 4:
            throw .cmykJPEG
        default:
            throw .unsupported(.jpeg, "\(components) colour components")
        }
        // A zero height means "given later by a DNL marker", which libjpeg does not support either.
        try limits.check(width: width, height: height)
        return ImageInfo(format: .jpeg, width: width, height: height)
    }

    /// Offset of the 0xFF that starts the first marker after entropy-coded data beginning at
    /// `start`. Inside a scan 0xFF is followed by 0x00 (a stuffed byte), a restart marker
    /// 0xD0–0xD7, or more 0xFF fill; anything else is the next marker.
    private static func endOfEntropyCodedData(
        _ bytes: UnsafeRawBufferPointer, from start: Int
    ) throws(ImageError) -> Int {
        guard let base = bytes.baseAddress else { throw .truncated(.jpeg) }
        var offset = start
        while offset < bytes.count {
            // memchr keeps this pass over a large scan fast even in debug builds.
            guard let found = memchr(base + offset, 0xFF, bytes.count - offset) else { break }
            let position = UnsafeRawPointer(found) - base
            var next = position + 1
            while next < bytes.count, bytes[next] == 0xFF { next += 1 }
            guard next < bytes.count else { break }
            let byte = bytes[next]
            if byte == 0x00 || (0xD0...0xD7).contains(byte) {
                offset = next + 1
                continue
            }
            return next - 1
        }
        throw .truncated(.jpeg)
    }

    private static func hex(_ byte: UInt8) -> String {
        String(byte, radix: 16, uppercase: true)
    }
}
