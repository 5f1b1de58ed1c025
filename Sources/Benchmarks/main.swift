// Engine benchmarks (release builds only; never part of `swift test`):
//   1. unsupervised patch-weight scores for N = 64 images, P = 784 patches, D = 1024 and 2048, in GFLOP/s,
//      beside a plain `cblas_sgemm` of the tile shape the search uses and of 2048³, in the same run;
//   2. semi-supervised scores against R = 30 references (same P, D);
//   3. Ward on N = 5000 random image embeddings of D = 2048.
// Run: OPENBLAS_CORETYPE=Haswell swift run -c release Benchmarks [--quick]
// Each result is validated against a Double computation on sampled rows before it is timed.
import CBLAS
import Engine
import Foundation

let quick = CommandLine.arguments.contains("--quick")

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// Median wall time of `repeats` runs after one warm-up.
func median(_ repeats: Int, _ body: () -> Void) -> Double {
    body()
    var times = [Double]()
    for _ in 0..<repeats { let t = now(); body(); times.append(now() - t) }
    return times.sorted()[times.count / 2]
}

extension SeededRandom {
    /// Roughly normal: sum of four uniforms, centred and scaled (cheap for 50 M values).
    mutating func values(_ count: Int) -> [Float] {
        (0..<count).map { _ in
            var s: Float = 0
            for _ in 0..<4 { s += Float(next() >> 40) / Float(1 << 24) }
            return (s - 2) * 1.7
        }
    }
}

/// GFLOP/s of one row-major sgemm M×N×K (median of `repeats`).
func sgemmRate(m: Int, n: Int, k: Int, repeats: Int) -> Double {
    var rng = SeededRandom(seed: 1)
    let a = rng.values(m * k), b = rng.values(n * k)
    var c = [Float](repeating: 0, count: m * n)
    let t = median(repeats) {
        a.withUnsafeBufferPointer { ab in
            b.withUnsafeBufferPointer { bb in
                c.withUnsafeMutableBufferPointer { cb in
                    BLAS.sgemm(transA: false, transB: true, m: m, n: n, k: k, alpha: -2, a: ab.baseAddress!, lda: k,
                               b: bb.baseAddress!, ldb: k, beta: 0, c: cb.baseAddress!, ldc: n)
                }
            }
        }
    }
    return 2 * Double(m) * Double(n) * Double(k) / t / 1e9
}

/// Double-precision min distance from patch `row` of `z` to the patches of image `j` of `bank`.
func naiveMin(_ z: PatchEmbeddings, row: Int, bank: PatchEmbeddings, image j: Int) -> Double {
    let d = z.dimensions
    var best = Double.infinity
    for q in 0..<bank.patches {
        var s = 0.0
        for k in 0..<d { let t = Double(z.values[row * d + k]) - Double(bank.values[(j * bank.patches + q) * d + k]); s += t * t }
        best = min(best, s)
    }
    return best.squareRoot()
}

print("CPU: \(VectorKernels.cpuDescription)")
print("OpenBLAS: \(BLAS.configuration); threads \(BLAS.threads); OPENBLAS_CORETYPE=\(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "(unset)")")

// 1. Unsupervised scores, at D = 1024 and (full runs) at D = 2048, the registry's CNN embeddings. The machine's
// sgemm rate drifts on shared VMs (2048³: 340–445 GFLOP/s within minutes), so the plain sgemms run right
// before and right after each search and the search is compared with their mean.
let n = quick ? 16 : 64, p = 784
var rng = SeededRandom(seed: 2026)
var tileRate = 0.0  // the semi-supervised section compares against the D = 1024 tile
for d in quick ? [1024] : [1024, 2048] {
    let z = try PatchEmbeddings(images: n, patches: p, dimensions: d, values: rng.values(n * p * d))
    // The search's own tile: rowImages·P rows × one column block of the first row (NearestPatchDistances).
    let rowImages = NearestPatchDistances.rowImages(images: n, patches: p)
    let colImages = max(1, NearestPatchDistances.defaultTileFloats / (rowImages * p * p))
    let blocks = (n - 1 + colImages - 1) / colImages, width = (n - 1 + blocks - 1) / blocks
    let tileM = rowImages * p, tileN = width * p
    let tileBefore = sgemmRate(m: tileM, n: tileN, k: d, repeats: 5)
    let squareBefore = sgemmRate(m: 2048, n: 2048, k: 2048, repeats: 3)
    var scores = [Float]()
    let tUnsupervised = median(quick ? 1 : 2) { scores = NearestPatchDistances.meanOverOtherImages(z) }
    let tileAfter = sgemmRate(m: tileM, n: tileN, k: d, repeats: 5)
    let squareAfter = sgemmRate(m: 2048, n: 2048, k: 2048, repeats: 3)
    for (i, m) in [(0, 0), (n / 2, 391), (n - 1, p - 1)] {
        var total = 0.0
        for j in 0..<n where j != i { total += naiveMin(z, row: i * p + m, bank: z, image: j) }
        let want = total / Double(n - 1), got = Double(scores[i * p + m])
        precondition(abs(got - want) <= 1e-4 * want, "validation failed at image \(i) patch \(m): \(got) vs \(want)")
    }
    let pairFlops = 2 * Double(n) * Double(n - 1) * Double(p * p) * Double(d)  // every ordered pair, as the reference
    let executed = pairFlops / 2 / tUnsupervised / 1e9  // each unordered pair multiplied once
    let tile = (tileBefore + tileAfter) / 2, square = (squareBefore + squareAfter) / 2
    if d == 1024 { tileRate = tile }
    print("")
    print("unsupervised scores, N=\(n) P=\(p) D=\(d): \(String(format: "%.2f", tUnsupervised)) s")
    print(String(format: "  executed GEMM work  %.0f GFLOP/s  = %.0f%% of the tile-shaped sgemm, %.0f%% of 2048³", executed,
                 100 * executed / tile, 100 * executed / square))
    print(String(format: "  pair-equivalent     %.0f GFLOP/s  (every ordered image pair, as the reference computes it)", pairFlops / tUnsupervised / 1e9))
    if d == 1024 && !quick {
        // A/B in one run, alternating: reductionWorkers 1 is the path from before f16316d (one GEMM per tile on
        // OpenBLAS's threads, then the minima on one core); the default gives each core a row image of the tile.
        var oneCore: [Double] = [], everyCore: [Double] = []
        for _ in 0..<2 {
            var t = now()
            _ = NearestPatchDistances.meanOverOtherImages(z, reductionWorkers: 1)
            oneCore.append(now() - t)
            t = now()
            _ = NearestPatchDistances.meanOverOtherImages(z)
            everyCore.append(now() - t)
        }
        print(String(format: "  minima on one core / on every core, alternating: best %.2f / %.2f s", oneCore.min()!, everyCore.min()!))
    }
    print(String(format: "  cblas_sgemm before → after: %d×%d×%d (the search's tile) %.0f → %.0f GFLOP/s;  2048³ %.0f → %.0f GFLOP/s",
                 tileM, tileN, d, tileBefore, tileAfter, squareBefore, squareAfter))
}

// 2. Semi-supervised scores against R references.
let r = quick ? 8 : 30, d = 1024
let references = try PatchEmbeddings(images: r, patches: p, dimensions: d, values: rng.values(r * p * d))
let nSemi = quick ? 4 : 16
let zSemi = try PatchEmbeddings(images: nSemi, patches: p, dimensions: d, values: rng.values(nSemi * p * d))
var semi = [Float]()
let tSemi = median(quick ? 1 : 2) { semi = NearestPatchDistances.minimumToReferences(zSemi, references: references) }
for (i, m) in [(0, 5), (nSemi - 1, 700)] {
    var best = Double.infinity
    for j in 0..<r { best = min(best, naiveMin(zSemi, row: i * p + m, bank: references, image: j)) }
    precondition(abs(Double(semi[i * p + m]) - best) <= 1e-4 * best, "semi-supervised validation failed")
}
let semiFlops = 2 * Double(nSemi) * Double(r) * Double(p * p) * Double(d)
print(String(format: "semi-supervised scores, N=%d R=%d: %.2f s, %.0f GFLOP/s (%.0f%% of the tile sgemm)", nSemi, r, tSemi, semiFlops / tSemi / 1e9, 100 * semiFlops / tSemi / 1e9 / tileRate))

// 3. Ward.
let wardN = quick ? 1000 : 5000, wardD = 2048
let x = try ImageEmbeddings(images: wardN, dimensions: wardD, values: rng.values(wardN * wardD))
var tree: Dendrogram?
let tWard = median(1) { tree = Ward.dendrogram(x) }
precondition(tree!.merges.count == wardN - 1 && tree!.cut(clusters: 10).count == wardN)
print(String(format: "Ward, N=%d D=%d: %.2f s (target < 10 s at N = 5000)", wardN, wardD, tWard))
