// The scalable search (issue 6) against definitions computed naively in Double: the sampled mean over the
// seeded ring's references, the projection as Z·R; and its guarantees: M ≥ N − 1 without projection is the
// exact search bit for bit, the same seed gives the same result, and the cost rule stays within its budget.
import XCTest
@testable import Engine

final class ScalableSearchTests: XCTestCase {
    private func batch(images n: Int, patches p: Int, dimensions d: Int, seed: UInt64) throws -> PatchEmbeddings {
        var random = SeededRandom(seed: seed)
        return try PatchEmbeddings(images: n, patches: p, dimensions: d, values: random.normals(n * p * d))
    }

    /// min over j's patches of the Double distance from patch (i, m).
    private func nearest(_ z: PatchEmbeddings, _ i: Int, _ m: Int, _ j: Int) -> Double {
        let p = z.patches, d = z.dimensions
        var best = Double.infinity
        for q in 0..<p {
            var s = 0.0
            for k in 0..<d { let t = Double(z.values[(i * p + m) * d + k]) - Double(z.values[(j * p + q) * d + k]); s += t * t }
            best = min(best, s.squareRoot())
        }
        return best
    }

    func testSampledMeanIsTheMeanOverTheRingNeighbours() throws {
        for (n, m) in [(7, 2), (9, 4), (12, 6), (11, 3)] {
            let z = try batch(images: n, patches: 5, dimensions: 12, seed: UInt64(n))
            let scores = NearestPatchDistances.meanOverSampledImages(z, references: m, seed: 42)
            let ring = NearestPatchDistances.ringOrder(images: n, seed: 42)
            XCTAssertEqual(ring.sorted(), Array(0..<n))
            let used = m + m % 2, half = used / 2
            for q in 0..<n {
                let i = ring[q]
                let refs = (1...half).flatMap { [ring[(q + $0) % n], ring[(q - $0 + n) % n]] }
                XCTAssertEqual(Set(refs).count, used, "the ring gives \(used) distinct references")
                XCTAssertFalse(refs.contains(i))
                for patch in 0..<5 {
                    let expected = refs.map { nearest(z, i, patch, $0) }.reduce(0, +) / Double(used)
                    XCTAssertEqual(Double(scores[i * 5 + patch]), expected, accuracy: 1e-4 * expected, "n \(n) m \(m)")
                }
            }
        }
    }

    func testAllReferencesWithoutProjectionIsTheExactSearchBitForBit() throws {
        let z = try batch(images: 6, patches: 9, dimensions: 16, seed: 3)
        let exact = try PatchWeights.scores(z, mode: .unsupervised)
        for references in [5, 6, 100] {
            let search = NeighbourSearch(references: references, projection: nil, seed: 9)
            XCTAssertEqual(try PatchWeights.scores(z, mode: .unsupervised, search: search), exact)
        }
        XCTAssertEqual(try PatchWeights.scores(z, mode: .unsupervised, search: .exact), exact)
    }

    func testFixedSeedsGiveIdenticalResultsAndOtherSeedsDiffer() throws {
        let z = try batch(images: 10, patches: 6, dimensions: 32, seed: 5)
        let search = NeighbourSearch(references: 4, projection: 8, seed: 17)
        let first = try PatchWeights.scores(z, mode: .unsupervised, search: search)
        XCTAssertEqual(try PatchWeights.scores(z, mode: .unsupervised, search: search), first)
        var other = search
        other.seed = 18
        XCTAssertNotEqual(try PatchWeights.scores(z, mode: .unsupervised, search: other), first)
    }

    func testProjectionIsZTimesASeededGaussianMatrix() throws {
        let z = try batch(images: 2, patches: 3, dimensions: 40, seed: 8)
        let projected = z.projected(to: 6, seed: 21)
        XCTAssertEqual([projected.images, projected.patches, projected.dimensions], [2, 3, 6])
        var random = SeededRandom(seed: 21 ^ 0x5052_4F4A)
        let r = random.normals(40 * 6, scale: 1 / Double(6).squareRoot())
        for row in 0..<6 {
            for c in 0..<6 {
                var s = 0.0
                for k in 0..<40 { s += Double(z.values[row * 40 + k]) * Double(r[k * 6 + c]) }
                XCTAssertEqual(Double(projected.values[row * 6 + c]), s, accuracy: 1e-5)
            }
        }
        // Distances keep their scale on average (Johnson–Lindenstrauss): mean ratio of squared distances ≈ 1.
        let wide = try batch(images: 1, patches: 200, dimensions: 256, seed: 1)
        let narrow = wide.projected(to: 128, seed: 2)
        var ratio = 0.0
        for a in 0..<100 {
            func squared(_ x: PatchEmbeddings, _ i: Int, _ j: Int) -> Double {
                (0..<x.dimensions).reduce(0) { $0 + pow(Double(x.values[i * x.dimensions + $1]) - Double(x.values[j * x.dimensions + $1]), 2) }
            }
            ratio += squared(narrow, a, a + 100) / squared(wide, a, a + 100)
        }
        XCTAssertEqual(ratio / 100, 1, accuracy: 0.05)
    }

    func testSemiSupervisedProjectsImagesAndReferencesAlike() throws {
        let z = try batch(images: 3, patches: 4, dimensions: 24, seed: 11)
        let refs = try batch(images: 2, patches: 4, dimensions: 24, seed: 12)
        let search = NeighbourSearch(references: nil, projection: 8, seed: 4)
        let scores = try PatchWeights.scores(z, mode: .semiSupervised, references: refs, search: search)
        let expected = NearestPatchDistances.minimumToReferences(
            z.projected(to: 8, seed: 4), references: refs.projected(to: 8, seed: 4))
        XCTAssertEqual(scores, expected)
    }

    func testTheRuleFitsTheBudgetAndPrefersSamplingToProjection() {
        let rate = 150e9, (p, d) = (784, 2048)
        XCTAssertEqual(NeighbourSearch.choose(images: 64, patches: p, dimensions: d, rate: rate, budget: 3600), .exact)
        let large = NeighbourSearch.choose(images: 1024, patches: p, dimensions: d, rate: rate, budget: 120, seed: 7)
        XCTAssertEqual(large.seed, 7)
        XCTAssertLessThanOrEqual(large.unsupervisedSeconds(images: 1024, patches: p, dimensions: d, rate: rate), 120)
        XCTAssertGreaterThan(large.unsupervisedSeconds(images: 1024, patches: p, dimensions: d, rate: rate), 110, "the budget is used")
        XCTAssertEqual(large.projection, 512, "\(large)")
        XCTAssertGreaterThanOrEqual(large.referenceCount(images: 1024), 32)
        let medium = NeighbourSearch.choose(images: 256, patches: p, dimensions: d, rate: rate, budget: 300)
        XCTAssertNil(medium.projection, "32 or more references fit at full D: \(medium)")
        XCTAssertGreaterThanOrEqual(medium.referenceCount(images: 256), 64)
        XCTAssertLessThanOrEqual(medium.unsupervisedSeconds(images: 256, patches: p, dimensions: d, rate: rate), 300)
    }
}
