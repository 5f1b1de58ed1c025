// What one `evaluate` invocation sweeps and how it follows the reference protocol (ALGORITHM.md §6): the
// parsed, checked command-line options, shared by the sweep and by every output file, which record them.
import Engine
import Foundation

struct EvaluationSettings {
    /// The command line as typed (recorded in the outputs so the tables can be regenerated).
    var command: String
    var roots: [URL]
    /// nil: every category found.
    var categories: [String]?
    var backbones: [BackboneSpec]
    var modes: [PatchWeightMode]
    /// τ values for the unsupervised and semi-supervised modes; `average` does not depend on τ and runs once.
    var taus: [Double]
    /// Normal references per category (a seeded choice from train/good); nil: all of them.
    var normals: Int?
    /// At most this many test images per class (a seeded choice); nil: all.
    var perClass: Int?
    var seed: UInt64
    /// Labels left out of the clustering (still references for the unsupervised weights, as in the reference).
    var exclude: [String]
    var clusters: ClusterChoice
    var weightsDirectory: URL
    var cacheDirectory: URL
    var outputDirectory: URL

    /// `--clusters`: the reference protocol's K = number of labels, Calinski–Harabasz, or a fixed K.
    enum ClusterChoice: Equatable {
        case labels
        case automatic
        case fixed(Int)

        init?(argument: String) {
            switch argument {
            case "labels": self = .labels
            case "auto": self = .automatic
            default:
                guard let k = Int(argument), k >= 1 else { return nil }
                self = .fixed(k)
            }
        }

        /// The count to hand `ClusteringPipeline.cluster` (nil: the number of distinct kept labels).
        var count: ClusterCount? {
            switch self {
            case .labels: nil
            case .automatic: .automatic(maxClusters: 20)
            case .fixed(let k): .fixed(k)
            }
        }

        var text: String {
            switch self {
            case .labels: "labels"
            case .automatic: "auto"
            case .fixed(let k): String(k)
            }
        }
    }
}
