// libFuzzer harness for PNG uploads: the probe's IHDR and chunk-framing checks, then libpng (see
// `fuzzImage`). Inputs without the PNG signature are left to the JPEG harness.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzImage(UnsafeBufferPointer(start: data, count: size), signature: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
}
