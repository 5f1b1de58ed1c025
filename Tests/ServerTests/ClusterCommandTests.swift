// The `cluster` command end to end on .npy files: the seed reproduction through the command line,
// patch embeddings with every mode and output file, and each bad input as a one-line error.
import ArgumentParser
import Engine
import Foundation
import XCTest
@testable import Server

final class ClusterCommandTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func seed(_ category: String, _ file: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/seed-dino-vitb8/\(category)/\(file)").path
    }

    func run(_ arguments: [String]) throws -> ClusterReport {
        try ClusterRun(options: ClusterCommand.parse(arguments)).execute()
    }

    /// The error message `cluster` would print for these arguments.
    func failure(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try run(arguments)
            XCTFail("expected an error for \(arguments)", file: file, line: line)
            return ""
        } catch {
            let message = ClusterCommand.message(for: error)
            XCTAssertFalse(message.contains("\n"), "not one line: \(message)", file: file, line: line)
            return message
        }
    }

    func write(_ name: String, shape: [Int], values: [Float]) throws -> String {
        let url = directory.appendingPathComponent(name)
        try NPYArray(shape: shape, values: values).write(to: url)
        return url.path
    }

    func testSeedWoodThroughTheCommandLineWithJSON() throws {
        let report = try run([seed("wood", "X_supervised.npy"), "--labels", seed("wood", "images.csv"), "--exclude", "combined", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as! [String: Any]
        XCTAssertEqual(object["clusters"] as? Int, 5)
        XCTAssertEqual(object["clusters_chosen_by"] as? String, "labels")
        let assignments = object["assignments"] as! [[String: Any]]
        XCTAssertEqual(assignments.count, 68)
        XCTAssertEqual(assignments[0]["image"] as? String, "wood/test/color/000.png")
        XCTAssertEqual(assignments[0]["label"] as? String, "color")
        XCTAssertFalse(assignments.contains { $0["label"] as? String == "combined" })
        let metrics = object["metrics"] as! [String: Double]
        // ../shared/fixtures/seed-dino-vitb8/wood/expected.json, supervised.
        XCTAssertEqual(metrics["nmi"]!, 0.759, accuracy: 5e-4)
        XCTAssertEqual(metrics["ari"]!, 0.651, accuracy: 5e-4)
        XCTAssertEqual(metrics["f1"]!, 0.853, accuracy: 5e-4)
    }

    func testWithoutLabelsImagesAreRowIndicesAndKIsAutomatic() throws {
        let report = try run([seed("toothbrush", "X_unsupervised.npy"), "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as! [String: Any]
        XCTAssertNil(object["metrics"])
        XCTAssertEqual(object["clusters_chosen_by"] as? String, "auto (Calinski–Harabasz)")
        let assignments = object["assignments"] as! [[String: Any]]
        XCTAssertEqual(assignments.map { $0["image"] as? Int }, (0..<42).map { $0 })
        XCTAssertNil(assignments[0]["label"])
        XCTAssertEqual(report.clusters, Set(report.assignments).count)
        XCTAssert((2...20).contains(report.clusters))
        XCTAssertEqual(try run([seed("toothbrush", "X_unsupervised.npy"), "--clusters", "3"]).clusters, 3)
    }

    /// Synthetic defects: every image is background patches in one of two "lighting" styles (independent
    /// of the defect type) plus three patches of its defect type. The style dominates the plain average,
    /// but the rare defect patches get the weight, so Ward on X recovers the defect types exactly.
    func makeDefectBatch() throws -> (patches: String, labels: String, normal: String, z: PatchEmbeddings) {
        var rng = SeededRandom(seed: 99)
        let types = 3, perType = 8, p = 36, d = 24, defectPatches = 3
        let centres = (0..<types).map { _ in (0..<d).map { _ in Float(rng.uniform() * 12 - 6) } }
        var values = [Float](), labels = ["image,label"]
        for t in 0..<types {
            for k in 0..<perType {
                let style: Float = k % 2 == 0 ? 0.8 : -0.8
                for m in 0..<p {
                    for j in 0..<d { values.append((m < defectPatches ? centres[t][j] : style) + Float(rng.uniform() - 0.5)) }
                }
                labels.append("type\(t)/\(k).png,type\(t)")
            }
        }
        var normal = [Float]()
        for r in 0..<4 {
            for _ in 0..<(p * d) { normal.append((r % 2 == 0 ? 0.8 : -0.8) + Float(rng.uniform() - 0.5)) }
        }
        let n = types * perType
        let labelsURL = directory.appendingPathComponent("labels.csv")
        try labels.joined(separator: "\n").write(to: labelsURL, atomically: true, encoding: .utf8)
        return (try write("z.npy", shape: [n, p, d], values: values), labelsURL.path,
                try write("normal.npy", shape: [4, p, d], values: normal),
                try PatchEmbeddings(images: n, patches: p, dimensions: d, values: values))
    }

    func testPatchEmbeddingsInEveryModeWithSavedOutputs() throws {
        let batch = try makeDefectBatch()
        let alphaPath = directory.appendingPathComponent("alpha.npy").path
        let xPath = directory.appendingPathComponent("x.npy").path
        let unsupervised = try run([batch.patches, "--labels", batch.labels, "--tau", "0.5", "--save-alpha", alphaPath, "--save-embeddings", xPath])
        XCTAssertEqual(unsupervised.metrics, ClusteringMetrics(trueLabels: unsupervised.labels!, clusters: unsupervised.assignments))
        XCTAssertEqual(unsupervised.metrics!.nmi, 1, accuracy: 1e-12)
        XCTAssertEqual(unsupervised.metrics!.f1, 1)

        // The saved α and X are the engine's, for the same τ.
        let scores = try PatchWeights.scores(batch.z, mode: .unsupervised)
        let alpha = try PatchWeights.softmax(scores: scores, images: batch.z.images, patches: batch.z.patches, tau: 0.5)
        let savedAlpha = try NPYArray.read(from: URL(fileURLWithPath: alphaPath))
        XCTAssertEqual(savedAlpha.shape, [24, 36])
        XCTAssertEqual(savedAlpha.values, alpha)
        let savedX = try NPYArray.read(from: URL(fileURLWithPath: xPath))
        XCTAssertEqual(savedX.shape, [24, 24])
        XCTAssertEqual(savedX.values, PatchWeights.weightedAverage(batch.z, alpha: alpha).values)

        let semi = try run([batch.patches, "--labels", batch.labels, "--normal", batch.normal, "--tau", "0.5"])
        XCTAssertEqual(semi.metrics!.nmi, 1, accuracy: 1e-12)
        let alias = try run([batch.patches, "--labels", batch.labels, "--mode", "supervised", "--normal", batch.normal, "--tau", "0.5"])
        XCTAssertEqual(alias.assignments, semi.assignments)
        // Averaging drowns three defect patches in 33 background ones and clusters by style instead.
        let average = try run([batch.patches, "--labels", batch.labels, "--mode", "average"])
        XCTAssertLessThan(average.metrics!.nmi, 0.5)
        // Excluding a label drops its images from the clustering and from K.
        let excluded = try run([batch.patches, "--labels", batch.labels, "--exclude", "type2"])
        XCTAssertEqual(excluded.clusters, 2)
        XCTAssertEqual(excluded.assignments.count, 16)
        // The scalable search: 8 sampled references and a 16-dimensional projection still find the defect
        // types here, and the report says which search ran.
        let scalable = try run([batch.patches, "--labels", batch.labels, "--tau", "0.5", "--references", "8", "--projection", "16", "--json"])
        XCTAssertEqual(scalable.search, "sampled M = 8, projected d = 16")
        XCTAssertEqual(scalable.metrics!.nmi, 1, accuracy: 1e-12)
        XCTAssert(scalable.json().contains(#""search": "sampled M = 8, projected d = 16""#))
        XCTAssertEqual(try run([batch.patches, "--labels", batch.labels, "--tau", "0.5", "--references", "23"]).assignments, unsupervised.assignments)
        XCTAssertEqual(try run([batch.patches, "--labels", batch.labels, "--search", "auto", "--time-budget", "1000"]).search, "exact")
    }

    func testBadInputsAreOneLineErrorsNamingTheProblem() throws {
        let batch = try makeDefectBatch()
        let flat = try write("flat.npy", shape: [6], values: [1, 2, 3, 4, 5, 6])
        let twoD = try write("x.npy", shape: [3, 2], values: [1, 2, 3, 4, 5, 6])
        let nan = try write("nan.npy", shape: [3, 2], values: [1, 2, 3, .nan, 5, 6])
        let badCSV = directory.appendingPathComponent("short.csv")
        try "image,label\na,x\nb,y\n".write(to: badCSV, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            ([flat], "has shape (6); expected N×D image embeddings or N×P×D patch embeddings"),
            ([nan], "image embeddings: value nan at image 1, dimension 1"),
            ([twoD, "--labels", badCSV.path], "has 2 rows but \(twoD) has 3 images"),
            ([directory.appendingPathComponent("missing.npy").path], "missing.npy"),
            ([twoD, "--mode", "average"], "--mode applies to patch embeddings (N×P×D)"),
            ([twoD, "--normal", batch.normal], "--normal applies to patch embeddings"),
            ([twoD, "--clusters", "0"], "--clusters must be a positive integer or 'auto' (got '0')"),
            ([twoD, "--clusters", "4"], "cannot form 4 clusters from 3 images"),
            ([twoD, "--exclude", "x"], "--exclude needs labels (--labels, or image sub-folders)"),
            ([batch.patches, "--mode", "sideways"], "unknown --mode 'sideways'"),
            ([batch.patches, "--mode", "semi-supervised"], "--mode semi-supervised needs --normal"),
            ([batch.patches, "--tau=-1"], "--tau must be a number ≥ 0"),
            ([batch.patches, "--normal", twoD], "must hold patch embeddings (R×P×D)"),
            ([batch.patches, "--labels", batch.labels, "--exclude", "type0", "--exclude", "type1", "--exclude", "type2"], "--exclude removed every image"),
            ([batch.patches, "--search", "scalable"], "--search scalable needs --references and/or --projection"),
            ([batch.patches, "--search", "exact", "--references", "4"], "--references and --projection go with --search scalable, not exact"),
            ([batch.patches, "--projection", "0"], "--projection must be from 1 to the embeddings' 24 dimensions (got 0)"),
            ([batch.patches, "--search", "fast"], "--search must be exact, auto or scalable (got 'fast')"),
        ]
        for (arguments, expected) in cases {
            let message = failure(arguments)
            XCTAssert(message.contains(expected), "\(arguments): '\(message)' does not contain '\(expected)'")
        }
    }
}

/// `cluster DIR`: a folder of the project's own test images through the real EfficientNet-Lite0 weights.
final class ClusterImageFolderTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Two "defect types" of three images each, copied from Tests/Fixtures/images.
    func makeFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("folder-cli-\(UUID().uuidString)")
        let images = root.appendingPathComponent("Tests/Fixtures/images")
        let groups = ["photo": ["pillow_rgb_300x200.png", "jpeg_optimized_300x200.jpg", "pillow_rgba_64x48.png"],
                      "gray": ["pillow_gray_64x48.png", "jpeg_gray_37x23.jpg", "png_gray16_37x23.png"]]
        for (label, files) in groups {
            let sub = folder.appendingPathComponent(label)
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
            for file in files { try FileManager.default.copyItem(at: images.appendingPathComponent(file), to: sub.appendingPathComponent(file)) }
        }
        return folder
    }

    func testImageFolderRunsThroughTheBackboneWithSavedPatchEmbeddings() throws {
        let weights = try weightsDirectoryOrSkip()
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let zPath = folder.appendingPathComponent("z.npy").path
        let registry = root.appendingPathComponent("config/backbones.json").path
        let report = try ClusterRun(options: ClusterCommand.parse([
            folder.path, "--backbone", "efficientnet-lite0", "--registry", registry, "--weights-dir", weights,
            "--save-patch-embeddings", zPath, "--tau", "1"])).execute()
        XCTAssertEqual(report.clusters, 2)
        XCTAssertEqual(report.labels, ["gray", "gray", "gray", "photo", "photo", "photo"])
        XCTAssertEqual(report.images.compactMap { $0 }, ["gray/jpeg_gray_37x23.jpg", "gray/pillow_gray_64x48.png", "gray/png_gray16_37x23.png",
                                                         "photo/jpeg_optimized_300x200.jpg", "photo/pillow_rgb_300x200.png", "photo/pillow_rgba_64x48.png"])
        // Z: 6 images × 28·28 patches × Dt 2048, and clustering it again from the .npy gives the same answer.
        let z = try NPYArray.read(from: URL(fileURLWithPath: zPath))
        XCTAssertEqual(z.shape, [6, 784, 2048])
        let labels = folder.appendingPathComponent("labels.csv")
        try (["image,label"] + zip(report.images, report.labels!).map { "\($0!),\($1)" }).joined(separator: "\n")
            .write(to: labels, atomically: true, encoding: .utf8)
        let again = try ClusterRun(options: ClusterCommand.parse([zPath, "--labels", labels.path, "--tau", "1"])).execute()
        XCTAssertEqual(again.assignments, report.assignments)
    }

    func testImageFolderErrorsNameTheProblem() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let registry = root.appendingPathComponent("config/backbones.json").path
        func message(_ arguments: [String]) -> String {
            do { _ = try ClusterRun(options: ClusterCommand.parse(arguments)).execute(); return "" } catch { return ClusterCommand.message(for: error) }
        }
        XCTAssert(message([folder.path, "--backbone", "resnet9000", "--registry", registry]).contains("unknown backbone 'resnet9000'; known: dinov2-vits14, efficientnet-lite0"))
        XCTAssert(message([folder.path, "--backbone", "wide-resnet50-2", "--registry", registry, "--weights-dir", folder.path])
            .contains("weights for backbone 'wide-resnet50-2' not found"))
        XCTAssert(message([folder.path, "--labels", "x.csv", "--registry", registry]).contains("--labels is for .npy input"))
        XCTAssert(message([folder.path, "--mode", "semi-supervised", "--registry", registry]).contains("needs --normal"))
        try Data("not a png".utf8).write(to: folder.appendingPathComponent("gray/broken.png"))
        if let weights = try? weightsDirectoryOrSkip() {
            XCTAssert(message([folder.path, "--backbone", "efficientnet-lite0", "--registry", registry, "--weights-dir", weights]).contains("broken.png: "))
        }
    }
}
