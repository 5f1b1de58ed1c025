// α and X against a straightforward double-precision implementation of ALGORITHM.md §5, on random
// small batches, with tile budgets small enough to exercise every tiling branch.
import XCTest
@testable import Engine

final class PatchWeightsTests: XCTestCase {
    /// Naive scores in Double: every distance computed as √Σ(a−b)².
    func naiveScores(_ z: PatchEmbeddings, mode: PatchWeightMode, references: PatchEmbeddings?) -> [Double] {
        let n = z.images, p = z.patches, d = z.dimensions
        func distance(_ a: [Float], _ ai: Int, _ b: [Float], _ bi: Int) -> Double {
            var s = 0.0
            for k in 0..<d { let t = Double(a[ai * d + k]) - Double(b[bi * d + k]); s += t * t }
            return s.squareRoot()
        }
        var scores = [Double](repeating: 0, count: n * p)
        for i in 0..<n {
            for m in 0..<p {
                switch mode {
                case .average: scores[i * p + m] = 0
                case .unsupervised:
                    var total = 0.0
                    for j in 0..<n where j != i {
                        var best = Double.infinity
                        for q in 0..<p { best = min(best, distance(z.values, i * p + m, z.values, j * p + q)) }
                        total += best
                    }
                    scores[i * p + m] = total / Double(n - 1)
                case .semiSupervised:
                    let r = references!
                    var best = Double.infinity
                    for q in 0..<(r.images * r.patches) { best = min(best, distance(z.values, i * p + m, r.values, q)) }
                    scores[i * p + m] = best
                }
            }
        }
        return scores
    }

    func naiveSoftmax(_ s: [Double], n: Int, p: Int, tau: Double) -> [Double] {
        var out = [Double](repeating: 0, count: n * p)
        for i in 0..<n {
            let row = Array(s[(i * p)..<((i + 1) * p)])
            let top = row.max()!
            if tau == 0 {
                let ties = row.filter { $0 == top }.count
                for m in 0..<p where row[m] == top { out[i * p + m] = 1 / Double(ties) }
            } else {
                let e = row.map { exp(($0 - top) / tau) }
                let total = e.reduce(0, +)
                for m in 0..<p { out[i * p + m] = e[m] / total }
            }
        }
        return out
    }

    func randomBatch(_ rng: inout SeededGenerator, n: Int, p: Int, d: Int) -> PatchEmbeddings {
        try! PatchEmbeddings(images: n, patches: p, dimensions: d, values: rng.normals(n * p * d, scale: 2))
    }

    func testScoresAndAlphaMatchDoublePrecisionInEveryMode() throws {
        let seed: UInt64 = 20261130
        print("seed \(seed)")
        var rng = SeededGenerator(seed: seed)
        // (N, P, D, tile budget in Floats): budgets from "one row block at a time" to "everything at once".
        let cases = [(2, 5, 3, 1), (5, 7, 16, 50), (7, 13, 33, 400), (9, 40, 24, 1 << 20), (33, 17, 8, 2000), (4, 9, 70, 81)]
        for (n, p, d, tile) in cases {
            let z = randomBatch(&rng, n: n, p: p, d: d)
            let references = randomBatch(&rng, n: 3, p: p + 2, d: d)
            for mode in PatchWeightMode.allCases {
                let got = try PatchWeights.scores(z, mode: mode, references: references, tileFloats: tile)
                let want = naiveScores(z, mode: mode, references: references)
                for k in 0..<(n * p) {
                    // Float32 GEMM distances: ‖a‖²+‖b‖²−2ab loses ~1e-6 of ‖a‖² to cancellation.
                    XCTAssertEqual(Double(got[k]), want[k], accuracy: 1e-4 * max(1, want[k]),
                                   "\(mode) N=\(n) P=\(p) D=\(d) tile=\(tile) at \(k)")
                }
                for tau in [0, 0.5, 2, 50] {
                    let alpha = try PatchWeights.softmax(scores: got, images: n, patches: p, tau: tau)
                    let wantAlpha = naiveSoftmax(want, n: n, p: p, tau: tau)
                    for k in 0..<(n * p) {
                        XCTAssertEqual(Double(alpha[k]), wantAlpha[k], accuracy: 2e-4,
                                       "α \(mode) τ=\(tau) N=\(n) P=\(p) at \(k)")
                    }
                    // X = Σ α z against a Double sum.
                    let x = PatchWeights.weightedAverage(z, alpha: alpha)
                    for i in 0..<n {
                        for j in 0..<d {
                            var s = 0.0
                            for m in 0..<p { s += Double(alpha[i * p + m]) * Double(z.values[(i * p + m) * d + j]) }
                            XCTAssertEqual(Double(x.values[i * d + j]), s, accuracy: 1e-4 * max(1, abs(s)))
                        }
                    }
                }
            }
        }
    }

    /// Tiles split over workers (each row image's GEMM and minima on one thread, the terms added in the serial
    /// order) give the one-thread scores to float rounding of the GEMMs, and the same bits on every run, at shapes with several column blocks, a row image that
    /// is also a column image of its tile, odd P, more workers than row images and one image per row block.
    func testParallelReductionEqualsTheSerialOneBitForBit() throws {
        var rng = SeededGenerator(seed: 43)
        for (n, p, d, tileFloats) in [(20, 300, 8, 300 * 300 * 12), (9, 37, 5, 37 * 37 * 4), (5, 1100, 3, 1100 * 1100),
                                      (30, 57, 4, 57 * 57 * 40)] {
            let z = randomBatch(&rng, n: n, p: p, d: d)
            let serial = NearestPatchDistances.meanOverOtherImages(z, tileFloats: tileFloats, reductionWorkers: 1)
            for workers in [2, 3] {
                let parallel = NearestPatchDistances.meanOverOtherImages(z, tileFloats: tileFloats, reductionWorkers: workers)
                // One GEMM of 2P rows on OpenBLAS's threads and P-row GEMMs on one thread each may round their
                // last bit differently; the minima and their order are the same.
                for (a, b) in zip(parallel, serial) {
                    XCTAssertEqual(a, b, accuracy: 2e-6 * b, "N \(n), P \(p), \(workers) workers")
                }
                let again = NearestPatchDistances.meanOverOtherImages(z, tileFloats: tileFloats, reductionWorkers: workers)
                XCTAssertEqual(again, parallel, "deterministic: N \(n), P \(p), \(workers) workers")
            }
        }
    }

    func testExactSearchResumedFromAnyCheckpointEqualsOneUninterruptedSearchBitForBit() throws {
        var rng = SeededGenerator(seed: 41)
        // P = 300 gives row blocks of 6 images: checkpoints after images 6, 12, 18 and 20 (the last, short).
        let z = randomBatch(&rng, n: 20, p: 300, d: 8)
        let uninterrupted = NearestPatchDistances.meanOverOtherImages(z, tileFloats: 300 * 300 * 12)
        var states: [ExactSearchState] = []
        let checkpointed = NearestPatchDistances.meanOverOtherImages(
            z, tileFloats: 300 * 300 * 12, checkpoint: { states.append($0) })
        XCTAssertEqual(checkpointed, uninterrupted)
        XCTAssertEqual(states.map(\.nextImage), [6, 12, 18, 20])
        for state in states {
            var later: [Int] = []
            let resumed = NearestPatchDistances.meanOverOtherImages(
                z, tileFloats: 300 * 300 * 12, resumingFrom: state, checkpoint: { later.append($0.nextImage) })
            XCTAssertEqual(resumed, uninterrupted, "resumed at image \(state.nextImage)")
            XCTAssertEqual(later, states.map(\.nextImage).filter { $0 > state.nextImage })
        }
        // The state after the first block holds exactly the pairs (i < 6, j > i): check one sum naively.
        let naive = naiveScores(try PatchEmbeddings(images: 7, patches: 300, dimensions: 8, values: Array(z.values[0..<(7 * 300 * 8)])),
                                mode: .unsupervised, references: nil)
        // Image 6's sum after block one counts only its distances to images 0–5, as in the 7-image batch.
        XCTAssertEqual(states[0].sums[6 * 300] / 6, naive[6 * 300], accuracy: 1e-4 * naive[6 * 300])
    }

    func testAlphaIsADistributionPerImage() throws {
        var rng = SeededGenerator(seed: 7)
        let n = 6, p = 11
        let scores = rng.normals(n * p, scale: 10)
        for tau in [0, 0.01, 1, 3, 1e6] {
            let alpha = try PatchWeights.softmax(scores: scores, images: n, patches: p, tau: tau)
            for i in 0..<n {
                let row = alpha[(i * p)..<((i + 1) * p)]
                XCTAssert(row.allSatisfy { $0 >= 0 })
                XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5, "τ=\(tau)")
            }
        }
        // τ → ∞ tends to uniform; τ = ∞ is exactly uniform.
        let wide = try PatchWeights.softmax(scores: scores, images: n, patches: p, tau: 1e9)
        XCTAssert(wide.allSatisfy { abs($0 - 1 / Float(p)) < 1e-6 })
        let infinite = try PatchWeights.softmax(scores: scores, images: n, patches: p, tau: .infinity)
        XCTAssert(infinite.allSatisfy { $0 == 1 / Float(p) })
    }

    func testTauZeroSharesTiesEqually() throws {
        let scores: [Float] = [1, 3, 3, 2, /* second image */ 5, 5, 5, 5]
        let alpha = try PatchWeights.softmax(scores: scores, images: 2, patches: 4, tau: 0)
        XCTAssertEqual(alpha, [0, 0.5, 0.5, 0, 0.25, 0.25, 0.25, 0.25])
    }

    func testSoftmaxSubtractsTheMaximum() throws {
        // Without subtracting the max, exp(1000/0.5) overflows to inf and α becomes NaN.
        let alpha = try PatchWeights.softmax(scores: [1000, 999, 0], images: 1, patches: 3, tau: 0.5)
        XCTAssertEqual(Double(alpha[0]), 1 / (1 + exp(-2.0)), accuracy: 1e-6)
        XCTAssert(alpha.allSatisfy { $0.isFinite })
    }

    func testInvalidInputsAreErrorsNotTraps() throws {
        var rng = SeededGenerator(seed: 3)
        let one = randomBatch(&rng, n: 1, p: 4, d: 3)
        XCTAssertThrowsError(try PatchWeights.scores(one, mode: .unsupervised))
        XCTAssertThrowsError(try PatchWeights.scores(one, mode: .semiSupervised, references: nil))
        let other = randomBatch(&rng, n: 2, p: 4, d: 5)
        XCTAssertThrowsError(try PatchWeights.scores(one, mode: .semiSupervised, references: other))
        XCTAssertThrowsError(try PatchWeights.softmax(scores: [1, 2], images: 1, patches: 2, tau: -1))
        XCTAssertThrowsError(try PatchWeights.softmax(scores: [1, 2], images: 1, patches: 2, tau: .nan))
        XCTAssertThrowsError(try PatchEmbeddings(images: 1, patches: 2, dimensions: 2, values: [0, 1, .nan, 2])) { error in
            XCTAssertEqual("\(error)", "patch embeddings: value nan at image 0, patch 1, dimension 0")
        }
        XCTAssertThrowsError(try PatchEmbeddings(images: 2, patches: 2, dimensions: 2, values: [0, 1, 2]))
        XCTAssertEqual(PatchWeightMode(name: "supervised"), .semiSupervised)
        XCTAssertNil(PatchWeightMode(name: "Unsupervised"))
    }
}
