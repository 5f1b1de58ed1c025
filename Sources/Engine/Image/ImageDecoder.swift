// Decodes PNG and JPEG uploads to 8-bit RGB through the system libpng and libjpeg-turbo. The
// header is probed first (`ImageProbe`), so the size limits hold before the libraries or we
// allocate anything for pixels; the libraries then decode into one buffer of exactly that size.
// Their errors come back through the setjmp shims in `CPNG` and `CJPEG`, never as a crash.

import CJPEG
import CPNG
import Foundation

/// PNG and JPEG decoding with size limits.
///
/// Output follows PIL's `Image.open(f).convert("RGB")`: grayscale copied to three channels, alpha
/// (and tRNS transparency) dropped rather than composited, palettes expanded, gamma and colour
/// profiles ignored. One deliberate difference: 16-bit PNG samples become round(v·255/65535),
/// where PIL keeps the high byte (RGB, RGBA, gray+alpha: off by at most 1) or clips 16-bit gray
/// to 255. JPEGs are decoded with libjpeg-turbo's defaults, as PIL does (ISLOW DCT, fancy upsampling).
public enum ImageDecoder {
    /// Default pixel limit, 40 megapixels: above any camera image we expect, and its RGB buffer
    /// (120 MB) is the largest allocation one decode makes.
    public static let defaultMaxPixels = 40_000_000
    /// Longest accepted side. libpng's own default limit; JPEG cannot exceed 65,535 anyway.
    public static let maxSide = 1_000_000
    /// Default bound on the encoded input, 256 MiB.
    public static let defaultMaxInputBytes = 256 << 20

    /// Decodes PNG or JPEG data to RGB.
    ///
    /// - Parameters:
    ///   - maxPixels: largest accepted width × height; checked from the header before decoding.
    ///   - maxInputBytes: largest accepted `data.count`.
    public static func decode(
        _ data: Data,
        maxPixels: Int = defaultMaxPixels,
        maxInputBytes: Int = defaultMaxInputBytes
    ) throws(ImageError) -> RGBImage {
        let info = try ImageProbe.probe(data, maxPixels: maxPixels, maxInputBytes: maxInputBytes)
        // The probe bounded width × height by maxPixels, so this cannot overflow.
        var pixels = [UInt8](repeating: 0, count: info.width * info.height * 3)
        var message = [CChar](repeating: 0, count: 512)
        let code: Int32 = data.withUnsafeBytes { input in
            pixels.withUnsafeMutableBufferPointer { output in
                message.withUnsafeMutableBufferPointer { text in
                    let source = input.bindMemory(to: UInt8.self)
                    switch info.format {
                    case .png:
                        return acs_png_decode_rgb8(
                            source.baseAddress, source.count, UInt32(info.width), UInt32(info.height),
                            output.baseAddress, output.count, text.baseAddress, text.count)
                    case .jpeg:
                        return acs_jpeg_decode_rgb8(
                            source.baseAddress, source.count, UInt32(info.width), UInt32(info.height),
                            output.baseAddress, output.count, text.baseAddress, text.count)
                    }
                }
            }
        }
        let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        switch info.format {
        case .png:
            try checkPNG(code: code, message: text)
        case .jpeg:
            try checkJPEG(code: code, message: text)
        }
        return RGBImage(checkedWidth: info.width, height: info.height, pixels: pixels)
    }

    /// Reads and decodes an image file, refusing files over `maxInputBytes` before reading them.
    public static func decode(
        contentsOf url: URL,
        maxPixels: Int = defaultMaxPixels,
        maxInputBytes: Int = defaultMaxInputBytes
    ) throws(ImageError) -> RGBImage {
        // Size and kind first: a FIFO or device has no size and could be read without bound.
        let data: Data
        do {
            let attributes = try url.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey])
            guard attributes.isRegularFile == true else {
                throw ImageError.unreadable(path: url.path, reason: "not a regular file")
            }
            let size = attributes.fileSize ?? 0
            guard size <= maxInputBytes else { throw ImageError.inputTooLarge(bytes: size, limit: maxInputBytes) }
            data = try Data(contentsOf: url)
        } catch let error as ImageError {
            throw error
        } catch {
            throw .unreadable(path: url.path, reason: error.localizedDescription)
        }
        return try decode(data, maxPixels: maxPixels, maxInputBytes: maxInputBytes)
    }

    private static func checkPNG(code: Int32, message: String) throws(ImageError) {
        switch Int(code) {
        case ACS_PNG_OK:
            return
        case ACS_PNG_TRUNCATED:
            throw .truncated(.png)
        case ACS_PNG_OUT_OF_MEMORY:
            throw .decoderFailed(.png, message)
        default:
            throw .corrupt(.png, message)
        }
    }

    private static func checkJPEG(code: Int32, message: String) throws(ImageError) {
        switch Int(code) {
        case ACS_JPEG_OK:
            return
        case ACS_JPEG_TRUNCATED:
            throw .truncated(.jpeg)
        case ACS_JPEG_CMYK:
            throw .cmykJPEG
        default:
            throw .corrupt(.jpeg, message)
        }
    }
}
