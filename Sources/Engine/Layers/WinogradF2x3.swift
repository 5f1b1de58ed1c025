// Winograd's minimal filtering F(2×2, 3×3) for 3×3, stride-1, padding-1 convolutions (Lavin & Gray,
// "Fast Algorithms for Convolutional Neural Networks", 2016): each 2×2 output tile comes from a 4×4 input
// tile as Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, so the 16 tile positions ξ become 16 independent GEMMs
//   M_ξ (Cout, T) = U_ξ (Cout, Cin) × V_ξ (Cin, T)      T = tiles of the batch
// with 16 multiplies per tile instead of 36 (2.25× fewer flops than im2col). The filter transform U runs
// once at load; the input and output transforms are vectorised across a row of tiles. Rounding error
// grows only slightly (the transform matrices hold 0, ±1 and ±½). On AVX-512 CPUs the transforms' loops run
// in CKernels (masked tails: at layer3's 7 tiles per row the 8-lane Swift loops ran scalar), bit for bit the same.
import CKernels

/// Transforms and tiling of F(2×2, 3×3); `Conv2D` uses it for eligible layers.
enum WinogradF2x3 {
    /// Whether a convolution can take this path.
    static func eligible(kernel: Int, stride: Int, padding: ConvPadding) -> Bool {
        kernel == 3 && stride == 1 && padding == .symmetric(1)
    }

    /// U = G g Gᵀ for every (co, ci), stored as (16, Cout, Cin): one Cout×Cin matrix per tile position.
    /// G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]]. `weights` is (Cout, Cin, 3, 3).
    static func transformFilters(_ weights: [Float], outChannels: Int, inChannels: Int) -> [Float] {
        let pairs = outChannels * inChannels
        /// Row `r` of G applied to the column (a, b, c).
        func g(_ r: Int, _ a: Double, _ b: Double, _ c: Double) -> Double {
            switch r {
            case 0: a
            case 1: 0.5 * (a + b + c)
            case 2: 0.5 * (a - b + c)
            default: c
            }
        }
        var u = [Float](repeating: 0, count: 16 * pairs)
        weights.withUnsafeBufferPointer { w in
            for p in 0..<pairs {
                func at(_ y: Int, _ x: Int) -> Double { Double(w[p * 9 + y * 3 + x]) }
                for r in 0..<4 {
                    // Row r of G g, one value per filter column.
                    let t0 = g(r, at(0, 0), at(1, 0), at(2, 0))
                    let t1 = g(r, at(0, 1), at(1, 1), at(2, 1))
                    let t2 = g(r, at(0, 2), at(1, 2), at(2, 2))
                    for c in 0..<4 { u[(r * 4 + c) * pairs + p] = Float(g(c, t0, t1, t2)) }
                }
            }
        }
        return u
    }

    /// out (Cout, B, H, W) ← act(conv3×3(input) + bias [+ out]); input (Cin, B, H, W); `filters` from
    /// `transformFilters`. Tiles are processed in chunks of tile rows so that V (16, Cin, T) and M (16, Cout, T)
    /// together stay within the workspace's `maxColumnFloats` (slots `.columns` and `.winograd`; `.scratch` for the transforms).
    static func forward(
        _ out: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, filters: [Float], bias: [Float],
        activation: Activation, accumulate: Bool, inChannels: Int, outChannels: Int,
        batch: Int, height: Int, width: Int, workspace: ConvWorkspace
    ) {
        let tilesH = (height + 1) / 2, tilesW = (width + 1) / 2
        let tileRows = batch * tilesH  // one tile row = (image, ty)
        let perTileRow = 16 * (inChannels + outChannels) * tilesW
        let rowsPerChunk = max(1, min(tileRows, workspace.maxColumnFloats / perTileRow))
        let v = workspace.buffer(.columns, count: 16 * inChannels * rowsPerChunk * tilesW)
        let m = workspace.buffer(.winograd, count: 16 * outChannels * rowsPerChunk * tilesW)
        let scratchPerThread = scratchFloats(tilesW: tilesW)
        let scratch = workspace.buffer(.scratch, count: 2 * scratchPerThread)
        let workers = parallelWorkerCount
        BLAS.withThreads(1) {
            filters.withUnsafeBufferPointer { u in
                for r0 in stride(from: 0, to: tileRows, by: rowsPerChunk) {
                    let r1 = min(tileRows, r0 + rowsPerChunk)
                    let t = (r1 - r0) * tilesW  // tiles in this chunk
                    inputTransform(
                        v, input, channels: inChannels, batch: batch, height: height, width: width,
                        tileRows: r0..<r1, scratch: scratch, scratchPerThread: scratchPerThread)
                    // The 16 GEMMs are independent: each core runs its share single-threaded, packing only its own
                    // filters (two-thread GEMMs on few tiles left one OpenBLAS thread spinning through the transforms).
                    parallelTasks(16, workers: workers) { xi, _ in
                        BLAS.sgemm(
                            transA: false, transB: false, m: outChannels, n: t, k: inChannels,
                            alpha: 1, a: u.baseAddress! + xi * outChannels * inChannels, lda: inChannels,
                            b: v + xi * inChannels * t, ldb: t, beta: 0, c: m + xi * outChannels * t, ldc: t)
                    }
                    outputTransform(
                        out, m, bias: bias, activation: activation, accumulate: accumulate, channels: outChannels,
                        batch: batch, height: height, width: width, tileRows: r0..<r1,
                        scratch: scratch, scratchPerThread: scratchPerThread)
                }
            }
        }
    }

    /// Floats of per-thread scratch the transforms need for a row of `tilesW` tiles: the input transform's
    /// four padded rows and a zero row, 4·(2·tilesW + 2) + 2·tilesW; the output transform's 4·tilesW.
    static func scratchFloats(tilesW: Int) -> Int { 10 * tilesW + 8 }

    /// V (16, C, T) for the tile rows `rows` (T = rows.count · tilesW), V_ξ = Bᵀ d B per 4×4 input tile d,
    /// Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]]. Tile (ty, tx) reads input rows
    /// 2ty − 1 … 2ty + 2 and columns 2tx − 1 … 2tx + 2 (zeros outside). The vertical half (Bᵀ d) runs first,
    /// on whole input rows: four contiguous loops of the image width per tile row. The horizontal half then
    /// reads every other column of those four rows, one loop per V_ξ. (Horizontal first split every input
    /// row into odd and even columns twice, once for each tile row that shares it: 6.3 → 4.5 % of WRN50-2's
    /// batch-1 profile.)
    static func inputTransform(
        _ v: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, channels: Int, batch: Int,
        height: Int, width: Int, tileRows rows: Range<Int>, scratch: UnsafeMutablePointer<Float>, scratchPerThread: Int,
        avx512: Bool = VectorKernels.avx512
    ) {
        let tilesH = (height + 1) / 2, tw = (width + 1) / 2
        let t = rows.count * tw
        let parts = channels * t >= 1 << 12 ? 2 : 1
        // Y_i, the vertical transforms, hold columns −1 … 2·tw (index 0 is column −1); the columns outside the
        // image stay zero. `zeros` stands in for the input rows above and below the image.
        let padded = 2 * tw + 2
        nonisolated(unsafe) let vs = v
        nonisolated(unsafe) let src = input
        nonisolated(unsafe) let sc = scratch
        parallelTasks(parts, workers: parts) { part, _ in
            let y = sc + part * scratchPerThread  // (4, padded)
            let zeros = y + 4 * padded            // (width)
            y.update(repeating: 0, count: 4 * padded)
            zeros.update(repeating: 0, count: width)
            let xiStride = channels * t
            for ch in rowBlock(part, of: parts, rows: channels) {
                for (i, r) in rows.enumerated() {
                    let b = r / tilesH, ty = r % tilesH
                    let plane = src + (ch * batch + b) * height * width
                    func row(_ k: Int) -> UnsafePointer<Float> {
                        let iy = 2 * ty - 1 + k
                        return iy >= 0 && iy < height ? plane + iy * width : UnsafePointer(zeros)
                    }
                    let (d0, d1, d2, d3) = (row(0), row(1), row(2), row(3))
                    // Y0 = d0 − d2, Y1 = d1 + d2, Y2 = d2 − d1, Y3 = d1 − d3 (columns 0 ..< width)
                    combine(y + 1, d0, d2, -1, width, avx512)
                    combine(y + padded + 1, d1, d2, 1, width, avx512)
                    combine(y + 2 * padded + 1, d2, d1, -1, width, avx512)
                    combine(y + 3 * padded + 1, d1, d3, -1, width, avx512)
                    // V[4k + j] from Y_k: (c0 − c2, c1 + c2, c2 − c1, c1 − c3) with c_m = Y_k[2tx − 1 + m].
                    let dst = vs + ch * t + i * tw  // V_ξ for this tile row is dst + ξ·C·T
                    for k in 0..<4 {
                        let c = UnsafePointer(y + k * padded)  // c[2tx] is column 2tx − 1
                        let out = dst + 4 * k * xiStride
                        combineEveryOther(out, c, c + 2, -1, tw, avx512)
                        combineEveryOther(out + xiStride, c + 1, c + 2, 1, tw, avx512)
                        combineEveryOther(out + 2 * xiStride, c + 2, c + 1, -1, tw, avx512)
                        combineEveryOther(out + 3 * xiStride, c + 1, c + 3, -1, tw, avx512)
                    }
                }
            }
        }
    }

    /// dst[i] = a[2i] + sign·b[2i] for i < n, sign ±1.
    @inline(__always)
    private static func combineEveryOther(
        _ dst: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ sign: Float, _ n: Int,
        _ avx512: Bool
    ) {
        if avx512 { return ac_combine_every_other_avx512(dst, a, b, sign, Int64(n)) }
        for i in 0..<n { dst[i] = a[2 * i] + sign * b[2 * i] }
    }

    /// dst[i] = a[i] + sign·b[i] for i < n, sign ±1 (so exactly a ± b). One loop per output row, with one
    /// store and two loads: LLVM vectorises it behind a single overlap check, while one loop writing four
    /// rows (and reading more) stayed scalar.
    @inline(__always)
    private static func combine(
        _ dst: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ sign: Float, _ n: Int,
        _ avx512: Bool
    ) {
        if avx512 { return ac_combine_avx512(dst, a, b, sign, Int64(n)) }
        for i in 0..<n { dst[i] = a[i] + sign * b[i] }
    }

    /// out (C, B, H, W) ← act(Aᵀ M A + bias [+ out]) for the tile rows `rows`; M is (16, C, T).
    /// Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]]; a tile's outputs past the bottom or right edge are dropped.
    /// The four outputs of every tile are computed as vectors over tx, then interleaved into the rows.
    static func outputTransform(
        _ out: UnsafeMutablePointer<Float>, _ m: UnsafePointer<Float>, bias: [Float], activation: Activation,
        accumulate: Bool, channels: Int, batch: Int, height: Int, width: Int, tileRows rows: Range<Int>,
        scratch: UnsafeMutablePointer<Float>, scratchPerThread: Int, avx512: Bool = VectorKernels.avx512
    ) {
        let tilesH = (height + 1) / 2, tw = (width + 1) / 2
        let t = rows.count * tw
        let parts = channels * t >= 1 << 12 ? 2 : 1
        nonisolated(unsafe) let dst = out
        nonisolated(unsafe) let ms = m
        nonisolated(unsafe) let sc = scratch
        bias.withUnsafeBufferPointer { biasBuffer in
            nonisolated(unsafe) let bp = biasBuffer.baseAddress!
            parallelTasks(parts, workers: parts) { part, _ in
                let xiStride = channels * t
                let y00 = sc + part * scratchPerThread, y01 = y00 + tw, y10 = y01 + tw, y11 = y10 + tw
                for co in rowBlock(part, of: parts, rows: channels) {
                    let bv = bp[co]
                    for (i, r) in rows.enumerated() {
                        let b = r / tilesH, ty = r % tilesH
                        let src = ms + co * t + i * tw  // M_ξ for this tile row: src + ξ·C·T
                        let plane = dst + (co * batch + b) * height * width
                        if avx512 {
                            ac_winograd_output_row_avx512(
                                plane + 2 * ty * width, 2 * ty + 1 < height ? plane + (2 * ty + 1) * width : nil,
                                src, Int64(xiStride), Int64(tw), Int64(width), bv, activation.code, accumulate ? 1 : 0)
                            continue
                        }
                        func mrow(_ xi: Int) -> UnsafePointer<Float> { src + xi * xiStride }
                        let (m0, m1, m2, m3) = (mrow(0), mrow(1), mrow(2), mrow(3))
                        let (m4, m5, m6, m7) = (mrow(4), mrow(5), mrow(6), mrow(7))
                        let (m8, m9, m10, m11) = (mrow(8), mrow(9), mrow(10), mrow(11))
                        let (m12, m13, m14, m15) = (mrow(12), mrow(13), mrow(14), mrow(15))
                        for tx in 0..<tw {
                            // s0_j = m0j + m1j + m2j, s1_j = m1j − m2j − m3j (rows of the 4×4 tile), then over j.
                            let s00 = m0[tx] + m4[tx] + m8[tx], s10 = m4[tx] - m8[tx] - m12[tx]
                            let s01 = m1[tx] + m5[tx] + m9[tx], s11 = m5[tx] - m9[tx] - m13[tx]
                            let s02 = m2[tx] + m6[tx] + m10[tx], s12 = m6[tx] - m10[tx] - m14[tx]
                            let s03 = m3[tx] + m7[tx] + m11[tx], s13 = m7[tx] - m11[tx] - m15[tx]
                            y00[tx] = s00 + s01 + s02 + bv
                            y01[tx] = s01 - s02 - s03 + bv
                            y10[tx] = s10 + s11 + s12 + bv
                            y11[tx] = s11 - s12 - s13 + bv
                        }
                        interleave(plane + 2 * ty * width, y00, y01, width: width, activation: activation, accumulate: accumulate)
                        if 2 * ty + 1 < height {
                            interleave(plane + (2 * ty + 1) * width, y10, y11, width: width, activation: activation, accumulate: accumulate)
                        }
                    }
                }
            }
        }
    }

    /// row[2tx] = act(left[tx] [+ row[2tx]]), row[2tx + 1] = act(right[tx] [+ …]) for columns < width.
    @inline(__always)
    private static func interleave(
        _ row: UnsafeMutablePointer<Float>, _ left: UnsafeMutablePointer<Float>, _ right: UnsafeMutablePointer<Float>,
        width: Int, activation: Activation, accumulate: Bool
    ) {
        let pairs = width / 2
        if accumulate {
            for tx in 0..<pairs { row[2 * tx] += left[tx]; row[2 * tx + 1] += right[tx] }
            if width & 1 == 1 { row[width - 1] += left[pairs] }
        } else {
            for tx in 0..<pairs { row[2 * tx] = left[tx]; row[2 * tx + 1] = right[tx] }
            if width & 1 == 1 { row[width - 1] = left[pairs] }
        }
        activation.apply(row, count: width, bias: 0)
    }
}
