// A decoded image as the rest of the engine sees it: 8-bit RGB, rows top to bottom, no alpha.
// Every decoder produces this and preprocessing consumes it; the initialiser checks that the
// buffer matches the size so that code reading the pixels can index without further checks.

/// An 8-bit RGB image; `pixels` is (height, width, 3) row-major: R, G, B of (y, x) at `(y * width + x) * 3`.
public struct RGBImage: Sendable, Equatable {
    /// Columns, at least 1.
    public let width: Int
    /// Rows, at least 1.
    public let height: Int
    /// (height, width, 3) row-major, exactly `width * height * 3` bytes. Read-only so that the
    /// size invariant the resampler relies on cannot be broken after construction.
    public let pixels: [UInt8]

    /// Wraps an RGB buffer, checking that the size is positive and `pixels` holds exactly
    /// `width * height * 3` bytes.
    public init(width: Int, height: Int, pixels: [UInt8]) throws(ImageError) {
        guard width > 0, height > 0 else { throw .zeroSize(width: width, height: height) }
        let (area, areaOverflow) = width.multipliedReportingOverflow(by: height)
        let (bytes, bytesOverflow) = area.multipliedReportingOverflow(by: 3)
        guard !areaOverflow, !bytesOverflow, bytes == pixels.count else {
            throw .pixelCountMismatch(width: width, height: height, bytes: pixels.count)
        }
        self.init(checkedWidth: width, height: height, pixels: pixels)
    }

    /// For callers inside the engine that built the buffer to the right size themselves.
    init(checkedWidth width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}
