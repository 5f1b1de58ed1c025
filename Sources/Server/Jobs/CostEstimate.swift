// What a job's patch weights will cost, decided at upload from the batch size, the backbone's P and D and
// this machine's measured sgemm rate: the flops of the nearest-patch search, the time they take, and the
// search itself when the client asked the server to choose (`"search": "auto"`). The estimate covers the
// weights stage, the one that grows with N²; feature extraction grows with N and is not included.
import Engine

struct CostEstimate: Sendable, Equatable {
    var flops: Double
    var seconds: Double
    /// The sgemm rate the seconds are computed at, flop/s.
    var rate: Double
    var search: NeighbourSearch
    /// "default", "given" or "auto (budget N s)".
    var chosenBy: String

    /// The estimate for `options` (mode resolved) and the options with `search: auto` replaced by the
    /// search it chose (so that a re-run after a crash uses the same one).
    static func make(
        _ options: JobOptions, images n: Int, normals r: Int, spec: BackboneSpec, rate: Double, budgetSeconds: Int
    ) -> (JobOptions, CostEstimate) {
        var options = options
        let p = spec.estimatedPatches, d = spec.targetDimension
        let chosenBy: String
        switch options.search {
        case .auto?:
            let chosen = options.mode == .unsupervised
                ? NeighbourSearch.choose(images: n, patches: p, dimensions: d, rate: rate, budget: Double(budgetSeconds),
                                         seed: UInt64(options.seed ?? 0))
                : .exact  // the semi-supervised search is linear in N; average has none
            options.search = chosen.isExact ? .exact : .scalable
            options.references = chosen.references
            options.projection = chosen.projection
            chosenBy = "auto (budget \(budgetSeconds) s)"
        case nil: chosenBy = "default"
        default: chosenBy = "given"
        }
        let search = options.neighbourSearch
        let (flops, work) = Self.work(mode: options.mode!, search: search, images: n, normals: r, patches: p, dimensions: d)
        let seconds = work / rate
        return (options, CostEstimate(flops: flops, seconds: seconds, rate: rate, search: search, chosenBy: chosenBy))
    }

    /// The weights stage's flops, and its work: the seconds it should take at a rate of 1 flop/s (the
    /// search's GEMM efficiency and per-pair overheads included). Seconds at rate R are work / R.
    static func work(
        mode: PatchWeightMode, search: NeighbourSearch, images n: Int, normals r: Int, patches p: Int, dimensions d: Int
    ) -> (flops: Double, work: Double) {
        switch mode {
        case .average: return (0, 0)
        case .unsupervised:
            return (search.unsupervisedFlops(images: n, patches: p, dimensions: d),
                    search.unsupervisedSeconds(images: n, patches: p, dimensions: d, rate: 1))
        case .semiSupervised:
            let flops = search.semiSupervisedFlops(images: n, references: r, patches: p, dimensions: d)
            return (flops, flops / NeighbourSearch.gemmEfficiency)
        }
    }

    /// `{"weights_flops", "weights_seconds", "machine_gflops", "search", "search_chosen_by"}`.
    var json: String {
        "{\"weights_flops\": \(flops.rounded()), \"weights_seconds\": \((seconds * 10).rounded() / 10), "
            + "\"machine_gflops\": \((rate / 1e8).rounded() / 10), \"search\": \(JSONString.quoted(search.description)), "
            + "\"search_chosen_by\": \(JSONString.quoted(chosenBy))}"
    }
}
