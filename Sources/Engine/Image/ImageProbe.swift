// Reads an image's format and size from its header without decoding pixels, for upload
// validation and so that the decoder can check its limits before it allocates anything. It
// also walks the file's structure (PNG chunks, JPEG segments) to its end marker, which catches
// truncated files cheaply; checksums of pixel data and the pixel data itself are left to the decoder.

import Foundation

/// Header-level inspection of PNG and JPEG data.
public enum ImageProbe {
    /// Identifies the format by its signature, reads the size from the header and checks it
    /// against the limits: no zero side, no side over `ImageDecoder.maxSide`, at most `maxPixels`
    /// pixels. Then checks the file's chunk or segment structure up to its end marker.
    ///
    /// - Parameters:
    ///   - maxPixels: largest accepted width × height.
    ///   - maxInputBytes: largest accepted input.
    public static func probe(
        _ data: Data,
        maxPixels: Int = ImageDecoder.defaultMaxPixels,
        maxInputBytes: Int = ImageDecoder.defaultMaxInputBytes
    ) throws(ImageError) -> ImageInfo {
        guard data.count <= maxInputBytes else {
            throw .inputTooLarge(bytes: data.count, limit: maxInputBytes)
        }
        let limits = ImageSizeLimits(maxPixels: maxPixels)
        let result: Result<ImageInfo, ImageError> = data.withUnsafeBytes { bytes in
            do throws(ImageError) {
                if PNGStructure.hasSignature(bytes) {
                    return .success(try PNGStructure.probe(bytes, limits: limits))
                }
                if JPEGStructure.hasSignature(bytes) {
                    return .success(try JPEGStructure.probe(bytes, limits: limits))
                }
                return .failure(.unknownFormat)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// The size checks shared by both formats, applied as soon as a header has given the size.
struct ImageSizeLimits {
    let maxPixels: Int

    func check(width: Int, height: Int) throws(ImageError) {
        guard width > 0, height > 0 else { throw .zeroSize(width: width, height: height) }
        guard width <= ImageDecoder.maxSide, height <= ImageDecoder.maxSide else {
            throw .sideTooLarge(width: width, height: height, limit: ImageDecoder.maxSide)
        }
        // Both sides are at most 10^6 here, so the product cannot overflow.
        guard width * height <= maxPixels else {
            throw .tooManyPixels(width: width, height: height, limit: maxPixels)
        }
    }
}

extension UnsafeRawBufferPointer {
    /// Big-endian unsigned 16-bit value at `offset`; the caller has checked the bounds.
    func bigEndianUInt16(at offset: Int) -> Int {
        Int(self[offset]) << 8 | Int(self[offset + 1])
    }

    /// Big-endian unsigned 32-bit value at `offset`; the caller has checked the bounds.
    func bigEndianUInt32(at offset: Int) -> Int {
        Int(self[offset]) << 24 | Int(self[offset + 1]) << 16 | Int(self[offset + 2]) << 8 | Int(self[offset + 3])
    }
}
