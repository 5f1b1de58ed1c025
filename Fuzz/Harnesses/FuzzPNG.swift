// libFuzzer harness for PNG uploads: the probe's IHDR and chunk-framing checks, then libpng (see
// `fuzzImage`). CRCs would stop almost every mutation at the chunk it touches, so each input is decoded
// twice: as it is, and with every chunk's CRC recomputed, which lets mutated image data reach zlib and
// libpng's row filters. Inputs without the PNG signature are left to the JPEG harness.

private let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    guard fuzzImage(bytes, signature: signature) == 0 else { return -1 }
    _ = fuzzImage(withCRCsFixed(bytes), signature: signature)
    return 0
}

/// `bytes` with the CRC of every complete chunk after the signature set to the CRC of its type and data.
private func withCRCsFixed(_ bytes: [UInt8]) -> [UInt8] {
    var fixed = bytes
    var offset = signature.count
    while fixed.count - offset >= 12 {
        let length = fixed[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
        guard length <= fixed.count - offset - 12 else { break }
        let crc = crc32(fixed[(offset + 4)..<(offset + 8 + length)])
        let crcBytes = [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: crc >> $0) }  // big-endian
        fixed.replaceSubrange((offset + 8 + length)..<(offset + 12 + length), with: crcBytes)
        offset += 12 + length
    }
    return fixed
}

/// CRC-32 as PNG defines it (ISO 3309: reflected polynomial 0xEDB88320, initial and final XOR all ones),
/// bit by bit: inputs are a few KiB.
private func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
    }
    return ~crc
}
