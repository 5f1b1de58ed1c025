// Ward's merge sequence against a naive O(N³) Ward that recomputes every cluster pair from centroids,
// plus the tree's invariants, cutting and the automatic choice of K.
import XCTest
@testable import Engine

final class WardTests: XCTestCase {
    /// Naive Ward in Double: merge the pair with the smallest √(2·na·nb/(na+nb))·‖ca − cb‖.
    /// Returns (members of the merged cluster, height) per step.
    func naiveWard(_ x: [Float], n: Int, d: Int) -> [(Set<Int>, Double)] {
        var members = (0..<n).map { Set([$0]) }
        var centroids = (0..<n).map { i in (0..<d).map { Double(x[i * d + $0]) } }
        var out = [(Set<Int>, Double)]()
        while members.count > 1 {
            var best = (Double.infinity, 0, 0)
            for a in 0..<members.count {
                for b in (a + 1)..<members.count {
                    let na = Double(members[a].count), nb = Double(members[b].count)
                    var s = 0.0
                    for k in 0..<d { let t = centroids[a][k] - centroids[b][k]; s += t * t }
                    let h = (2 * na * nb / (na + nb) * s).squareRoot()
                    if h < best.0 { best = (h, a, b) }
                }
            }
            let (h, a, b) = best
            let na = Double(members[a].count), nb = Double(members[b].count)
            let c = (0..<d).map { (na * centroids[a][$0] + nb * centroids[b][$0]) / (na + nb) }
            let merged = members[a].union(members[b])
            out.append((merged, h))
            members.remove(at: b); centroids.remove(at: b)
            members[a] = merged; centroids[a] = c
        }
        return out
    }

    /// Members of each merge of a dendrogram, from its scipy-style ids.
    func mergeMembers(_ tree: Dendrogram) -> [Set<Int>] {
        var sets = (0..<tree.count).map { Set([$0]) }
        for merge in tree.merges { sets.append(sets[merge.first].union(sets[merge.second])) }
        return Array(sets[tree.count...])
    }

    func testMergeSequenceMatchesNaiveWard() throws {
        let seed: UInt64 = 42
        print("seed \(seed)")
        var rng = SeededGenerator(seed: seed)
        for (n, d) in [(2, 3), (3, 1), (10, 4), (37, 8), (60, 17), (80, 2)] {
            let values = rng.normals(n * d)
            let x = try ImageEmbeddings(images: n, dimensions: d, values: values)
            let tree = Ward.dendrogram(x)
            let naive = naiveWard(values, n: n, d: d)
            XCTAssertEqual(tree.merges.count, n - 1)
            let members = mergeMembers(tree)
            for t in 0..<(n - 1) {
                XCTAssertEqual(members[t], naive[t].0, "N=\(n) D=\(d) merge \(t)")
                XCTAssertEqual(tree.merges[t].height, naive[t].1, accuracy: 1e-9 * max(1, naive[t].1), "N=\(n) merge \(t)")
                XCTAssertEqual(tree.merges[t].size, naive[t].0.count)
            }
        }
    }

    func testHeightsNeverDecreaseAndCutsHaveKClusters() throws {
        var rng = SeededGenerator(seed: 5)
        let n = 200, d = 6
        let tree = Ward.dendrogram(try ImageEmbeddings(images: n, dimensions: d, values: rng.normals(n * d)))
        for t in 1..<tree.merges.count { XCTAssertLessThanOrEqual(tree.merges[t - 1].height, tree.merges[t].height) }
        for k in [1, 2, 3, 7, 50, 200] {
            let labels = tree.cut(clusters: k)
            XCTAssertEqual(Set(labels), Set(0..<k))
            XCTAssertEqual(labels[0], 0)
            // Numbered by first appearance.
            var seen = -1
            for label in labels where label > seen { XCTAssertEqual(label, seen + 1); seen = label }
        }
    }

    func testIdenticalPointsAndTinyInputs() throws {
        let same = try ImageEmbeddings(images: 4, dimensions: 2, values: [1, 1, 1, 1, 1, 1, 1, 1])
        let tree = Ward.dendrogram(same)
        XCTAssert(tree.merges.allSatisfy { $0.height == 0 })
        XCTAssertEqual(tree.cut(clusters: 2).count, 4)
        let single = Ward.dendrogram(try ImageEmbeddings(images: 1, dimensions: 3, values: [1, 2, 3]))
        XCTAssertEqual(single.cut(clusters: 1), [0])
        XCTAssertEqual(single.automaticClusterCount(), 1)
        XCTAssertThrowsError(try ImageClustering(same, count: .fixed(5)))
        XCTAssertThrowsError(try ImageClustering(same, count: .fixed(0)))
    }

    func testAutomaticCountFindsSeparatedBlobs() throws {
        var rng = SeededGenerator(seed: 11)
        for blobs in [2, 3, 5, 8] {
            let perBlob = 15, d = 10
            var values = [Float]()
            var truth = [Int]()
            let centres = (0..<blobs).map { _ in rng.normals(d, scale: 20) }
            for b in 0..<blobs {
                for _ in 0..<perBlob {
                    values += zip(centres[b], rng.normals(d)).map { $0 + $1 }
                    truth.append(b)
                }
            }
            let x = try ImageEmbeddings(images: blobs * perBlob, dimensions: d, values: values)
            let result = try ImageClustering(x, count: .automatic(maxClusters: 20))
            XCTAssertEqual(result.clusters, blobs)
            // The recovered partition is the true one.
            var map = [Int: Int]()
            for (c, t) in zip(result.assignments, truth) {
                if let m = map[c] { XCTAssertEqual(m, t) } else { map[c] = t }
            }
        }
    }

    func testCondensedIndexMatchesScipy() {
        // scipy: condensed_index(n, i, j) = n*i - i*(i+1)/2 + (j - i - 1)
        let n = 5
        var expected = 0
        for i in 0..<n { for j in (i + 1)..<n { XCTAssertEqual(Ward.condensedIndex(n, i, j), expected); XCTAssertEqual(Ward.condensedIndex(n, j, i), expected); expected += 1 } }
    }
}
