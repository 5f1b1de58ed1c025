// Encodes an RGB image as PNG through the system libpng (the simplified write API, wrapped in
// `CPNG`), for images the service sends back, such as the α heat map. Default compression: the
// images are small (crop × crop) and go over the network, where size matters more than speed.

import CPNG

/// PNG encoding of 8-bit RGB images.
public enum PNGEncoder {
    /// Encodes `image` as an 8-bit RGB PNG (no alpha, not interlaced). Decoding the result with
    /// `ImageDecoder.decode` gives back exactly `image`.
    ///
    /// - Throws: `ImageError.tooManyPixels` above `ImageDecoder.defaultMaxPixels` (the same cap as
    ///   decoding, so the output buffer stays bounded), `ImageError.encoderFailed` if libpng fails.
    public static func encode(_ image: RGBImage) throws(ImageError) -> [UInt8] {
        guard image.width <= ImageDecoder.maxSide, image.height <= ImageDecoder.maxSide else {
            throw .sideTooLarge(width: image.width, height: image.height, limit: ImageDecoder.maxSide)
        }
        guard image.width * image.height <= ImageDecoder.defaultMaxPixels else {
            throw .tooManyPixels(width: image.width, height: image.height, limit: ImageDecoder.defaultMaxPixels)
        }
        // Sides ≤ 1 000 000 fit in UInt32; the pixel cap keeps the rows under the shim's 2^31 bound.
        let width = UInt32(image.width)
        let height = UInt32(image.height)
        let bound = acs_png_encoded_size_bound(width, height)
        guard bound > 0 else {
            throw .encoderFailed(.png, "image size \(image.width)×\(image.height) is too large for PNG")
        }
        var output = [UInt8](repeating: 0, count: bound)
        var written = bound
        var message = [CChar](repeating: 0, count: 256)
        let code: Int32 = image.pixels.withUnsafeBufferPointer { pixels in
            output.withUnsafeMutableBufferPointer { out in
                message.withUnsafeMutableBufferPointer { text in
                    acs_png_encode_rgb8(
                        pixels.baseAddress, width, height, out.baseAddress, &written, text.baseAddress, text.count)
                }
            }
        }
        guard code == ACS_PNG_OK else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw .encoderFailed(.png, text)
        }
        output.removeLast(bound - written)
        return output
    }
}
