// Ward clustering of image summaries X into K clusters, where K is either given or chosen from the
// tree (Dendrogram.automaticClusterCount). The one entry point the command line and the server share.

/// How many clusters to cut the tree into.
public enum ClusterCount: Sendable, Equatable {
    case fixed(Int)
    /// Chosen by the Calinski–Harabasz rule over 2…maxClusters.
    case automatic(maxClusters: Int)

    /// Parses "auto" or a positive integer, as users type it.
    public init?(argument: String) {
        if argument == "auto" { self = .automatic(maxClusters: 20); return }
        guard let k = Int(argument), k >= 1 else { return nil }
        self = .fixed(k)
    }
}

/// The outcome of clustering N images.
public struct ImageClustering: Sendable {
    public let dendrogram: Dendrogram
    /// The K used.
    public let clusters: Int
    /// Cluster id (0..<K) per image, numbered by first appearance.
    public let assignments: [Int]

    /// Clusters the rows of `x`. A fixed K larger than N is an error naming both.
    public init(_ x: ImageEmbeddings, count: ClusterCount) throws(EmbeddingsError) {
        if case .fixed(let k) = count, k < 1 || k > x.images {
            throw .incompatible("cannot form \(k) clusters from \(x.images) images")
        }
        dendrogram = Ward.dendrogram(x)
        switch count {
        case .fixed(let k): clusters = k
        case .automatic(let maxClusters): clusters = dendrogram.automaticClusterCount(maxClusters: maxClusters)
        }
        assignments = dendrogram.cut(clusters: clusters)
    }
}
