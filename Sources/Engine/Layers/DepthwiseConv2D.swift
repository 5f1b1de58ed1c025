// A depthwise convolution (one k×k filter per channel, EfficientNet's spatial mixing) with BatchNorm
// folded in. There is no reduction over channels, so a GEMM would only add copies; instead each plane is
// first copied, zero-padded, into s×s stride phases (phase (py, px) holds padded pixels (s·i + py, s·j + px)),
// after which every filter tap is one long contiguous multiply-add over a "wide" output grid whose rows
// are as long as a phase row: out[i] += w · phase[i + offset]. The few extra columns per row are dropped when
// bias and activation are applied. Loops stay long (no per-row bounds) even on 14×14 planes and vectorise.
// On AVX-512 CPUs the tap passes run in CKernels (`ac_depthwise_accumulate_avx512`, bit for bit the same).
import CKernels

/// Depthwise k×k convolution with folded BatchNorm bias and a fused activation.
public struct DepthwiseConv2D: Sendable {
    public let channels: Int
    public let kernel: Int
    public let stride: Int
    public let padding: ConvPadding
    public let activation: Activation
    /// (channels, kernel·kernel), BatchNorm scale folded in.
    let weights: [Float]
    /// (channels): the folded BatchNorm shift.
    let bias: [Float]

    public init(channels: Int, kernel: Int, stride: Int, padding: ConvPadding, activation: Activation, weights: [Float], bias: [Float]) {
        precondition(weights.count == channels * kernel * kernel && bias.count == channels, "DepthwiseConv2D: bad weight count")
        precondition((kernel + stride - 1) / stride <= 5, "DepthwiseConv2D: at most 5 taps per filter row and stride phase")
        (self.channels, self.kernel, self.stride, self.padding) = (channels, kernel, stride, padding)
        (self.activation, self.weights, self.bias) = (activation, weights, bias)
    }

    /// Loads `<weight>` (channels, 1, k, k) and folds the BatchNorm at `<batchNorm>.*` into it.
    init(
        _ reader: inout WeightsReader, weight: String, batchNorm: String, epsilon: Double,
        channels: Int, kernel: Int, stride: Int, padding: ConvPadding, activation: Activation
    ) throws(WeightsError) {
        let raw = try reader.take(weight, [channels, 1, kernel, kernel])
        let bn = try BatchNormFolding(&reader, prefix: batchNorm, channels: channels, epsilon: epsilon)
        self.init(
            channels: channels, kernel: kernel, stride: stride, padding: padding, activation: activation,
            weights: bn.folded(weights: raw, rowLength: kernel * kernel), bias: bn.bias)
    }

    func geometry(height: Int, width: Int) -> ConvGeometry {
        ConvGeometry(height: height, width: width, kernel: kernel, stride: stride, padding: padding)
    }

    /// Sizes of one plane's phase copy and wide output for geometry `g`.
    private struct PhaseLayout {
        /// Rows and columns of one stride phase: output size + (k − 1)/s.
        let rows: Int, columns: Int
        /// Floats per phase, with one spare row so the last taps may read past the end.
        let phaseFloats: Int
        /// Floats of scratch per plane: s² phases, then the wide output (OH × columns).
        let scratchFloats: Int

        init(_ g: ConvGeometry) {
            let reach = (g.kernel - 1) / g.stride
            rows = g.outHeight + reach
            columns = g.outWidth + reach
            phaseFloats = (rows + 1) * columns
            scratchFloats = g.stride * g.stride * phaseFloats + g.outHeight * columns
        }
    }

    /// out (channels, batch, OH, OW) ← act(depthwise(input) + bias); input (channels, batch, height, width).
    /// Uses the workspace slot `.scratch` for per-thread scratch.
    func forward(
        _ out: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>,
        batch: Int, height: Int, width: Int, workspace: ConvWorkspace
    ) {
        let g = geometry(height: height, width: width)
        let layout = PhaseLayout(g)
        let planes = channels * batch
        let parts = planes * g.outHeight * g.outWidth * kernel * kernel >= 1 << 15 ? 2 : 1
        nonisolated(unsafe) let scratch = workspace.buffer(.scratch, count: parts * layout.scratchFloats)
        nonisolated(unsafe) let dst = out
        nonisolated(unsafe) let src = input
        weights.withUnsafeBufferPointer { w in
            nonisolated(unsafe) let wp = w.baseAddress!
            parallelTasks(parts, workers: parts) { part, _ in
                let mine = scratch + part * layout.scratchFloats
                for p in rowBlock(part, of: parts, rows: planes) {
                    let c = p / batch
                    Self.plane(
                        dst + p * g.outHeight * g.outWidth, src + p * height * width,
                        filter: wp + c * kernel * kernel, bias: bias[c], activation: activation,
                        geometry: g, layout: layout, scratch: mine)
                }
            }
        }
    }

    /// wide[i] += Σ_j taps.j · q[i + j] for j < tapCount (1…5), i in 0..<count — one pass per filter row.
    /// `avx512` picks the kernel.
    @inline(__always)
    static func accumulate(
        _ wide: UnsafeMutablePointer<Float>, _ q: UnsafePointer<Float>, count n: Int,
        taps t: (Float, Float, Float, Float, Float), tapCount: Int, avx512: Bool = VectorKernels.avx512
    ) {
        if avx512 {
            withUnsafeBytes(of: t) { raw in
                ac_depthwise_accumulate_avx512(wide, q, Int64(n), raw.baseAddress!.assumingMemoryBound(to: Float.self), Int32(tapCount))
            }
            return
        }
        switch tapCount {
        case 1: for i in 0..<n { wide[i] += t.0 * q[i] }
        case 2: for i in 0..<n { wide[i] += t.0 * q[i] + t.1 * q[i + 1] }
        case 3: for i in 0..<n { wide[i] += t.0 * q[i] + t.1 * q[i + 1] + t.2 * q[i + 2] }
        case 4: for i in 0..<n { wide[i] += t.0 * q[i] + t.1 * q[i + 1] + t.2 * q[i + 2] + t.3 * q[i + 3] }
        case 5: for i in 0..<n { wide[i] += t.0 * q[i] + t.1 * q[i + 1] + t.2 * q[i + 2] + t.3 * q[i + 3] + t.4 * q[i + 4] }
        default: preconditionFailure("unreachable: checked in init")
        }
    }

    /// One channel of one image: out (OH, OW) from input (H, W) and a k×k filter.
    private static func plane(
        _ out: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, filter: UnsafePointer<Float>,
        bias: Float, activation: Activation, geometry g: ConvGeometry, layout: PhaseLayout,
        scratch: UnsafeMutablePointer<Float>
    ) {
        let s = g.stride, k = g.kernel, qw = layout.columns
        // Phase copies of the zero-padded plane: phase (py, px) [i][j] = padded[s·i + py][s·j + px].
        for py in 0..<s {
            for px in 0..<s {
                let q = scratch + (py * s + px) * layout.phaseFloats
                // Columns j whose source x = s·j + px − padLeft lies inside the row.
                let first = g.padLeft - px
                let lo = min(qw, first <= 0 ? 0 : (first + s - 1) / s)
                let last = g.inWidth - 1 + g.padLeft - px
                let hi = last < 0 ? lo : max(lo, min(qw, last / s + 1))
                for i in 0...layout.rows {  // the spare last row stays zero
                    let row = q + i * qw
                    let y = s * i + py - g.padTop
                    guard i < layout.rows, y >= 0, y < g.inHeight else {
                        row.update(repeating: 0, count: qw)
                        continue
                    }
                    let src = input + y * g.inWidth + px - g.padLeft  // src[s·j] is column j
                    row.update(repeating: 0, count: lo)
                    if s == 1 {
                        (row + lo).update(from: src + lo, count: hi - lo)
                    } else {
                        for j in lo..<hi { row[j] = src[s &* j] }
                    }
                    (row + hi).update(repeating: 0, count: qw - hi)
                }
            }
        }
        // Wide output (OH, qw). The taps of one filter row that share a phase, (ky, px), (ky, px + s), …,
        // read that phase at consecutive offsets: one contiguous pass adds them all.
        let wide = scratch + s * s * layout.phaseFloats
        let n = g.outHeight * qw
        wide.update(repeating: 0, count: n)
        var taps: (Float, Float, Float, Float, Float) = (0, 0, 0, 0, 0)
        for ky in 0..<k {
            for px in 0..<min(s, k) {
                let q = UnsafePointer(scratch + ((ky % s) * s + px) * layout.phaseFloats + (ky / s) * qw)
                let count = (k - px + s - 1) / s
                withUnsafeMutableBytes(of: &taps) { raw in
                    let t = raw.baseAddress!.assumingMemoryBound(to: Float.self)
                    for j in 0..<5 { t[j] = j < count ? filter[ky * k + px + s * j] : 0 }
                }
                Self.accumulate(wide, q, count: n, taps: taps, tapCount: count)
            }
        }
        // Drop the extra columns; bias and activation.
        for oy in 0..<g.outHeight {
            let o = out + oy * g.outWidth
            o.update(from: wide + oy * qw, count: g.outWidth)
            activation.apply(o, count: g.outWidth, bias: bias)
        }
    }
}
