// The PNG container as the probe reads it (PNG spec, sections 5.2–5.6 and 11.2.2): the 8-byte
// signature, IHDR first with its fields and CRC checked, then every chunk's framing up to IEND.
// Pixel data and the other chunks' CRCs are left to libpng, which checks them while decoding.

/// Header and chunk-framing checks for PNG data.
enum PNGStructure {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Largest chunk length and image side the format allows (2^31 − 1).
    static let maxChunkValue = 0x7FFF_FFFF

    static func hasSignature(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= signature.count && zip(signature, bytes).allSatisfy { $0 == $1 }
    }

    /// Reads IHDR, checks the size limits, then follows the chunk lengths to IEND.
    static func probe(_ bytes: UnsafeRawBufferPointer, limits: ImageSizeLimits) throws(ImageError) -> ImageInfo {
        // IHDR: length (4) "IHDR" (4) width (4) height (4) depth, colour type, compression,
        // filter, interlace (1 each), CRC (4): 33 bytes after the signature.
        let ihdr = signature.count
        guard bytes.count >= ihdr + 8 else { throw .truncated(.png) }
        guard chunkType(bytes, at: ihdr) == "IHDR" else {
            throw .corrupt(.png, "first chunk is \(chunkType(bytes, at: ihdr).debugDescription), not IHDR")
        }
        let length = bytes.bigEndianUInt32(at: ihdr)
        guard length == 13 else { throw .corrupt(.png, "IHDR is \(length) bytes long, not 13") }
        guard bytes.count >= ihdr + 25 else { throw .truncated(.png) }
        let storedCRC = UInt32(bytes.bigEndianUInt32(at: ihdr + 21))
        guard crc32(UnsafeRawBufferPointer(rebasing: bytes[(ihdr + 4)..<(ihdr + 21)])) == storedCRC else {
            throw .corrupt(.png, "IHDR: CRC error")
        }
        let width = bytes.bigEndianUInt32(at: ihdr + 8)
        let height = bytes.bigEndianUInt32(at: ihdr + 12)
        let depth = Int(bytes[ihdr + 16])
        let colourType = Int(bytes[ihdr + 17])
        guard width <= maxChunkValue, height <= maxChunkValue else {
            throw .corrupt(.png, "IHDR size \(width)×\(height) exceeds 2^31 − 1")
        }
        let allowedDepths: [Int: [Int]] = [0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]]
        guard let depths = allowedDepths[colourType] else {
            throw .corrupt(.png, "invalid colour type \(colourType)")
        }
        guard depths.contains(depth) else {
            throw .corrupt(.png, "invalid bit depth \(depth) for colour type \(colourType)")
        }
        guard bytes[ihdr + 18] == 0, bytes[ihdr + 19] == 0 else {
            throw .corrupt(.png, "unknown compression or filter method")
        }
        guard bytes[ihdr + 20] <= 1 else { throw .corrupt(.png, "unknown interlace method \(bytes[ihdr + 20])") }
        try limits.check(width: width, height: height)
        try walkChunks(bytes, from: ihdr + 25)
        return ImageInfo(format: .png, width: width, height: height)
    }

    /// Follows chunk lengths from `offset` to IEND; data after IEND is ignored, as decoders do.
    private static func walkChunks(_ bytes: UnsafeRawBufferPointer, from start: Int) throws(ImageError) {
        var offset = start
        var sawImageData = false
        while true {
            guard bytes.count - offset >= 12 else { throw .truncated(.png) }
            let length = bytes.bigEndianUInt32(at: offset)
            guard length <= maxChunkValue else {
                throw .corrupt(.png, "chunk length \(length) exceeds 2^31 − 1")
            }
            guard bytes.count - offset - 12 >= length else { throw .truncated(.png) }
            switch chunkType(bytes, at: offset) {
            case "IDAT":
                sawImageData = true
            case "IEND":
                guard sawImageData else { throw .corrupt(.png, "no IDAT chunk before IEND") }
                return
            default:
                break
            }
            offset += 12 + length
        }
    }

    /// The 4-letter type of the chunk whose length field starts at `offset` (bounds checked by the caller).
    private static func chunkType(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> String {
        String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
    }

    /// CRC-32 as PNG (and zlib) define it: polynomial 0xEDB88320, reflected, initial and final XOR 0xFFFFFFFF.
    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 {
            c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1
        }
        return c
    }

    private static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        return crc ^ 0xFFFF_FFFF
    }
}
