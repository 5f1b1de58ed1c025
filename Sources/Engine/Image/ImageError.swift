// Every way image input can be refused. Image bytes come from users, so each case names what was
// wrong (and the limit, where one applies) in words an uploader can act on; none of them is fatal
// to the process.

/// Why an image could not be probed, decoded or encoded.
public enum ImageError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The encoded input is larger than the byte limit.
    case inputTooLarge(bytes: Int, limit: Int)
    /// A file could not be opened or read, or is not a regular file.
    case unreadable(path: String, reason: String)
    /// The data starts with neither the PNG nor the JPEG signature (this includes empty data).
    case unknownFormat
    /// The data ends before the image does.
    case truncated(ImageFormat)
    /// The header declares a zero width or height (or an `RGBImage` was built with one).
    case zeroSize(width: Int, height: Int)
    /// A side is longer than `ImageDecoder.maxSide`.
    case sideTooLarge(width: Int, height: Int, limit: Int)
    /// width × height exceeds the caller's pixel limit; checked from the header, before decoding.
    case tooManyPixels(width: Int, height: Int, limit: Int)
    /// A CMYK or YCCK JPEG (we would have to guess the colour conversion).
    case cmykJPEG
    /// A well-formed file using a feature we do not decode (lossless or 12-bit JPEG, …).
    case unsupported(ImageFormat, String)
    /// The data is malformed; the text is the library's or the probe's finding.
    case corrupt(ImageFormat, String)
    /// The decoding library failed for a reason unrelated to the data (out of memory).
    case decoderFailed(ImageFormat, String)
    /// The encoding library refused the image (a size past its limits) or failed; the text is its message.
    case encoderFailed(ImageFormat, String)
    /// An `RGBImage` was built with a buffer that is not width × height × 3 bytes.
    case pixelCountMismatch(width: Int, height: Int, bytes: Int)

    /// `description` without the file's path, for messages that name the file another way (a server's
    /// storage layout is nobody's business but its own).
    public var reasonWithoutPath: String {
        if case let .unreadable(_, reason) = self { return "cannot read image file: \(reason)" }
        return description
    }

    public var description: String {
        switch self {
        case let .inputTooLarge(bytes, limit):
            return "image data is \(bytes) bytes, more than the limit of \(limit) bytes"
        case let .unreadable(path, reason):
            return "cannot read image file \(path): \(reason)"
        case .unknownFormat:
            return "not a PNG or JPEG image (unrecognised signature)"
        case let .truncated(format):
            return "\(format) data is truncated"
        case let .zeroSize(width, height):
            return "image size \(width)×\(height) has a zero side"
        case let .sideTooLarge(width, height, limit):
            return "image is \(width)×\(height) pixels; each side must be at most \(limit)"
        case let .tooManyPixels(width, height, limit):
            return "image is \(width)×\(height) pixels, more than the limit of \(limit) pixels"
        case .cmykJPEG:
            return "CMYK JPEG is not supported"
        case let .unsupported(format, what):
            return "unsupported \(format): \(what)"
        case let .corrupt(format, what):
            return "corrupt \(format): \(what)"
        case let .decoderFailed(format, what):
            return "\(format) decoder failed: \(what)"
        case let .encoderFailed(format, what):
            return "\(format) encoder failed: \(what)"
        case let .pixelCountMismatch(width, height, bytes):
            return "pixel buffer has \(bytes) bytes, but a \(width)×\(height) RGB image needs width × height × 3"
        }
    }
}
