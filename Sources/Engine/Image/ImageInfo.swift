// What an image file is, read from its header alone: the format and the size. `ImageProbe` returns
// it so that an upload can be accepted or refused before any pixel is decoded.

/// The file formats the decoder reads.
public enum ImageFormat: String, Sendable, Equatable, CustomStringConvertible {
    case png
    case jpeg

    public var description: String {
        switch self {
        case .png: return "PNG"
        case .jpeg: return "JPEG"
        }
    }
}

/// Format and size of an image, from its header (PNG: IHDR; JPEG: the SOFn frame header).
public struct ImageInfo: Sendable, Equatable {
    public let format: ImageFormat
    /// Columns, at least 1.
    public let width: Int
    /// Rows, at least 1.
    public let height: Int

    public init(format: ImageFormat, width: Int, height: Int) {
        self.format = format
        self.width = width
        self.height = height
    }
}
