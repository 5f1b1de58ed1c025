// A 2-D convolution with BatchNorm folded in, computed as im2col + one GEMM (ggml's `ggml_conv_2d`),
// or, for 3×3 stride-1 layers, by Winograd F(2×2, 3×3) (WinogradF2x3.swift), which needs 2.25× fewer flops.
// Activations are (C, B, H, W): channel-major across the whole batch, so the GEMM
// out (Cout, B·OH·OW) = weights (Cout, Cin·k·k) × columns (Cin·k·k, B·OH·OW) covers every image at once
// and its result is already in the same layout. A 1×1 stride-1 convolution skips im2col: its input
// *is* the column matrix. Large column matrices are built and multiplied in chunks of output rows so the
// im2col buffer stays under the workspace's `maxColumnFloats`; bias and activation follow each chunk's GEMM.
// Each chunk's GEMM is split into one part per core, run on single-threaded OpenBLAS (ParallelTasks.swift).
// Parallel loops share raw pointers through `nonisolated(unsafe)`: every iteration writes a disjoint part.

/// A square-kernel convolution with folded BatchNorm bias and a fused activation.
public struct Conv2D: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int
    public let padding: ConvPadding
    public let activation: Activation
    /// (outChannels, inChannels·kernel·kernel): PyTorch's OIHW order, BatchNorm scale folded in.
    /// Empty when the layer runs Winograd (its transformed filters replace them; saves memory).
    let weights: [Float]
    /// (outChannels): the folded BatchNorm shift.
    let bias: [Float]
    /// (16, outChannels, inChannels): Winograd F(2×2, 3×3) filters when the layer is 3×3, stride 1,
    /// padding 1 and Winograd is allowed; the forward pass then skips im2col.
    let winogradFilters: [Float]?

    /// How `forward` computes: im2col + GEMM always works; Winograd only for eligible 3×3 layers.
    public var usesWinograd: Bool { winogradFilters != nil }

    public init(
        inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: ConvPadding,
        activation: Activation, weights: [Float], bias: [Float], allowWinograd: Bool = true
    ) {
        precondition(weights.count == outChannels * inChannels * kernel * kernel, "Conv2D: weights do not match the shape")
        precondition(bias.count == outChannels, "Conv2D: bias count \(bias.count) != \(outChannels)")
        (self.inChannels, self.outChannels, self.kernel, self.stride) = (inChannels, outChannels, kernel, stride)
        (self.padding, self.activation, self.bias) = (padding, activation, bias)
        if allowWinograd && WinogradF2x3.eligible(kernel: kernel, stride: stride, padding: padding) {
            winogradFilters = WinogradF2x3.transformFilters(weights, outChannels: outChannels, inChannels: inChannels)
            self.weights = []
        } else {
            winogradFilters = nil
            self.weights = weights
        }
    }

    /// Loads `<weight>` (outChannels, inChannels, k, k) and folds the BatchNorm at `<batchNorm>.*` into it.
    init(
        _ reader: inout WeightsReader, weight: String, batchNorm: String, epsilon: Double,
        inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: ConvPadding, activation: Activation
    ) throws(WeightsError) {
        let raw = try reader.take(weight, [outChannels, inChannels, kernel, kernel])
        let bn = try BatchNormFolding(&reader, prefix: batchNorm, channels: outChannels, epsilon: epsilon)
        self.init(
            inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride, padding: padding,
            activation: activation, weights: bn.folded(weights: raw, rowLength: inChannels * kernel * kernel), bias: bn.bias)
    }

    func geometry(height: Int, width: Int) -> ConvGeometry {
        ConvGeometry(height: height, width: width, kernel: kernel, stride: stride, padding: padding)
    }

    /// out (outChannels, B, OH, OW) ← act(conv(input) + bias [+ out]).
    ///
    /// - Parameters:
    ///   - out: destination, (outChannels, batch, OH, OW); must not overlap `input`.
    ///   - input: (inChannels, batch, height, width).
    ///   - accumulate: when true, `out` already holds a residual (the shortcut) and the convolution is added
    ///     onto it before the activation — the residual add costs no extra pass.
    ///   - workspace: supplies the im2col buffer (slot `.columns`; Winograd also `.winograd`, `.scratch`).
    func forward(
        _ out: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>,
        batch: Int, height: Int, width: Int, accumulate: Bool = false, workspace: ConvWorkspace
    ) {
        if let winogradFilters {
            WinogradF2x3.forward(
                out, input, filters: winogradFilters, bias: bias, activation: activation, accumulate: accumulate,
                inChannels: inChannels, outChannels: outChannels, batch: batch, height: height, width: width,
                workspace: workspace)
            return
        }
        let g = geometry(height: height, width: width)
        let rows = batch * g.outHeight  // one row = one (image, output row) pair
        let n = rows * g.outWidth  // output columns of the GEMM
        let k = inChannels * kernel * kernel
        let direct = kernel == 1 && stride == 1 && g.padTop == 0 && g.padLeft == 0
        // Rows of output per chunk: everything at once unless the column matrix would exceed the cap.
        let rowsPerChunk = direct ? rows : max(1, min(rows, workspace.maxColumnFloats / max(1, k * g.outWidth)))
        let columns = direct ? nil : workspace.buffer(.columns, count: k * rowsPerChunk * g.outWidth)
        let workers = parallelWorkerCount
        BLAS.withThreads(1) {
            weights.withUnsafeBufferPointer { w in
                for r0 in Swift.stride(from: 0, to: rows, by: rowsPerChunk) {
                    let r1 = min(rows, r0 + rowsPerChunk)
                    let c0 = r0 * g.outWidth, count = (r1 - r0) * g.outWidth
                    let b: UnsafePointer<Float>
                    let ldb: Int
                    if let columns {
                        Self.im2col(columns, input, channels: inChannels, batch: batch, geometry: g, rows: r0..<r1)
                        (b, ldb) = (UnsafePointer(columns), count)
                    } else {
                        (b, ldb) = (input + c0, n)
                    }
                    // One part per core, each a single-threaded GEMM with its bias and activation after it.
                    // Split the longer side: each part packs its own share of that operand and all of the
                    // other, so splitting the shorter side would pack the larger operand once per core.
                    let splitColumns = count >= outChannels
                    parallelTasks(workers, workers: workers) { part, _ in
                        let co = splitColumns ? 0..<outChannels : rowBlock(part, of: workers, rows: outChannels)
                        let cols = splitColumns ? rowBlock(part, of: workers, rows: count) : 0..<count
                        guard !co.isEmpty && !cols.isEmpty else { return }
                        let c = out + co.lowerBound * n + c0 + cols.lowerBound
                        BLAS.sgemm(
                            transA: false, transB: false, m: co.count, n: cols.count, k: k,
                            alpha: 1, a: w.baseAddress! + co.lowerBound * k, lda: k, b: b + cols.lowerBound, ldb: ldb,
                            beta: accumulate ? 1 : 0, c: c, ldc: n)
                        for (i, channel) in co.enumerated() {
                            activation.apply(c + i * n, count: cols.count, bias: bias[channel])
                        }
                    }
                }
            }
        }
    }

    /// Writes the im2col matrix for output rows `rows` (row r = image r / OH, output row r % OH):
    /// columns (C·k·k, rows.count·OW), row index (ci, ky, kx) as in the weights, zeros where the window
    /// hangs over the padding. input is (C, B, H, W).
    static func im2col(
        _ columns: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>,
        channels: Int, batch: Int, geometry g: ConvGeometry, rows: Range<Int>
    ) {
        let k = g.kernel, s = g.stride, ow = g.outWidth
        let ld = rows.count * ow
        let plane = g.inHeight * g.inWidth
        // Channels are independent; split them over the cores when there is enough work.
        let work = channels * k * k * ld
        let parts = work >= 1 << 16 ? min(channels, 2) : 1
        nonisolated(unsafe) let dst = columns
        nonisolated(unsafe) let src = input
        parallelTasks(parts, workers: parts) { part, _ in
            for ci in rowBlock(part, of: parts, rows: channels) {
                for ky in 0..<k {
                    for kx in 0..<k {
                        let valid = g.validColumns(kx: kx)
                        var d = dst + ((ci * k + ky) * k + kx) * ld
                        for r in rows {
                            let bi = r / g.outHeight, oy = r % g.outHeight
                            let iy = oy * s - g.padTop + ky
                            if iy < 0 || iy >= g.inHeight || valid.isEmpty {
                                d.update(repeating: 0, count: ow)
                            } else {
                                let row = src + (ci * batch + bi) * plane + iy * g.inWidth - g.padLeft + kx
                                for ox in 0..<valid.lowerBound { d[ox] = 0 }
                                if s == 1 {
                                    (d + valid.lowerBound).update(from: row + valid.lowerBound, count: valid.count)
                                } else {
                                    for ox in valid { d[ox] = row[ox * s] }
                                }
                                for ox in valid.upperBound..<ow { d[ox] = 0 }
                            }
                            d += ow
                        }
                    }
                }
            }
        }
    }
}
