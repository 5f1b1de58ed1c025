// The merge tree Ward produces, in scipy's linkage convention: leaves are 0..<N, merge t (sorted by
// height) creates cluster N + t. Any number of clusters K is a cut of the same tree, so a job can
// report several K without clustering again.

/// A full agglomerative merge tree over `count` items.
public struct Dendrogram: Sendable {
    /// One merge: clusters `first` < `second` join at `height` into a cluster of `size` items.
    public struct Merge: Sendable, Equatable {
        public let first: Int
        public let second: Int
        public let height: Double
        public let size: Int
    }

    public let count: Int
    /// count − 1 merges, heights non-decreasing.
    public let merges: [Merge]

    /// Cluster id per item for K clusters: the first count − K merges applied. Ids are numbered by first
    /// appearance in item order (item 0 is in cluster 0), so equal partitions give equal labels.
    public func cut(clusters k: Int) -> [Int] {
        precondition(k >= 1 && k <= count, "cannot cut \(count) items into \(k) clusters")
        var parent = [Int](repeating: -1, count: 2 * count - 1)
        for (t, merge) in merges.prefix(count - k).enumerated() {
            parent[merge.first] = count + t
            parent[merge.second] = count + t
        }
        var idOfRoot = [Int: Int]()
        var labels = [Int](repeating: 0, count: count)
        for item in 0..<count {
            var r = item
            while parent[r] >= 0 { r = parent[r] }
            if let id = idOfRoot[r] {
                labels[item] = id
            } else {
                labels[item] = idOfRoot.count
                idOfRoot[r] = idOfRoot.count
            }
        }
        return labels
    }

    /// The automatic choice of K: the K in 2…min(`maxClusters`, count − 1) with the highest
    /// Calinski–Harabasz index, CH(K) = (B/(K−1)) / (W/(N−K)), read off the tree without touching the
    /// data: with scipy's Ward heights a merge raises the within-cluster sum of squares W by height²/2,
    /// and B = W(1) − W(K). Ties go to the smaller K; a K with W = 0 (duplicates) counts as infinite.
    /// Fewer than 3 items: every item is its own cluster.
    public func automaticClusterCount(maxClusters: Int = 20) -> Int {
        if count < 3 { return count }
        // within[j] = W after the first j merges (N − j clusters).
        var within = [Double](repeating: 0, count: count)
        for (t, merge) in merges.enumerated() { within[t + 1] = within[t] + merge.height * merge.height / 2 }
        let total = within[count - 1]
        var bestK = 2
        var bestScore = -Double.infinity
        for k in 2...min(max(2, maxClusters), count - 1) {
            let w = within[count - k]
            let score = w == 0 ? Double.infinity : ((total - w) / Double(k - 1)) / (w / Double(count - k))
            if score > bestScore { bestScore = score; bestK = k }
        }
        return bestK
    }
}
