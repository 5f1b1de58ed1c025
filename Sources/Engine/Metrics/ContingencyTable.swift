// Contingency table between ground-truth class labels and predicted cluster ids.
// Every clustering metric (NMI, ARI, matched F1) is a function of this table alone, so it is
// built once per evaluation. Layout matches scikit-learn's `contingency_matrix`: rows are the
// sorted distinct true labels, columns the sorted distinct cluster ids, stored flat row-major.

/// Counts of samples per (true class, predicted cluster) pair.
///
/// Only classes and clusters that actually occur get a row/column, so there are no empty rows or
/// columns. Cluster ids are opaque: a noise id such as `-1` is just another column.
public struct ContingencyTable: Equatable, Sendable {
    /// Distinct true labels in ascending order (`String` `<`, i.e. Unicode scalar order for NFC text,
    /// the same order as `numpy.unique` for ASCII names). Row `r` corresponds to `trueClasses[r]`.
    public let trueClasses: [String]
    /// Distinct cluster ids in ascending order. Column `c` corresponds to `clusters[c]`.
    public let clusters: [Int]
    /// Row-major `trueClasses.count × clusters.count` sample counts: entry `(r, c)` is
    /// `counts[r * clusters.count + c]`.
    public let counts: [Int]
    /// Number of samples (the sum of all counts).
    public let total: Int

    /// Number of rows (distinct true classes).
    public var classCount: Int { trueClasses.count }
    /// Number of columns (distinct clusters).
    public var clusterCount: Int { clusters.count }

    /// Builds the table from per-sample labels.
    ///
    /// - Parameters:
    ///   - trueLabels: Ground-truth class of each sample.
    ///   - clusters: Predicted cluster id of each sample, same order and count as `trueLabels`.
    ///     (The stored `clusters` property is the sorted distinct ids, not this per-sample array.)
    /// - Precondition: `trueLabels.count == clusters.count`. Empty input gives an empty 0×0 table.
    public init(trueLabels: [String], clusters sampleClusters: [Int]) {
        precondition(trueLabels.count == sampleClusters.count,
                     "ContingencyTable: \(trueLabels.count) true labels but \(sampleClusters.count) cluster ids")
        let classes = Set(trueLabels).sorted()
        let clusterIds = Set(sampleClusters).sorted()

        // Label → row/column lookups; the per-sample loop below then does no allocation.
        var rowOfClass = [String: Int](minimumCapacity: classes.count)
        for (row, name) in classes.enumerated() { rowOfClass[name] = row }
        var columnOfCluster = [Int: Int](minimumCapacity: clusterIds.count)
        for (column, id) in clusterIds.enumerated() { columnOfCluster[id] = column }

        let width = clusterIds.count
        var table = [Int](repeating: 0, count: classes.count * width)
        for sample in 0..<trueLabels.count {
            let row = rowOfClass[trueLabels[sample]]!
            let column = columnOfCluster[sampleClusters[sample]]!
            table[row * width + column] += 1
        }

        self.trueClasses = classes
        self.clusters = clusterIds
        self.counts = table
        self.total = trueLabels.count
    }

    /// Builds a table directly from its parts (e.g. an already-aggregated confusion matrix).
    ///
    /// - Precondition: `trueClasses` and `clusters` are strictly ascending (no duplicates),
    ///   `counts.count == trueClasses.count * clusters.count`, every count is ≥ 0 and every row and
    ///   column has a positive sum — exactly what the per-sample initializer produces, so the
    ///   metrics (whose special cases depend on the number of classes/clusters) mean the same thing.
    public init(trueClasses: [String], clusters: [Int], counts: [Int]) {
        precondition(counts.count == trueClasses.count * clusters.count,
                     "ContingencyTable: \(counts.count) counts for \(trueClasses.count)×\(clusters.count)")
        precondition(zip(trueClasses, trueClasses.dropFirst()).allSatisfy { $0 < $1 },
                     "ContingencyTable: trueClasses must be strictly ascending")
        precondition(zip(clusters, clusters.dropFirst()).allSatisfy { $0 < $1 },
                     "ContingencyTable: clusters must be strictly ascending")
        precondition(counts.allSatisfy { $0 >= 0 }, "ContingencyTable: negative count")
        self.trueClasses = trueClasses
        self.clusters = clusters
        self.counts = counts
        self.total = counts.reduce(0, +)
        precondition(classTotals.allSatisfy { $0 > 0 } && clusterTotals.allSatisfy { $0 > 0 },
                     "ContingencyTable: every class and cluster needs at least one sample")
    }

    /// Count at row `row` (index into `trueClasses`) and column `column` (index into `clusters`).
    public subscript(row: Int, column: Int) -> Int {
        precondition(row >= 0 && row < classCount && column >= 0 && column < clusterCount,
                     "ContingencyTable: index (\(row), \(column)) out of \(classCount)×\(clusterCount)")
        return counts[row * clusterCount + column]
    }

    /// Number of samples with true label `trueClass` assigned to cluster `cluster`; 0 if either
    /// does not occur in the table.
    public func count(trueClass: String, cluster: Int) -> Int {
        guard let row = row(of: trueClass), let column = column(of: cluster) else { return 0 }
        return counts[row * clusterCount + column]
    }

    /// Row index of a true label, or `nil` if it does not occur.
    public func row(of trueClass: String) -> Int? {
        ascendingIndex(of: trueClass, in: trueClasses)
    }

    /// Column index of a cluster id, or `nil` if it does not occur.
    public func column(of cluster: Int) -> Int? {
        ascendingIndex(of: cluster, in: clusters)
    }

    /// Samples per true class (row sums), in `trueClasses` order.
    public var classTotals: [Int] {
        var sums = [Int](repeating: 0, count: classCount)
        for row in 0..<classCount {
            var sum = 0
            for column in 0..<clusterCount { sum += counts[row * clusterCount + column] }
            sums[row] = sum
        }
        return sums
    }

    /// Samples per cluster (column sums), in `clusters` order.
    public var clusterTotals: [Int] {
        var sums = [Int](repeating: 0, count: clusterCount)
        for row in 0..<classCount {
            for column in 0..<clusterCount { sums[column] += counts[row * clusterCount + column] }
        }
        return sums
    }
}

/// Binary search in a strictly ascending array; both label arrays are kept sorted, so lookups
/// need no auxiliary dictionary stored in the (Equatable, cheap-to-copy) table.
private func ascendingIndex<T: Comparable>(of value: T, in sorted: [T]) -> Int? {
    var low = 0
    var high = sorted.count
    while low < high {
        let mid = (low + high) / 2
        if sorted[mid] < value { low = mid + 1 } else { high = mid }
    }
    return low < sorted.count && sorted[low] == value ? low : nil
}
