// Averages of a setting's metrics over the categories of a group. ALGORITHM.md §7: the MVTec object and
// texture averages weight each category by its number of clustered images. A group average exists only when
// every category of the group has a completed run of the setting, so a skipped mode never averages over a
// silently smaller set.
import Engine

/// A setting is what varies within a category: backbone, mode and τ (nil for `average`).
struct RunSetting: Hashable {
    var backbone: String
    var mode: PatchWeightMode
    var tau: Double?

    init(backbone: String, mode: PatchWeightMode, tau: Double?) {
        (self.backbone, self.mode, self.tau) = (backbone, mode, tau)
    }

    init(_ record: RunRecord) { self.init(backbone: record.backbone, mode: record.mode, tau: record.tau) }
}

struct GroupAverage {
    /// "object", "texture", a flat tree's name, or "all".
    let group: String
    let categories: [String]
    /// Each category's clustered images, in `categories` order (the same for every setting of a category).
    let images: [Int]
    let weighting: Weighting
    /// Per setting: the averaged metrics, for settings that completed in every category of the group.
    let metrics: [RunSetting: ClusteringMetrics]

    enum Weighting {
        /// Σ nᵢ mᵢ / Σ nᵢ over categories i (ALGORITHM.md §7).
        case images
        /// The plain mean over categories: each dataset counts once, however many images it has.
        case categories
    }

    /// The average of `records` over `categories`.
    init(group: String, categories: [String], records: [RunRecord], weighting: Weighting = .images) {
        self.group = group
        self.categories = categories
        self.weighting = weighting
        images = categories.map { name in records.first { $0.category == name }?.images ?? 0 }
        var byCategory = [RunSetting: [String: RunRecord]]()
        for record in records where categories.contains(record.category) {
            byCategory[RunSetting(record), default: [:]][record.category] = record
        }
        var metrics = [RunSetting: ClusteringMetrics]()
        for (setting, runs) in byCategory {
            let complete = categories.compactMap { runs[$0] }.filter { $0.outcome != nil }
            guard complete.count == categories.count else { continue }
            metrics[setting] = Self.average(complete, weighting: weighting)
        }
        self.metrics = metrics
    }

    /// The weighted mean of each metric over `runs` (every one completed).
    static func average(_ runs: [RunRecord], weighting: Weighting) -> ClusteringMetrics {
        var nmi = 0.0, ari = 0.0, f1 = 0.0, total = 0.0
        for run in runs {
            let weight = weighting == .images ? Double(run.images) : 1
            let m = run.outcome!.metrics
            nmi += weight * m.nmi
            ari += weight * m.ari
            f1 += weight * m.f1
            total += weight
        }
        return ClusteringMetrics(nmi: nmi / total, ari: ari / total, f1: f1 / total)
    }

    /// The averages results.md and report.html show: each group of two or more categories (in order of first
    /// appearance; a one-category group would repeat that category's table), then all categories image-weighted
    /// and with equal weights when there is more than one group.
    static func standard(categories: [CategorySummary], records: [RunRecord]) -> [GroupAverage] {
        var groups = [String]()
        for c in categories where !groups.contains(c.group) { groups.append(c.group) }
        var out = groups.compactMap { group -> GroupAverage? in
            let members = categories.filter { $0.group == group }.map(\.name)
            return members.count > 1 ? GroupAverage(group: group, categories: members, records: records) : nil
        }
        if groups.count > 1 {
            let all = categories.map(\.name)
            out.append(GroupAverage(group: "all", categories: all, records: records, weighting: .images))
            out.append(GroupAverage(group: "all", categories: all, records: records, weighting: .categories))
        }
        return out
    }
}
