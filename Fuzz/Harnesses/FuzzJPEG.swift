// libFuzzer harness for JPEG uploads: the probe's segment walk and frame header checks, then libjpeg-turbo
// (see `fuzzImage`). Inputs without the start-of-image marker are left to the PNG harness.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJPEG(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzImage(fuzzBytes(data, size), signature: [0xFF, 0xD8])
}
