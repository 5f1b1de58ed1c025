// `evaluate` end to end with the real EfficientNet-Lite0 weights on the project's own test images: the
// reference protocol (combined excluded, good kept, K = number of labels, excluded images still unsupervised
// references), metrics equal to an independent run of the engine without the cache, a warm re-run that never
// loads the backbone and gives identical records, and a flat tree whose semi-supervised runs are skipped.
import Engine
import Foundation
import XCTest

@testable import Server

final class EvaluationSweepTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws { folder = try EvaluationFixtures.temporaryFolder("evaluation-sweep") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func arguments(_ root: URL, _ extra: [String] = []) throws -> [String] {
        [root.path, "--registry", try EvaluationFixtures.smallRegistry(in: folder).path, "--weights-dir", try weightsDirectoryOrSkip(),
         "--tau", "0,2", "--output", folder.appendingPathComponent("out").path] + extra
    }

    func testProtocolCacheAndWarmRerunOnAnMVTecTree() throws {
        let root = folder.appendingPathComponent("data")
        try EvaluationFixtures.mvtecTree(at: root)
        let settings = try EvaluationFixtures.settings(try arguments(root))
        XCTAssertEqual(settings.exclude, ["combined"])
        XCTAssertEqual(settings.cacheDirectory, folder.appendingPathComponent("out/cache"))
        let cold = SweepRunner(settings: settings, log: ProgressLog(enabled: false))
        let first = try cold.run()
        // 7 test images + 2 normal references through the backbone, loaded once.
        XCTAssertEqual(cold.features.backboneLoads, 1)
        XCTAssertEqual(cold.features.imagesEmbedded, 9)

        // Protocol: combined left out, good kept, K = 3 labels, 2 normal references.
        let summary = try XCTUnwrap(first.categories.first)
        XCTAssertEqual(summary.name, "widget")
        XCTAssertEqual(summary.group, "other")
        XCTAssertEqual(summary.labelCounts.map(\.label), ["combined", "dent", "good", "scratch"])
        XCTAssertEqual(summary.excluded, 1)
        XCTAssertEqual(summary.normals, ["jpeg_progressive_64x48.jpg", "pillow_rgba_64x48.png"])
        XCTAssertEqual(summary.testImages.first, "combined/png_rgb8_37x23.png")
        XCTAssertEqual(summary.testImages.count, 7)
        XCTAssertEqual(first.records.map { "\($0.mode.rawValue) \($0.tau.map(tauText) ?? "-")" },
                       ["average -", "unsupervised 0", "unsupervised 2", "semi-supervised 0", "semi-supervised 2"])
        for record in first.records {
            XCTAssertEqual(record.images, 6)
            XCTAssertEqual(record.outcome?.clusters, 3)
            XCTAssertEqual(record.outcome?.chosenBy, "labels")
            XCTAssertGreaterThan(record.featureSeconds, 0)
        }
        let best = try XCTUnwrap(first.best["widget"])
        XCTAssertEqual(best.keptLabels, ["dent", "dent", "good", "good", "scratch", "scratch"])
        XCTAssertEqual(best.kept, [1, 2, 3, 4, 5, 6])  // row 0 is the combined image

        // The same numbers from the engine directly, without the evaluation code or the cache: Z of all 7 images
        // (the combined one is an unsupervised reference), then weigh and cluster with combined excluded.
        let spec = settings.backbones[0]
        let extractor = try FeatureExtractor(spec: spec, weightsDirectory: settings.weightsDirectory)
        let category = try DatasetLayout.discover([root], only: nil)[0]
        let z = try extractor.patchEmbeddings(of: category.images.map(\.url))
        let references = try extractor.patchEmbeddings(of: category.normals!.map(\.url))
        for record in first.records {
            let weighted = try ClusteringPipeline.weigh(z, mode: record.mode, tau: record.tau ?? 1, references: references)
            let outcome = try ClusteringPipeline.cluster(weighted.embeddings, labels: category.images.map { $0.label! }, exclude: ["combined"])
            XCTAssertEqual(outcome.metrics, record.outcome?.metrics, "\(record.mode) τ \(record.tau ?? -1)")
        }

        // Warm: the backbone is never loaded, features cost 0 s, and every record is otherwise identical.
        let warm = SweepRunner(settings: settings, log: ProgressLog(enabled: false))
        let second = try warm.run()
        XCTAssertEqual(warm.features.backboneLoads, 0)
        XCTAssertEqual(warm.features.imagesEmbedded, 0)
        XCTAssertEqual(second.records.map(\.featureSeconds), Array(repeating: 0, count: 5))
        XCTAssertEqual(second.records.map(\.outcome), first.records.map(\.outcome))
        XCTAssertEqual(second.best["widget"]?.alpha, best.alpha)

        // A damaged cache entry is recomputed (that one image only), with the same results.
        let entries = try FileManager.default.subpathsOfDirectory(atPath: settings.cacheDirectory.path).filter { $0.hasSuffix(".npy") }
        XCTAssertEqual(entries.count, 9)
        try Data("not an npy".utf8).write(to: settings.cacheDirectory.appendingPathComponent(entries[0]))
        let repaired = SweepRunner(settings: settings, log: ProgressLog(enabled: false))
        XCTAssertEqual(try repaired.run().records.map(\.outcome), first.records.map(\.outcome))
        XCTAssertEqual(repaired.features.imagesEmbedded, 1)

        // The written files agree with each other, and the report carries the contact sheets.
        let files = try EvaluationOutputs.write(second, to: settings.outputDirectory)
        try assertOutputsAgreeWithJSON(in: settings.outputDirectory)
        let html = try String(contentsOf: files[3], encoding: .utf8)
        // 6 clustered images, each a thumbnail and an α heat map.
        XCTAssertEqual(html.components(separatedBy: "src=\"data:image/png;base64,").count - 1, 12)
        XCTAssert(html.contains("Confusion matrix"))
    }

    func testFlatTreeSkipsSemiSupervisedAndAutoK() throws {
        let root = folder.appendingPathComponent("steel")
        try EvaluationFixtures.flatTree(at: root)
        let settings = try EvaluationFixtures.settings(try arguments(root, ["--modes", "unsupervised,semi-supervised", "--clusters", "auto"]))
        let result = try SweepRunner(settings: settings, log: ProgressLog(enabled: false)).run()
        XCTAssertEqual(result.categories.map(\.group), ["steel"])
        let skipped = result.records.filter { $0.mode == .semiSupervised }
        XCTAssertEqual(skipped.map(\.tau), [0, 2])
        XCTAssert(skipped.allSatisfy { $0.outcome == nil && $0.skipped == "no normal references (flat layout)" })
        let ran = result.records.filter { $0.mode == .unsupervised }
        XCTAssertEqual(ran.count, 2)
        for record in ran {
            XCTAssertEqual(record.outcome?.chosenBy, ClusteringPipeline.automaticChoice)
            XCTAssert((2...5).contains(record.outcome!.clusters))
        }
        try EvaluationOutputs.write(result, to: settings.outputDirectory)
        try assertOutputsAgreeWithJSON(in: settings.outputDirectory)
        let csv = try String(contentsOf: settings.outputDirectory.appendingPathComponent("runs.csv"), encoding: .utf8)
        XCTAssert(csv.contains(",semi-supervised,0.0,skipped,6,,,,,,"))
    }

    func testSeededSubsetAndNormalsAreRecordedAndReproducible() throws {
        let root = folder.appendingPathComponent("data")
        try EvaluationFixtures.mvtecTree(at: root)
        let arguments = try arguments(root, ["--per-class", "1", "--normals", "1", "--seed", "5", "--modes", "average,semi-supervised"])
        let first = try SweepRunner(settings: try EvaluationFixtures.settings(arguments), log: ProgressLog(enabled: false)).run()
        let second = try SweepRunner(settings: try EvaluationFixtures.settings(arguments), log: ProgressLog(enabled: false)).run()
        let summary = try XCTUnwrap(first.categories.first)
        XCTAssertEqual(summary.labelCounts.map(\.count), [1, 1, 1, 1])
        XCTAssertEqual(summary.testImages.count, 4)
        XCTAssertEqual(summary.normals?.count, 1)
        XCTAssertEqual(summary.normalsAvailable, 2)
        XCTAssertEqual(second.categories.first?.testImages, summary.testImages)
        XCTAssertEqual(second.categories.first?.normals, summary.normals)
        XCTAssertEqual(second.records.map(\.outcome), first.records.map(\.outcome))
        // combined is excluded: three images, three clusters, one per label, so every metric is 1.
        XCTAssertEqual(first.records.map { $0.outcome?.metrics }, Array(repeating: ClusteringMetrics(nmi: 1, ari: 1, f1: 1), count: 3))
        XCTAssert(first.records.allSatisfy { $0.images == 3 })
        // The choices are in runs.json.
        try EvaluationOutputs.write(first, to: folder.appendingPathComponent("out"))
        let json = try String(contentsOf: folder.appendingPathComponent("out/runs.json"), encoding: .utf8)
        XCTAssert(json.contains("\"test_images\": [" + summary.testImages.map { "\"\($0)\"" }.joined(separator: ", ") + "]"))
        XCTAssert(json.contains("\"normals\": [\"\(summary.normals![0])\"], \"normals_available\": 2"))
        XCTAssert(json.contains("\"per_class\": 1, \"seed\": 5"))
    }

    func testCacheKeyFollowsSettingsAndWeights() throws {
        let weights = folder.appendingPathComponent("weights")
        try FileManager.default.createDirectory(at: weights, withIntermediateDirectories: true)
        let file = weights.appendingPathComponent("efficientnet_lite0.safetensors")
        try Data("weights v1".utf8).write(to: file)
        let registry = try BackboneRegistry.load(from: try EvaluationFixtures.smallRegistry(in: folder))
        let spec = try registry.spec(named: "efficientnet-lite0")
        let key = try FeatureCacheKey(spec: spec, weightsDirectory: weights)
        XCTAssertEqual(key, try FeatureCacheKey(spec: spec, weightsDirectory: weights))
        XCTAssert(key.folder.hasPrefix("efficientnet-lite0-"))
        XCTAssert(key.description.contains("weights_sha256: \(SHA256.hex(Array("weights v1".utf8)))"))
        XCTAssertNotEqual(key, try FeatureCacheKey(spec: try spec.overriding(resize: 72, crop: nil), weightsDirectory: weights))
        XCTAssertNotEqual(key, try FeatureCacheKey(spec: try spec.overriding(resize: nil, crop: 56), weightsDirectory: weights))
        try Data("weights v2".utf8).write(to: file)
        XCTAssertNotEqual(key, try FeatureCacheKey(spec: spec, weightsDirectory: weights))
    }
}
