// The scalable search beside the exact one (issue 6; release only, never part of `swift test`): for
// synthetic batches of N images × P = 784 patches × D = 2048 with four planted defect types, the exact
// unsupervised patch weights (time, executed GFLOP/s, % of the same-run sgemm rate), the scalable search
// the server's `auto` rule picks for a 120 s budget (time), and how the clusters agree: ARI between the
// exact and the scalable clusterings, and NMI of each against the planted types.
// Run: OPENBLAS_CORETYPE=Haswell swift run -c release ScalableBenchmarks [--sizes 64,256,1024]
//      [--exact-up-to N] [--budget S] [--references M --projection d] [--exact-checkpoint FILE]
// Above --exact-up-to (default 256) the exact search is not run (N = 1024 takes hours here); its time is
// then estimated from its flops at the largest measured exact rate, and the agreement is not available.
// With --exact-checkpoint the exact search of the largest size saves its state to FILE after each block of
// rows and a later run resumes from it (same scores, bit for bit); its time is the sum over the runs. A
// finished FILE makes later runs (e.g. other --references) compare against the exact clusters at once.
import Engine
import Foundation

let arguments = CommandLine.arguments
func option(_ flag: String) -> String? {
    guard let i = arguments.firstIndex(of: flag), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}
let sizes = (option("--sizes") ?? "64,256,1024").split(separator: ",").compactMap { Int($0) }
let exactUpTo = Int(option("--exact-up-to") ?? "") ?? 256
let budget = Double(option("--budget") ?? "") ?? 120
let fixedReferences = option("--references").flatMap { Int($0) }
let fixedProjection = option("--projection").flatMap { Int($0) }
let checkpointPath = option("--exact-checkpoint")
let (p, d, types, defectPatches) = (784, 2048, 4, 24)

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// N images: every patch N(0, 1)-like noise; `defectPatches` random patches of image i also carry its type's
/// direction (norm 12), so the type is recoverable only through the patch weights.
func syntheticBatch(images n: Int, seed: UInt64) -> (PatchEmbeddings, [String]) {
    var random = SeededRandom(seed: seed)
    let directions = (0..<types).map { _ in random.normals(d, scale: 12 / Double(d).squareRoot()) }
    var values = [Float](repeating: 0, count: n * p * d)
    var labels: [String] = []
    values.withUnsafeMutableBufferPointer { v in
        for i in 0..<n {
            let type = i % types
            labels.append("type\(type)")
            var local = SeededRandom(seed: seed &+ UInt64(i) &* 0x9E37_79B9)
            for k in 0..<(p * d) {  // sum of four uniforms, centred: cheap near-normal noise
                var s: Float = 0
                for _ in 0..<4 { s += Float(local.next() >> 40) / Float(1 << 24) }
                v[i * p * d + k] = (s - 2) * 1.7
            }
            for _ in 0..<defectPatches {
                let patch = Int(local.next() % UInt64(p))
                for k in 0..<d { v[(i * p + patch) * d + k] += directions[type][k] }
            }
        }
    }
    return (try! PatchEmbeddings(images: n, patches: p, dimensions: d, values: values), labels)
}

/// Ward clusters (K = types) of X from the given search at τ = 1, and the seconds its scores took.
func clusters(_ z: PatchEmbeddings, search: NeighbourSearch) -> (assignments: [Int], seconds: Double) {
    let start = now()
    let scores = try! PatchWeights.scores(z, mode: .unsupervised, search: search)
    return (clusters(z, scores: scores), now() - start)
}

func clusters(_ z: PatchEmbeddings, scores: [Float]) -> [Int] {
    let alpha = try! PatchWeights.softmax(scores: scores, images: z.images, patches: z.patches, tau: 1)
    let x = PatchWeights.weightedAverage(z, alpha: alpha)
    return try! ImageClustering(x, count: .fixed(types)).assignments
}

/// The exact clusters, resumable through `path`: (N, P, D, next image) as Int64, the seconds spent so far,
/// then the running sums, rewritten atomically after each block of rows.
func resumableExactClusters(_ z: PatchEmbeddings, path: String) -> (assignments: [Int], seconds: Double) {
    let url = URL(fileURLWithPath: path)
    let header = [Int64(z.images), Int64(z.patches), Int64(z.dimensions)]
    var state: ExactSearchState?
    var secondsBefore = 0.0
    if let data = try? Data(contentsOf: url), data.count == 40 + 8 * z.images * z.patches {
        let words = data.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
        if Array(words[0..<3]) == header {
            let doubles = data.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
            let saved = ExactSearchState(nextImage: Int(words[3]), sums: Array(doubles[5...]))
            if saved.fits(images: z.images, patches: z.patches) { (state, secondsBefore) = (saved, doubles[4]) }
        }
    }
    print("exact search: \(state.map { "resuming at image \($0.nextImage) of \(z.images) after \(Int(secondsBefore)) s" } ?? "starting"), state in \(path)")
    let start = now()
    let scores = NearestPatchDistances.meanOverOtherImages(z, resumingFrom: state, checkpoint: { state in
        var data = Data()
        for word in header + [Int64(state.nextImage)] { withUnsafeBytes(of: word) { data.append(contentsOf: $0) } }
        withUnsafeBytes(of: secondsBefore + now() - start) { data.append(contentsOf: $0) }
        state.sums.withUnsafeBytes { data.append(contentsOf: $0) }
        try! data.write(to: url, options: .atomic)
    })
    let seconds = secondsBefore + now() - start
    return (clusters(z, scores: scores), seconds)
}

let sgemm = BLAS.measureSgemmRate(size: 2048, repeats: 3)
print("ScalableBenchmarks — OpenBLAS \(BLAS.configuration), \(BLAS.threads) threads; OPENBLAS_CORETYPE=\(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "unset")")
print(String(format: "sgemm 2048³ (start): %.1f GFLOP/s; P = %d, D = %d, %d planted types, τ = 1, K = %d", sgemm / 1e9, p, d, types, types))
print("")
print("N      exact s   exact GFLOP/s (% sgemm)   scalable search                       scalable s (rule's estimate)   speed-up   ARI(exact, scalable)   NMI exact / scalable")
var exactRate: Double?
for n in sizes {
    let (z, labels) = syntheticBatch(images: n, seed: UInt64(n))
    let search = fixedReferences != nil || fixedProjection != nil
        ? NeighbourSearch(references: fixedReferences, projection: fixedProjection, seed: 1)
        : NeighbourSearch.choose(images: n, patches: p, dimensions: d, rate: sgemm, budget: budget, seed: 1)
    let scalable = clusters(z, search: search)
    let exactFlops = NeighbourSearch.exact.unsupervisedFlops(images: n, patches: p, dimensions: d)
    let exactColumns: String
    var agreement = "n/a (exact not run)", nmis = String(format: "– / %.3f", ClusteringMetrics(trueLabels: labels, clusters: scalable.assignments).nmi)
    var exactSeconds: Double
    if n <= exactUpTo {
        let exact = search.isExact ? scalable
            : checkpointPath != nil && n == sizes.max() ? resumableExactClusters(z, path: checkpointPath!)
            : clusters(z, search: .exact)
        exactSeconds = exact.seconds
        exactRate = max(exactRate ?? 0, exactFlops / exact.seconds)
        exactColumns = String(format: "%7.1f   %7.1f (%3.0f %%)          ", exact.seconds, exactFlops / exact.seconds / 1e9, 100 * exactFlops / exact.seconds / sgemm)
        agreement = String(format: "%.4f", ClusteringMetrics(trueLabels: exact.assignments.map(String.init), clusters: scalable.assignments).ari)
        nmis = String(format: "%.3f / %.3f", ClusteringMetrics(trueLabels: labels, clusters: exact.assignments).nmi,
                      ClusteringMetrics(trueLabels: labels, clusters: scalable.assignments).nmi)
    } else {
        exactSeconds = exactFlops / (exactRate ?? sgemm)
        exactColumns = String(format: "~%6.0f   (estimated from flops)       ", exactSeconds)
    }
    let estimate = search.unsupervisedSeconds(images: n, patches: p, dimensions: d, rate: sgemm)
    print(String(format: "%-6d %@ %-37@ %8.1f (est. %3.0f)   %7.1f×   %-22@ %@", n, exactColumns, search.description as NSString,
                 scalable.seconds, estimate, exactSeconds / scalable.seconds, agreement as NSString, nmis))
}
print("")
print(String(format: "sgemm 2048³ (end): %.1f GFLOP/s", BLAS.measureSgemmRate(size: 2048, repeats: 3) / 1e9))
