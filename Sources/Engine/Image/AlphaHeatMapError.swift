// Why an α heat map could not be drawn. α and its grid come from a stored job, so these are
// checked rather than trusted; each message names the mismatch.

/// A refused α grid for `AlphaHeatMap.render`.
public enum AlphaHeatMapError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A grid side is below 1.
    case emptyGrid(height: Int, width: Int)
    /// `alpha.count` is not gridHeight × gridWidth.
    case countMismatch(count: Int, gridHeight: Int, gridWidth: Int)
    /// α holds a NaN or an infinity at this index (the first one).
    case nonFinite(index: Int)

    public var description: String {
        switch self {
        case let .emptyGrid(height, width):
            return "α grid is \(height)×\(width); both sides must be at least 1"
        case let .countMismatch(count, gridHeight, gridWidth):
            return "α has \(count) values, but a \(gridHeight)×\(gridWidth) grid needs \(gridHeight)·\(gridWidth)"
        case let .nonFinite(index):
            return "α[\(index)] is not a finite number"
        }
    }
}
