// The body of the PNG and JPEG harnesses: an upload decoded as the job runner reads an image, through
// `ImageDecoder.decode` (the header probe with its size limits and structure walk, then libpng or libjpeg).
// The pixel cap is 1 Mpx instead of the server's 40, so that one input allocates at most a 3 MB RGB buffer
// and decodes in milliseconds; the checks against the cap are the same code whatever its value.
import Engine
import Foundation

/// Decodes `bytes` if they start with `signature`; -1 otherwise (the other harness's format), which keeps
/// the input out of the corpus.
func fuzzImage(_ bytes: [UInt8], signature: [UInt8]) -> CInt {
    guard bytes.starts(with: signature) else { return -1 }
    if let image = try? ImageDecoder.decode(Data(bytes), maxPixels: 1 << 20) {
        fuzzCheck(image.pixels.count == image.width * image.height * 3, "RGB buffer of the wrong size")
    }
    return 0
}
