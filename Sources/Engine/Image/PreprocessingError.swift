// Why preprocessing settings or a request to materialise a resized image were refused. Settings
// come from configuration or a request, so the message names the setting and its bound.

/// A refused preprocessing setting or output size.
public enum PreprocessingError: Error, Equatable, CustomStringConvertible, Sendable {
    /// `resize` or `crop` outside 1…limit.
    case invalidSize(name: String, value: Int, limit: Int)
    /// The resized image would exceed the pixel limit of `Preprocessing.resized`.
    case outputTooLarge(width: Int, height: Int, limit: Int)

    public var description: String {
        switch self {
        case let .invalidSize(name, value, limit):
            return "\(name) is \(value); it must be between 1 and \(limit) pixels"
        case let .outputTooLarge(width, height, limit):
            return "resized image would be \(width)×\(height) pixels, more than the limit of \(limit) pixels"
        }
    }
}
