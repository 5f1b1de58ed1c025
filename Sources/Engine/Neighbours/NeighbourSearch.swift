// How the nearest-patch distances of the patch weights are searched: exactly (every other image, full D), or
// in the scalable mode for large batches (issue 6), which trades a measured amount of accuracy for cost:
//   - reference sampling: each image's unsupervised score averages over M other images, not all N − 1.
//     The M are the image's neighbours on a seeded random ring (a shuffled order, M/2 on each side), so
//     every unordered pair is one P×P GEMM giving both directions, as in the exact search: N·M/2 pairs.
//   - projected search: distances between the patch embeddings after a seeded Gaussian random projection to
//     d ≪ D dimensions (Johnson–Lindenstrauss: R with N(0, 1/d) entries keeps distances' expected squares).
//     α comes from the projected distances; X = Σ α·z still averages the full embeddings.
// Never on silently: the exact search is the default, and a job reports what it used.

/// The nearest-patch search used for the patch scores.
public struct NeighbourSearch: Sendable, Equatable, CustomStringConvertible {
    /// Other images each image's unsupervised score averages over (rounded up to even); nil: all N − 1.
    public var references: Int?
    /// Dimensions of the random projection; nil: the full D.
    public var projection: Int?
    /// Seeds the ring order and the projection.
    public var seed: UInt64

    public init(references: Int? = nil, projection: Int? = nil, seed: UInt64 = 0) {
        self.references = references
        self.projection = projection
        self.seed = seed
    }

    public static let exact = NeighbourSearch()

    /// The share of the square-sgemm rate the distance GEMMs reach (86–90 % measured for N = 64…256, P = 784,
    /// D = 2048; docs/BENCHMARKS.md): estimates divide flops by `rate × gemmEfficiency`.
    public static let gemmEfficiency = 0.85

    /// What a sampled pair costs beyond its GEMM at `gemmEfficiency`, in flop-equivalents per element of its
    /// P×P tile: each pair is a GEMM of its own (P×P×d, far smaller than the exact search's tiles, so packing,
    /// zeroing C and the per-call thread hand-offs weigh more) followed by its minima. At N = 1024, P = 784
    /// this was 0.71–0.75 ms per pair for d = 256 and 512 alike (sgemm 181–184 GFLOP/s); without it the
    /// rule's choice for 120 s took 139 s (docs/BENCHMARKS.md).
    public static let sampledPairOverhead = 185.0

    /// True when nothing is sampled or projected.
    public var isExact: Bool { references == nil && projection == nil }

    public var description: String {
        if isExact { return "exact" }
        return "sampled M = \(references.map(String.init) ?? "all"), projected d = \(projection.map(String.init) ?? "full")"
    }

    /// The references actually used for a batch of `n` images: M rounded up to even, or n − 1 when that is
    /// not fewer (then the search is the exact one).
    public func referenceCount(images n: Int) -> Int {
        guard let m = references else { return n - 1 }
        let even = m + m % 2
        return even < n - 1 ? even : n - 1
    }

    /// Floating-point operations of the unsupervised search (multiply-adds count 2; the GEMMs dominate):
    /// N·M/2 pairs of P×P×d GEMMs, plus the projection N·P·D·d when there is one.
    public func unsupervisedFlops(images n: Int, patches p: Int, dimensions d: Int) -> Double {
        let pairs = Double(n) * Double(referenceCount(images: n)) / 2
        return pairs * 2 * Double(p * p) * searchedDimensions(d) + projectionFlops(rows: n * p, dimensions: d)
    }

    /// Seconds the unsupervised search should take at `rate` (square-sgemm flop/s): its flops at
    /// `gemmEfficiency` of the rate, plus `sampledPairOverhead` for each sampled pair.
    public func unsupervisedSeconds(images n: Int, patches p: Int, dimensions d: Int, rate: Double) -> Double {
        let m = referenceCount(images: n)
        let work = m < n - 1
            ? Double(n) * Double(m) / 2 * sampledPairWork(patches: p, dimensions: d) + projectionFlops(rows: n * p, dimensions: d)
            : unsupervisedFlops(images: n, patches: p, dimensions: d)
        return work / (rate * Self.gemmEfficiency)
    }

    /// Floating-point operations of the semi-supervised search against `r` reference images.
    public func semiSupervisedFlops(images n: Int, references r: Int, patches p: Int, dimensions d: Int) -> Double {
        2 * Double(n * p) * Double(r * p) * searchedDimensions(d) + projectionFlops(rows: (n + r) * p, dimensions: d)
    }

    /// d, the dimensions distances are computed in: the projection's, or D without one.
    private func searchedDimensions(_ d: Int) -> Double { Double(projection.map { min($0, d) } ?? d) }

    /// Flops of projecting `rows` patches from D to d dimensions; 0 without a projection.
    private func projectionFlops(rows: Int, dimensions d: Int) -> Double {
        projection == nil ? 0 : 2 * Double(rows) * Double(d) * searchedDimensions(d)
    }

    /// The work of one sampled pair in flop-equivalents: its P×P×d GEMM and `sampledPairOverhead`.
    private func sampledPairWork(patches p: Int, dimensions d: Int) -> Double {
        Double(p * p) * (2 * searchedDimensions(d) + Self.sampledPairOverhead)
    }

    /// The search for a batch that should take at most `budget` seconds at `rate` flop/s: exact when it fits;
    /// else the first of these that fits with at least its minimum of references, with the most references
    /// that fit: full D (≥ 32), a projection to 512 (≥ 32), to 256 (≥ 16), to 128 (16, even if over the
    /// budget). The order is by measured agreement with the exact clusters on MVTec AD bottle
    /// (tools/scalable_quality.sh, docs/BENCHMARKS.md): 32 sampled references or a 512-dimensional
    /// projection kept ARI(exact, scalable) ≥ 0.97, 256 dimensions 0.94–0.97, 128 dimensions 0.81–0.92.
    /// The seed is the caller's.
    public static func choose(
        images n: Int, patches p: Int, dimensions d: Int, rate: Double, budget: Double, seed: UInt64 = 0
    ) -> NeighbourSearch {
        let affordable = budget * rate * gemmEfficiency
        if NeighbourSearch.exact.unsupervisedFlops(images: n, patches: p, dimensions: d) <= affordable { return .exact }
        /// The most references (even) whose search fits the budget with this projection.
        func largestM(projection: Int?) -> Int {
            let candidate = NeighbourSearch(references: 2, projection: projection)  // its cost model, not its M
            let fixed = candidate.projectionFlops(rows: n * p, dimensions: d)
            let pairs = max(0, (affordable - fixed) / candidate.sampledPairWork(patches: p, dimensions: d))
            let m = Int(min(2 * pairs / Double(n), Double(n)))
            return min(n - 1, m - m % 2)
        }
        for (projection, minimum) in [(nil, 32), (512, 32), (256, 16)] as [(Int?, Int)] {
            if let dims = projection, dims >= d { continue }
            let m = largestM(projection: projection)
            if m >= minimum { return NeighbourSearch(references: m, projection: projection, seed: seed) }
        }
        return NeighbourSearch(references: max(16, largestM(projection: min(128, d))), projection: min(128, d), seed: seed)
    }
}
