// The three ways of weighting patches (ALGORITHM.md §5). Names are the ones users type on the
// command line and in job options; `supervised` is the seed implementation's name for semi-supervised.

/// Where the patch scores come from.
public enum PatchWeightMode: String, CaseIterable, Sendable {
    /// Mean distance to the nearest patch of every other image of the batch.
    case unsupervised
    /// Distance to the nearest patch of the normal reference images.
    case semiSupervised = "semi-supervised"
    /// Uniform weights 1/P: the plain average of the patch embeddings.
    case average

    /// Parses a user-supplied name, accepting the seed's alias `supervised`.
    public init?(name: String) {
        if name == "supervised" { self = .semiSupervised; return }
        self.init(rawValue: name)
    }
}
