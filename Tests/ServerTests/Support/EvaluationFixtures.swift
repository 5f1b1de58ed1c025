// Small dataset trees for the `evaluate` tests, built in a temporary folder from the project's own test
// images (Tests/Fixtures/images), and a registry with EfficientNet-Lite0 at a 64-pixel crop and Dt = 128 so
// that a whole sweep runs in seconds in a debug build (the real weights; only the sizes are smaller).
import Engine
import Foundation
import XCTest

@testable import Server

enum EvaluationFixtures {
    /// A temporary folder, removed by the caller.
    static func temporaryFolder(_ prefix: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// Copies fixture images into `folder/<sub-folder>/`.
    static func place(_ files: [String: [String]], in folder: URL) throws {
        let images = repositoryRoot.appendingPathComponent("Tests/Fixtures/images")
        for (sub, names) in files {
            let target = folder.appendingPathComponent(sub)
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            for name in names {
                try FileManager.default.copyItem(at: images.appendingPathComponent(name), to: target.appendingPathComponent(name))
            }
        }
    }

    /// `root/widget/test/{good, scratch, dent, combined}` (2, 2, 2, 1 images) and `root/widget/train/good` (2):
    /// an MVTec-style category; `widget` is not one of MVTec's 15, so its group is "other".
    static func mvtecTree(at root: URL, category: String = "widget") throws {
        try place([
            "\(category)/test/good": ["pillow_rgb_300x200.png", "jpeg_optimized_300x200.jpg"],
            "\(category)/test/scratch": ["pillow_gray_64x48.png", "jpeg_gray_37x23.jpg"],
            "\(category)/test/dent": ["png_palette8_37x23.png", "jpeg_baseline420_64x48.jpg"],
            "\(category)/test/combined": ["png_rgb8_37x23.png"],
            "\(category)/train/good": ["pillow_rgba_64x48.png", "jpeg_progressive_64x48.jpg"],
        ], in: root)
    }

    /// `root/<class>/*`: a flat tree of two classes, three images each.
    static func flatTree(at root: URL) throws {
        try place([
            "photo": ["pillow_rgb_300x200.png", "jpeg_optimized_300x200.jpg", "pillow_rgba_64x48.png"],
            "gray": ["pillow_gray_64x48.png", "jpeg_gray_37x23.jpg", "png_gray16_37x23.png"],
        ], in: root)
    }

    /// A registry with one entry, efficientnet-lite0 at resize = crop = 64 (an 8×8 patch grid), Dp = Dt = 128.
    static func smallRegistry(in folder: URL) throws -> URL {
        let url = folder.appendingPathComponent("backbones.json")
        try """
            {"default": "efficientnet-lite0", "backbones": [{"name": "efficientnet-lite0", "architecture": "efficientnet_lite0",
             "weights": "efficientnet_lite0.safetensors", "resize": 64, "crop": 64, "normalization": "efficientnet-lite",
             "layers": [4, 10], "pretrain_dimension": 128, "target_dimension": 128, "batch": 8, "stride": 8, "tau": {"unsupervised": 8, "semi-supervised": 1}}]}
            """.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// Settings as `evaluate` parses them from `arguments`.
    static func settings(_ arguments: [String]) throws -> EvaluationSettings {
        try EvaluateCommand.parse(arguments).settings(command: "anomaly-clustering evaluate " + arguments.joined(separator: " "))
    }
}

/// A hand-made evaluation result (no backbone run): four categories in three groups, two settings, one of them
/// skipped where the layout has no normal references.
enum SyntheticEvaluation {
    static func record(_ category: String, _ group: String, _ images: Int, mode: PatchWeightMode, tau: Double?, _ m: (Double, Double, Double)?) -> RunRecord {
        RunRecord(
            category: category, group: group, backbone: "dinov2-vits14", mode: mode, tau: tau,
            outcome: m.map { .init(clusters: 4, chosenBy: "labels", metrics: ClusteringMetrics(nmi: $0.0, ari: $0.1, f1: $0.2)) },
            skipped: m == nil ? "no normal references (flat layout)" : nil, images: images,
            featureSeconds: 1.5, weightSeconds: 0.25, clusteringSeconds: 0.125)
    }

    static let categories: [(name: String, group: String, images: Int)] = [
        ("bottle", "object", 83), ("screw", "object", 50), ("carpet", "texture", 100), ("neu_det", "neu_det", 300),
    ]

    /// unsupervised τ = 2 everywhere; semi-supervised τ = 2 everywhere but neu_det (skipped); average once.
    static let records: [RunRecord] = [
        record("bottle", "object", 83, mode: .average, tau: nil, (0.45, 0.25, 0.55)),
        record("bottle", "object", 83, mode: .unsupervised, tau: 2, (0.6, 0.5, 0.7)),
        record("bottle", "object", 83, mode: .semiSupervised, tau: 2, (0.7, 0.55, 0.75)),
        record("screw", "object", 50, mode: .average, tau: nil, (0.05, -0.03, 0.3)),
        record("screw", "object", 50, mode: .unsupervised, tau: 2, (0.1, -0.02, 0.32)),
        record("screw", "object", 50, mode: .semiSupervised, tau: 2, (0.3, 0.1, 0.4)),
        record("carpet", "texture", 100, mode: .average, tau: nil, (0.5, 0.4, 0.6)),
        record("carpet", "texture", 100, mode: .unsupervised, tau: 2, (0.66, 0.53, 0.65)),
        record("carpet", "texture", 100, mode: .semiSupervised, tau: 2, (0.74, 0.66, 0.78)),
        record("neu_det", "neu_det", 300, mode: .average, tau: nil, (0.9, 0.87, 0.94)),
        record("neu_det", "neu_det", 300, mode: .unsupervised, tau: 2, (0.9, 0.8, 0.85)),
        record("neu_det", "neu_det", 300, mode: .semiSupervised, tau: 2, nil),
    ]

    static func summaries() -> [CategorySummary] {
        categories.map { c in
            CategorySummary(
                name: c.name, group: c.group, layout: c.group == "neu_det" ? "flat" : "mvtec", root: "/data/\(c.name)",
                images: c.images, labelCounts: [("a", c.images / 2), ("b", c.images - c.images / 2)], excluded: 0,
                testImages: (0..<c.images).map { "\($0 < c.images / 2 ? "a" : "b")/\($0).png" },
                normals: c.group == "neu_det" ? nil : ["000.png", "001.png"], normalsAvailable: c.group == "neu_det" ? 0 : 2)
        }
    }

    static func result() throws -> EvaluationResult {
        let registry = try BackboneRegistry.load(from: repositoryRoot.appendingPathComponent("config/backbones.json"))
        let settings = EvaluationSettings(
            command: "anomaly-clustering evaluate /data --tau 2", roots: [URL(fileURLWithPath: "/data")], categories: nil,
            backbones: [try registry.spec(named: "dinov2-vits14")], modes: [.average, .unsupervised, .semiSupervised],
            taus: [2], normals: nil, perClass: nil, seed: 0, exclude: ["combined"], clusters: .labels,
            weightsDirectory: URL(fileURLWithPath: "/weights"), cacheDirectory: URL(fileURLWithPath: "/cache"),
            outputDirectory: URL(fileURLWithPath: "/out"))
        return EvaluationResult(settings: settings, categories: summaries(), records: records, best: [:])
    }
}
