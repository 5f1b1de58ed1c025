// One image's patch weights α on its patch grid, as stored for the heat-map endpoint: a blob of P = H·W
// Float32 values, little-endian, row-major (patch (y, x) at index y·W + x). Little-endian is written
// explicitly so a database file copied between machines reads the same everywhere.

/// The patch weights of one clustered image, shape (gridHeight, gridWidth), row-major.
struct AlphaMap: Sendable, Equatable {
    /// The image's position among the job's images to cluster.
    var position: Int
    /// H: patch rows.
    var gridHeight: Int
    /// W: patch columns.
    var gridWidth: Int
    /// α, H·W values (non-negative, summing to 1 per image, as the engine computes them).
    var weights: [Float]

    /// - Precondition: `weights.count == gridHeight * gridWidth`, both dimensions positive.
    init(position: Int, gridHeight: Int, gridWidth: Int, weights: [Float]) {
        precondition(gridHeight > 0 && gridWidth > 0, "empty α grid \(gridHeight)×\(gridWidth)")
        precondition(
            weights.count == gridHeight * gridWidth,
            "α has \(weights.count) values for a \(gridHeight)×\(gridWidth) grid")
        self.position = position
        self.gridHeight = gridHeight
        self.gridWidth = gridWidth
        self.weights = weights
    }

    /// The stored form: 4 bytes per value, little-endian IEEE 754 binary32.
    var littleEndianBytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(weights.count * 4)
        for value in weights {
            let bits = value.bitPattern.littleEndian
            withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// Decodes a stored blob. The schema's CHECK keeps the length right; a file edited by hand is still
    /// input, so a mismatch throws instead of trapping.
    init(position: Int, gridHeight: Int, gridWidth: Int, littleEndianBytes bytes: [UInt8]) throws {
        // Multiplied with overflow checks: the dimensions come from the file too.
        let (cells, overflow) = gridHeight.multipliedReportingOverflow(by: gridWidth)
        guard gridHeight > 0, gridWidth > 0, !overflow, bytes.count % 4 == 0, bytes.count / 4 == cells else {
            throw RowDecodingError(
                column: "weights", message: "holds \(bytes.count) bytes for a \(gridHeight)×\(gridWidth) α grid")
        }
        var weights: [Float] = []
        weights.reserveCapacity(cells)
        for start in stride(from: 0, to: bytes.count, by: 4) {
            let bits =
                UInt32(bytes[start]) | UInt32(bytes[start + 1]) << 8 | UInt32(bytes[start + 2]) << 16
                | UInt32(bytes[start + 3]) << 24
            weights.append(Float(bitPattern: bits))
        }
        self.init(position: position, gridHeight: gridHeight, gridWidth: gridWidth, weights: weights)
    }
}
