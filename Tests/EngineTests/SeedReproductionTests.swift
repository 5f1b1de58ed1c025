// The seed implementation's stored X (DINO ViT-B/8, MVTec AD) clustered with our Ward must reproduce
// its stored NMI / ARI / F1 to 1e-4 on every category: `combined` excluded, `good` kept as a class,
// K = number of labels among the clustered images (ALGORITHM.md §6–8).
import Foundation
import XCTest
@testable import Engine

final class SeedReproductionTests: XCTestCase {
    struct Expected: Decodable {
        struct Run: Decodable { let clusters: Int; let images_clustered: Int; let nmi: Double; let ari: Double; let f1_micro: Double }
        let unsupervised: Run
        let supervised: Run
    }

    func testEveryCategoryReproducesTheSeedMetrics() throws {
        for category in ["bottle", "carpet", "hazelnut", "toothbrush", "wood"] {
            let folder = fixtureURL("seed-dino-vitb8/\(category)")
            let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
            let table = try LabelsCSV.read(from: folder.appendingPathComponent("images.csv"))
            let kept = table.labels.indices.filter { table.labels[$0] != "combined" }
            let labels = kept.map { table.labels[$0] }
            for (file, run) in [("X_unsupervised.npy", expected.unsupervised), ("X_supervised.npy", expected.supervised)] {
                let array = try NPYArray.read(from: folder.appendingPathComponent(file))
                XCTAssertEqual(array.shape, [table.labels.count, 4096])
                let x = try ImageEmbeddings(images: array.shape[0], dimensions: array.shape[1], values: array.values)
                    .selecting(images: kept)
                XCTAssertEqual(x.images, run.images_clustered)
                let result = try ImageClustering(x, count: .fixed(Set(labels).count))
                XCTAssertEqual(result.clusters, run.clusters)
                let metrics = ClusteringMetrics(trueLabels: labels, clusters: result.assignments)
                let context = "\(category) \(file): got \(metrics), expected nmi \(run.nmi) ari \(run.ari) f1 \(run.f1_micro)"
                XCTAssertEqual(metrics.nmi, run.nmi, accuracy: 1e-4, context)
                XCTAssertEqual(metrics.ari, run.ari, accuracy: 1e-4, context)
                XCTAssertEqual(metrics.f1, run.f1_micro, accuracy: 1e-4, context)
            }
        }
    }
}
