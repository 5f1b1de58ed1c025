// What can be wrong with backbone feature maps or with a patch-embedding configuration. Shapes come
// from backbone definitions and weight files, so a mismatch is reported as an error naming the layer
// and both shapes rather than trapping inside the aggregation loops.

/// Errors of `FeatureMap` and `PatchEmbedder`; each message says what was wrong and where.
public enum FeatureError: Error, Equatable, CustomStringConvertible {
    /// A dimension, layer count or embedding size is zero, negative or too large.
    case invalidShape(String)
    /// A value buffer does not hold exactly the number of values its shape needs.
    case countMismatch(String)
    /// The maps handed to `PatchEmbedder.embed` differ from the shapes it was built for.
    case layerMismatch(String)
    /// A layer map contains NaN or infinity, which would poison every patch after standardisation.
    case nonFinite(String)

    public var description: String {
        switch self {
        case .invalidShape(let m), .countMismatch(let m), .layerMismatch(let m), .nonFinite(let m): m
        }
    }
}
