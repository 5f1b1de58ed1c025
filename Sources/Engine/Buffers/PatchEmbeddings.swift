// Patch embeddings Z of a batch of images: one contiguous Float buffer, shape (N, P, D), row-major
// (image, patch, dimension). Everything downstream of the backbone — α, X, the nearest-patch search —
// reads this layout, so it is validated once here.

/// The patch embeddings of N images, each P patches of D values. `values` is (N, P, D) row-major.
public struct PatchEmbeddings: Sendable {
    public let images: Int
    public let patches: Int
    public let dimensions: Int
    public var values: [Float]

    /// Checks the element count and that every value is finite (a NaN would silently poison every
    /// distance and the clustering). Errors name the first bad image and patch.
    public init(images: Int, patches: Int, dimensions: Int, values: [Float]) throws(EmbeddingsError) {
        guard images >= 1, patches >= 1, dimensions >= 1 else {
            throw .emptyShape("patch embeddings have shape (\(images), \(patches), \(dimensions)); every dimension must be at least 1")
        }
        let (ip, o1) = images.multipliedReportingOverflow(by: patches)
        let (count, o2) = ip.multipliedReportingOverflow(by: dimensions)
        guard !o1, !o2, count == values.count else {
            throw .countMismatch("patch embeddings: \(values.count) values do not fill shape (\(images), \(patches), \(dimensions))")
        }
        if let bad = firstNonFinite(values) {
            let image = bad / (patches * dimensions), patch = (bad / dimensions) % patches
            throw .nonFinite("patch embeddings: value \(values[bad]) at image \(image), patch \(patch), dimension \(bad % dimensions)")
        }
        self.images = images
        self.patches = patches
        self.dimensions = dimensions
        self.values = values
    }

    /// Keeps only the listed images, in the given order.
    public func selecting(images indices: [Int]) -> PatchEmbeddings {
        let stride = patches * dimensions
        var out = [Float]()
        out.reserveCapacity(indices.count * stride)
        for i in indices {
            precondition(i >= 0 && i < images, "image index \(i) out of range 0..<\(images)")
            out.append(contentsOf: values[(i * stride)..<((i + 1) * stride)])
        }
        return PatchEmbeddings(unchecked: indices.count, patches, dimensions, out)
    }

    /// For buffers the engine built itself from already validated ones.
    init(unchecked images: Int, _ patches: Int, _ dimensions: Int, _ values: [Float]) {
        precondition(images >= 1 && patches >= 1 && dimensions >= 1 && values.count == images * patches * dimensions)
        (self.images, self.patches, self.dimensions, self.values) = (images, patches, dimensions, values)
    }
}

/// Per-image embeddings X of N images, D values each; `values` is (N, D) row-major.
public struct ImageEmbeddings: Sendable {
    public let images: Int
    public let dimensions: Int
    public var values: [Float]

    public init(images: Int, dimensions: Int, values: [Float]) throws(EmbeddingsError) {
        guard images >= 1, dimensions >= 1 else {
            throw .emptyShape("image embeddings have shape (\(images), \(dimensions)); both dimensions must be at least 1")
        }
        let (count, overflow) = images.multipliedReportingOverflow(by: dimensions)
        guard !overflow, count == values.count else {
            throw .countMismatch("image embeddings: \(values.count) values do not fill shape (\(images), \(dimensions))")
        }
        if let bad = firstNonFinite(values) {
            throw .nonFinite("image embeddings: value \(values[bad]) at image \(bad / dimensions), dimension \(bad % dimensions)")
        }
        self.images = images
        self.dimensions = dimensions
        self.values = values
    }

    /// Keeps only the listed images, in the given order.
    public func selecting(images indices: [Int]) -> ImageEmbeddings {
        var out = [Float]()
        out.reserveCapacity(indices.count * dimensions)
        for i in indices {
            precondition(i >= 0 && i < images, "image index \(i) out of range 0..<\(images)")
            out.append(contentsOf: values[(i * dimensions)..<((i + 1) * dimensions)])
        }
        return ImageEmbeddings(unchecked: indices.count, dimensions, out)
    }

    /// For buffers the engine built itself from already validated ones.
    init(unchecked images: Int, _ dimensions: Int, _ values: [Float]) {
        precondition(images >= 1 && dimensions >= 1 && values.count == images * dimensions)
        (self.images, self.dimensions, self.values) = (images, dimensions, values)
    }
}

/// What can be wrong with an embeddings buffer handed to the engine.
public enum EmbeddingsError: Error, Equatable, CustomStringConvertible {
    case emptyShape(String)
    case countMismatch(String)
    case nonFinite(String)
    case incompatible(String)
    /// The caller's `shouldContinue` returned false (a cancelled job).
    case cancelled

    public var description: String {
        switch self {
        case .emptyShape(let m), .countMismatch(let m), .nonFinite(let m), .incompatible(let m): m
        case .cancelled: "cancelled"
        }
    }
}

/// Index of the first NaN or infinity, or nil.
func firstNonFinite(_ values: [Float]) -> Int? {
    values.withUnsafeBufferPointer { buffer in
        for i in 0..<buffer.count where !buffer[i].isFinite { return i }
        return nil
    }
}
