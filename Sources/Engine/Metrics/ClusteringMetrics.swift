// External clustering quality scores against ground-truth labels: NMI, ARI and matched micro-F1.
// NMI and ARI reproduce scikit-learn's `normalized_mutual_info_score` (arithmetic mean) and
// `adjusted_rand_score` formula-for-formula, including their special cases, so reported numbers
// agree with Python evaluations to ~1e-15. All three are computed from one ContingencyTable.

import Foundation

/// Normalized mutual information, adjusted Rand index and Hungarian-matched micro-F1 of a
/// clustering against true class labels.
public struct ClusteringMetrics: Equatable, Sendable {
    /// Normalized mutual information, arithmetic-mean normalisation, natural logarithms
    /// (scikit-learn `normalized_mutual_info_score(..., average_method="arithmetic")`).
    /// In [0, 1] up to rounding (identical partitions may give 1 ± 1 ulp, as in scikit-learn).
    public let nmi: Double
    /// Adjusted Rand index (scikit-learn `adjusted_rand_score`); ≤ 1, can be negative (≥ -0.5).
    public let ari: Double
    /// Micro-averaged F1 after matching clusters one-to-one to classes so that the number of
    /// correctly labelled samples is maximal. Samples in unmatched clusters count as wrong.
    /// Because each sample gets exactly one predicted label, micro precision = micro recall =
    /// micro F1 = matched / N.
    public let f1: Double

    /// Scores a clustering.
    ///
    /// - Parameters:
    ///   - trueLabels: Ground-truth class of each sample.
    ///   - clusters: Predicted cluster id of each sample (any integers; `-1` noise is an ordinary cluster).
    /// - Precondition: both arrays have the same, non-zero count (call sites validate input).
    public init(trueLabels: [String], clusters: [Int]) {
        precondition(!trueLabels.isEmpty, "ClusteringMetrics: no samples")
        precondition(trueLabels.count == clusters.count,
                     "ClusteringMetrics: \(trueLabels.count) true labels but \(clusters.count) cluster ids")
        self.init(table: ContingencyTable(trueLabels: trueLabels, clusters: clusters))
    }

    /// Scores a clustering given its contingency table.
    /// - Precondition: `table.total > 0`.
    public init(table: ContingencyTable) {
        precondition(table.total > 0, "ClusteringMetrics: no samples")
        self.nmi = Self.normalizedMutualInformation(table)
        self.ari = Self.adjustedRandIndex(table)
        self.f1 = Self.matchedMicroF1(table)
    }

    /// Creates a value from already-computed scores (e.g. decoded from storage).
    public init(nmi: Double, ari: Double, f1: Double) {
        self.nmi = nmi
        self.ari = ari
        self.f1 = f1
    }

    // MARK: - NMI

    /// scikit-learn's NMI with `average_method="arithmetic"`: MI / ((H(true) + H(pred)) / 2).
    ///
    /// Special cases, in scikit-learn's order: one class and one cluster → 1.0 (both labelings
    /// trivially agree); MI == 0 (which includes exactly one of them being a single group) → 0.0.
    /// - Precondition: `table.total > 0`.
    public static func normalizedMutualInformation(_ table: ContingencyTable) -> Double {
        precondition(table.total > 0, "ClusteringMetrics: no samples")
        if table.classCount == 1 && table.clusterCount == 1 { return 1.0 }
        let mi = mutualInformation(table)
        if mi == 0 { return 0.0 }
        let hTrue = entropy(ofGroupSizes: table.classTotals, total: table.total)
        let hPred = entropy(ofGroupSizes: table.clusterTotals, total: table.total)
        return mi / ((hTrue + hPred) / 2)
    }

    /// Mutual information in nats, term-by-term as `sklearn.metrics.mutual_info_score` evaluates it
    /// (same log splitting, same |term| < eps flush to zero, same clip at 0), so rounding matches.
    private static func mutualInformation(_ table: ContingencyTable) -> Double {
        // A single class or single cluster has zero entropy, and MI ≤ min(H), so MI is exactly 0.
        if table.classCount == 1 || table.clusterCount == 1 { return 0.0 }
        let rowSums = table.classTotals
        let columnSums = table.clusterTotals
        let n = Double(table.total)
        let logN = log(n)
        let width = table.clusterCount
        var sum = 0.0
        for row in 0..<table.classCount {
            for column in 0..<width {
                let count = table.counts[row * width + column]
                if count == 0 { continue }
                let c = Double(count)
                let p = c / n
                // Row sum × column sum ≤ N², exact in Int and in Double for any realistic N.
                let outer = Double(rowSums[row] * columnSums[column])
                let logOuter = -log(outer) + logN + logN
                var term = p * (log(c) - logN) + p * logOuter
                if abs(term) < Double.ulpOfOne { term = 0 }
                sum += term
            }
        }
        return max(sum, 0)
    }

    /// Shannon entropy (nats) of a partition with the given non-zero group sizes, as sklearn's
    /// `_entropy`: a single group gives exactly 0.
    private static func entropy(ofGroupSizes sizes: [Int], total: Int) -> Double {
        if sizes.count == 1 { return 0.0 }
        let n = Double(total)
        let logN = log(n)
        var sum = 0.0
        for size in sizes {
            let s = Double(size)
            sum += (s / n) * (log(s) - logN)
        }
        return -sum
    }

    // MARK: - ARI

    /// scikit-learn's ARI via the pair confusion matrix:
    /// 1.0 if there are no disagreeing pairs (fn == fp == 0), otherwise
    /// 2(tp·tn − fn·fp) / ((tp+fn)(fn+tn) + (tp+fp)(fp+tn)).
    ///
    /// The pair counts are ordered-pair counts (as in sklearn), each ≤ N², computed exactly in
    /// `Int`. Each product is at most N⁴/4 and the denominator at most N⁴/2, so Int64 can overflow
    /// once N exceeds about 65k (within the N ≤ 100k the service targets); products are therefore
    /// formed with overflow checks and, only if one overflows, recomputed in Double with
    /// FMA-compensated products (error a few ulp, versus sklearn's exact Python integers).
    /// Without overflow the result is bit-identical to sklearn.
    /// - Precondition: `table.total > 0`.
    public static func adjustedRandIndex(_ table: ContingencyTable) -> Double {
        precondition(table.total > 0, "ClusteringMetrics: no samples")
        let n = table.total
        var sumSquares = 0
        for count in table.counts { sumSquares += count * count }
        var rowSquares = 0
        for size in table.classTotals { rowSquares += size * size }
        var columnSquares = 0
        for size in table.clusterTotals { columnSquares += size * size }

        let tp = sumSquares - n                   // same class, same cluster
        let fp = columnSquares - sumSquares       // different class, same cluster
        let fn = rowSquares - sumSquares          // same class, different cluster
        let tn = n * n - fp - fn - sumSquares     // different class, different cluster

        if fn == 0 && fp == 0 { return 1.0 }

        if let exact = exactARI(tp: tp, fp: fp, fn: fn, tn: tn) { return exact }
        let numerator = differenceOfProducts(Double(tp), Double(tn), Double(fn), Double(fp))
        let denominator = sumOfProducts(Double(tp + fn), Double(fn + tn), Double(tp + fp), Double(fp + tn))
        return 2.0 * numerator / denominator
    }

    /// The ARI formula in exact integer arithmetic, or `nil` if any intermediate overflows Int.
    /// Converting the exact integers to Double at the end mirrors Python's `2.0 * int / int`.
    private static func exactARI(tp: Int, fp: Int, fn: Int, tn: Int) -> Double? {
        let (a, o1) = tp.multipliedReportingOverflow(by: tn)
        let (b, o2) = fn.multipliedReportingOverflow(by: fp)
        let (c, o3) = (tp + fn).multipliedReportingOverflow(by: fn + tn)
        let (d, o4) = (tp + fp).multipliedReportingOverflow(by: fp + tn)
        let (denominator, o5) = c.addingReportingOverflow(d)
        if o1 || o2 || o3 || o4 || o5 { return nil }
        // a, b ≥ 0, so a − b cannot overflow.
        return 2.0 * Double(a - b) / Double(denominator)
    }

    /// a·b − c·d with each product's rounding error recovered by FMA, so cancellation between the
    /// two (large, nearly equal) products does not lose the small true difference.
    private static func differenceOfProducts(_ a: Double, _ b: Double, _ c: Double, _ d: Double) -> Double {
        let ab = a * b
        let abError = (-ab).addingProduct(a, b)
        let cd = c * d
        let cdError = (-cd).addingProduct(c, d)
        return (ab - cd) + (abError - cdError)
    }

    /// a·b + c·d with FMA-recovered product rounding errors (see `differenceOfProducts`).
    private static func sumOfProducts(_ a: Double, _ b: Double, _ c: Double, _ d: Double) -> Double {
        let ab = a * b
        let abError = (-ab).addingProduct(a, b)
        let cd = c * d
        let cdError = (-cd).addingProduct(c, d)
        return (ab + cd) + (abError + cdError)
    }

    // MARK: - Matched F1

    /// For each cluster column of `table`, the class row it is matched to (or `nil`), chosen by the
    /// Hungarian algorithm to maximise the number of samples whose cluster maps to their own class.
    /// Exactly `min(classCount, clusterCount)` clusters are matched; ties are broken arbitrarily.
    public static func matchClustersToClasses(_ table: ContingencyTable) -> [Int?] {
        var weights = [Double](repeating: 0, count: table.counts.count)
        for k in weights.indices { weights[k] = Double(table.counts[k]) }
        let clusterOfClass = Hungarian.maximumWeightAssignment(
            weight: weights, rows: table.classCount, cols: table.clusterCount)
        var classOfCluster = [Int?](repeating: nil, count: table.clusterCount)
        for (row, column) in clusterOfClass.enumerated() {
            if let column { classOfCluster[column] = row }
        }
        return classOfCluster
    }

    /// Micro-F1 after Hungarian matching (see `f1`): matched samples / N. This equals scikit-learn's
    /// `f1_score(y_true, mapped_pred, average="micro")` where unmatched clusters map to a label that
    /// is not a true class: micro TP = matched, FP = FN = N − matched, so 2TP / (2TP + FP + FN) = matched / N.
    /// - Precondition: `table.total > 0`.
    public static func matchedMicroF1(_ table: ContingencyTable) -> Double {
        precondition(table.total > 0, "ClusteringMetrics: no samples")
        let classOfCluster = matchClustersToClasses(table)
        var matched = 0
        for (column, row) in classOfCluster.enumerated() {
            if let row { matched += table[row, column] }
        }
        return Double(matched) / Double(table.total)
    }
}
