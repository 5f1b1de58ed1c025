// One run of an evaluation (category × backbone × mode × τ) and one category's summary: what runs.json,
// runs.csv, results.md and report.html are all written from, so they cannot disagree.
import Engine

struct RunRecord: Equatable {
    var category: String
    var group: String
    var backbone: String
    var mode: PatchWeightMode
    /// nil for `average`, whose α is uniform whatever τ is (one run stands for every τ).
    var tau: Double?
    /// nil when the run was skipped, with the reason in `skipped`.
    var outcome: Outcome?
    var skipped: String?
    /// Images clustered (after exclusion): the weight of this run in group averages (ALGORITHM.md §7).
    var images: Int
    /// Seconds per stage. `features`: loading and running the backbone for this category's test images and
    /// normal references — shared by every run of the (category, backbone), 0 when all came from the cache.
    /// `weights`: the patch scores (shared by the τ values of one mode) plus this τ's softmax and X.
    /// `clustering`: Ward and the metrics.
    var featureSeconds: Double
    var weightSeconds: Double
    var clusteringSeconds: Double

    struct Outcome: Equatable {
        var clusters: Int
        var chosenBy: String
        var metrics: ClusteringMetrics
    }

    var status: String { outcome == nil ? "skipped" : "ok" }
}

/// What the outputs say about a category besides its runs.
struct CategorySummary {
    var name: String
    var group: String
    var layout: String
    var root: String
    /// Test images evaluated (after `--per-class`, before exclusion), and per label.
    var images: Int
    var labelCounts: [(label: String, count: Int)]
    var excluded: Int
    /// The test images evaluated (names relative to the test folder), so a seeded `--per-class` subset is on record.
    var testImages: [String]
    /// The normal references used (names relative to train/good), nil when the layout has none.
    var normals: [String]?
    var normalsAvailable: Int
}

/// Display of τ: "0", "0.5", "2".
func tauText(_ tau: Double) -> String {
    tau == tau.rounded() && abs(tau) < 1e15 ? String(Int(tau)) : String(tau)
}
