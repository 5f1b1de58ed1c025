// Nearest-patch distances between bags of patch embeddings — the O(N²·P²·D) heart of the patch
// weights (ALGORITHM.md §5). Each tile is one GEMM: d²(a, b) = ‖a‖² + ‖b‖² − 2a·b; minima are taken
// straight out of the tile, clamped at 0, and the square root comes last. The full NP×NP distance
// matrix is never formed. Peak extra memory: one tile of max(`tileFloats`, P²) Floats (16 MiB by
// default) plus the squared norms (N·P Floats), the running sums (N·P Doubles) and P Floats of minima.

// The minima use `replace(with:where:)`: measured at 0.5 ns per tile element, where `pointwiseMin`
// (not lowered to a vector min by Swift 6.3) took 3.5 ns — a fifth of the GEMM's time. On AVX-512 CPUs both
// reductions run in CKernels (16 lanes, the same minima bit for bit).
import CKernels

/// Where an exact unsupervised search stands: every pair (i, j) with i < `nextImage` is done, and `sums`
/// (N, P) holds their nearest-patch distances summed per patch.
public struct ExactSearchState: Sendable, Equatable {
    public var nextImage: Int
    public var sums: [Double]
    public init(nextImage: Int, sums: [Double]) {
        self.nextImage = nextImage
        self.sums = sums
    }

    /// Whether this can be a state of the search over N images of P patches: N·P sums, each finite and ≥ 0,
    /// and `nextImage` at the end of one of its blocks of rows. A state read back from storage is checked first.
    public func fits(images n: Int, patches p: Int) -> Bool {
        guard n >= 2, sums.count == n * p, nextImage >= 0, nextImage <= n else { return false }
        let rowImages = NearestPatchDistances.rowImages(images: n, patches: p)
        guard nextImage % rowImages == 0 || nextImage == n else { return false }
        return sums.allSatisfy { $0.isFinite && $0 >= 0 }
    }
}

/// How an exact unsupervised search outlives the process running it: it starts from `state` (handed to
/// `save` by an earlier run on the same embeddings; ignored unless it `fits`) and hands its state to `save`
/// after each block of rows.
public struct SearchResumption {
    public var state: ExactSearchState?
    public var save: (ExactSearchState) -> Void
    public init(state: ExactSearchState?, save: @escaping (ExactSearchState) -> Void) {
        self.state = state
        self.save = save
    }
}

/// Nearest-neighbour distances from every patch of a batch to other bags of patches.
/// Shapes: N images, P patches per image, D dimensions; results are (N, P) row-major.
public enum NearestPatchDistances {
    /// Default tile budget in Floats (16 MiB): large enough that each GEMM runs near OpenBLAS's peak.
    public static let defaultTileFloats = 4 << 20

    /// s[i, m] = mean over every other image j ≠ i of min over n of ‖z[i, m] − z[j, n]‖.
    ///
    /// Symmetry halves the work: the tile of images (i, j) with i < j holds −2·z_i·z_jᵀ, whose row
    /// minima are i's distances to j and whose column minima are j's distances to i, so every unordered
    /// pair of images is multiplied once.
    /// - Parameters:
    ///   - progress: called after each tile with the fraction done (0…1).
    ///   - shouldContinue: polled after each tile; once it returns false the search stops and the result
    ///     is incomplete: the caller discards it (`PatchWeights.scores` throws `.cancelled`).
    ///   - resumingFrom: a state handed to `checkpoint` by an earlier call on the same z and tile budget;
    ///     the search continues from it and ends with the same scores, bit for bit, as one uninterrupted call.
    ///   - checkpoint: called after each block of rows with the state so far (hours-long searches survive
    ///     a restart this way).
    ///   - reductionWorkers: threads that each multiply one row image of a tile and take its minima
    ///     (`searchTile`); counts differ only in the GEMMs' last-bit rounding.
    public static func meanOverOtherImages(
        _ z: PatchEmbeddings, tileFloats: Int = defaultTileFloats, progress: ((Double) -> Void)? = nil,
        shouldContinue: (() -> Bool)? = nil, resumingFrom: ExactSearchState? = nil,
        checkpoint: ((ExactSearchState) -> Void)? = nil, reductionWorkers: Int = parallelWorkerCount
    ) -> [Float] {
        let n = z.images, p = z.patches, d = z.dimensions
        precondition(n >= 2, "the unsupervised mean needs at least two images")
        let norms = squaredNorms(z.values, rows: n * p, dimensions: d)  // (N·P)
        let rowImages = rowImages(images: n, patches: p)
        let colImages = max(1, tileFloats / (rowImages * p * p))
        var tile = [Float](repeating: 0, count: rowImages * p * colImages * p)  // (rowImages·P, colImages·P)
        var columnMinima = [Float](repeating: 0, count: max(1, reductionWorkers) * p)  // P per worker
        var roots = [Double](repeating: 0, count: rowImages * colImages * 2 * p)  // searchTile's per-pair minima
        var sums = [Double](repeating: 0, count: n * p)  // (N, P): Σ_j min_n d
        var firstRow = 0
        if let resumingFrom {
            precondition(resumingFrom.fits(images: n, patches: p), "the search state is not one of this batch's (check fits first)")
            sums = resumingFrom.sums
            firstRow = resumingFrom.nextImage
        }
        let totalPairs = Double(n * (n - 1) / 2)
        var pairsDone = firstRow * (2 * n - firstRow - 1) / 2  // pairs (i, j > i) with i < firstRow

        z.values.withUnsafeBufferPointer { zb in
            tile.withUnsafeMutableBufferPointer { tb in
                columnMinima.withUnsafeMutableBufferPointer { cb in
                  roots.withUnsafeMutableBufferPointer { rb in
                    sums.withUnsafeMutableBufferPointer { sb in
                        norms.withUnsafeBufferPointer { nb in
                            for i0 in stride(from: firstRow, to: n - 1, by: rowImages) {
                                let i1 = min(i0 + rowImages, n)
                                // Equal column blocks: no small remainder GEMM at the end of a row.
                                let remaining = n - (i0 + 1)
                                let blocks = (remaining + colImages - 1) / colImages
                                let width = (remaining + blocks - 1) / blocks
                                for j0 in stride(from: i0 + 1, to: n, by: width) {
                                    let j1 = min(j0 + width, n)
                                    searchTile(
                                        z: zb.baseAddress!, dimensions: d, patches: p, images: i0, i1, against: j0, j1,
                                        norms: nb.baseAddress!, sums: sb.baseAddress!, tile: tb.baseAddress!,
                                        roots: rb.baseAddress!, columnMinima: cb.baseAddress!, workers: reductionWorkers)
                                    for i in i0..<i1 { pairsDone += max(0, j1 - max(j0, i + 1)) }
                                    progress?(Double(pairsDone) / totalPairs)
                                    if let shouldContinue, !shouldContinue() { return }
                                }
                                if let checkpoint {
                                    checkpoint(ExactSearchState(nextImage: i1, sums: Array(sb)))
                                }
                            }
                        }
                    }
                  }
                }
            }
        }
        let scale = 1 / Double(n - 1)
        return sums.map { Float($0 * scale) }
    }

    /// Images per block of rows of `meanOverOtherImages`: enough for ≥ 512 GEMM rows (the column block is
    /// what the tile budget leaves). Checkpoints fall at the ends of these blocks.
    public static func rowImages(images n: Int, patches p: Int) -> Int { max(1, min(n - 1, 2048 / p)) }

    /// s[i, m] = min over every patch r of every reference image of ‖z[i, m] − r‖.
    /// - Parameters:
    ///   - progress: called after each tile with the fraction done (0…1).
    ///   - shouldContinue: as for `meanOverOtherImages`: false stops the search, leaving an incomplete result.
    public static func minimumToReferences(
        _ z: PatchEmbeddings, references: PatchEmbeddings, tileFloats: Int = defaultTileFloats,
        progress: ((Double) -> Void)? = nil, shouldContinue: (() -> Bool)? = nil
    ) -> [Float] {
        precondition(z.dimensions == references.dimensions, "references have a different dimension")
        let n = z.images, p = z.patches, d = z.dimensions
        let r = references.images, rp = references.patches
        let norms = squaredNorms(z.values, rows: n * p, dimensions: d)  // (N·P)
        let referenceNorms = squaredNorms(references.values, rows: r * rp, dimensions: d)  // (R·RP)
        let rowImages = max(1, min(n, 2048 / p))
        let colImages = max(1, min(r, tileFloats / (rowImages * p * rp)))
        var tile = [Float](repeating: 0, count: rowImages * p * colImages * rp)  // (rowImages·P, colImages·RP)
        var minima = [Float](repeating: 0, count: rowImages * p)  // running min of (‖r‖² − 2z·r) per row
        var scores = [Float](repeating: 0, count: n * p)  // (N, P)
        let totalTiles = Double(((n + rowImages - 1) / rowImages) * ((r + colImages - 1) / colImages))
        var tilesDone = 0

        z.values.withUnsafeBufferPointer { zb in
            references.values.withUnsafeBufferPointer { rb in
                tile.withUnsafeMutableBufferPointer { tb in
                    minima.withUnsafeMutableBufferPointer { mb in
                        for i0 in stride(from: 0, to: n, by: rowImages) {
                            let i1 = min(i0 + rowImages, n)
                            let rows = (i1 - i0) * p
                            for k in 0..<rows { mb[k] = .infinity }
                            for j0 in stride(from: 0, to: r, by: colImages) {
                                let j1 = min(j0 + colImages, r)
                                let cols = (j1 - j0) * rp
                                // tile (rows, cols) = −2 · Z[i0..<i1] · R[j0..<j1]ᵀ
                                BLAS.sgemm(
                                    transA: false, transB: true, m: rows, n: cols, k: d, alpha: -2,
                                    a: zb.baseAddress! + i0 * p * d, lda: d,
                                    b: rb.baseAddress! + j0 * rp * d, ldb: d,
                                    beta: 0, c: tb.baseAddress!, ldc: cols)
                                referenceNorms.withUnsafeBufferPointer { rn in
                                    for row in 0..<rows {
                                        let m = rowMinimum(
                                            tb.baseAddress! + row * cols, plus: rn.baseAddress! + j0 * rp, count: cols)
                                        if m < mb[row] { mb[row] = m }
                                    }
                                }
                                tilesDone += 1
                                progress?(Double(tilesDone) / totalTiles)
                                if let shouldContinue, !shouldContinue() { return }
                            }
                            for k in 0..<rows {
                                let row = i0 * p + k
                                scores[row] = (max(0, mb[k] + norms[row])).squareRoot()
                            }
                        }
                    }
                }
            }
        }
        return scores
    }

    /// ‖row‖² for each of `rows` contiguous rows of length `dimensions`.
    static func squaredNorms(_ values: [Float], rows: Int, dimensions: Int) -> [Float] {
        var norms = [Float](repeating: 0, count: rows)
        values.withUnsafeBufferPointer { vb in
            for row in 0..<rows {
                let v = vb.baseAddress! + row * dimensions
                var acc = SIMD8<Float>(repeating: 0)
                var k = 0
                while k + 8 <= dimensions {
                    let x = UnsafeRawPointer(v + k).loadUnaligned(as: SIMD8<Float>.self)
                    acc.addProduct(x, x)
                    k += 8
                }
                var total = acc.sum()
                while k < dimensions { total += v[k] * v[k]; k += 1 }
                norms[row] = total
            }
        }
        return norms
    }

    /// min over n of (g[n] + add[n]). `avx512` picks the kernel.
    @inline(__always)
    static func rowMinimum(
        _ g: UnsafePointer<Float>, plus add: UnsafePointer<Float>, count: Int, avx512: Bool = VectorKernels.avx512
    ) -> Float {
        if avx512 { return ac_row_minimum_avx512(g, add, Int64(count)) }
        var best = SIMD8<Float>(repeating: .infinity)
        var k = 0
        while k + 8 <= count {
            let v = UnsafeRawPointer(g + k).loadUnaligned(as: SIMD8<Float>.self)
                + UnsafeRawPointer(add + k).loadUnaligned(as: SIMD8<Float>.self)
            best.replace(with: v, where: v .< best)
            k += 8
        }
        var m = best.min()
        while k < count { m = min(m, g[k] + add[k]); k += 1 }
        return m
    }

    /// One P×P block of a tile, holding −2·z_i·z_jᵀ: adds √(row minimum) to i's sums and
    /// √(column minimum) to j's sums, in a single pass over the block. `avx512` picks the kernel.
    @inline(__always)
    static func reducePair(
        tile: UnsafePointer<Float>, ldt: Int, patches p: Int,
        rowNorms: UnsafePointer<Float>, columnNorms: UnsafePointer<Float>,
        rowSums: UnsafeMutablePointer<Double>, columnSums: UnsafeMutablePointer<Double>,
        columnMinima: UnsafeMutablePointer<Float>, avx512: Bool = VectorKernels.avx512
    ) {
        if avx512 {
            ac_reduce_pair_avx512(tile, Int64(ldt), Int64(p), rowNorms, columnNorms, rowSums, columnSums, columnMinima)
            return
        }
        for k in 0..<p { columnMinima[k] = .infinity }
        for m in 0..<p {
            let g = tile + m * ldt
            let a = rowNorms[m]
            let aa = SIMD8<Float>(repeating: a)
            var best = SIMD8<Float>(repeating: .infinity)
            var k = 0
            while k + 8 <= p {
                let v = UnsafeRawPointer(g + k).loadUnaligned(as: SIMD8<Float>.self)
                let b = UnsafeRawPointer(columnNorms + k).loadUnaligned(as: SIMD8<Float>.self)
                let s = v + b
                best.replace(with: s, where: s .< best)
                var c = UnsafeRawPointer(columnMinima + k).loadUnaligned(as: SIMD8<Float>.self)
                let t = v + aa
                c.replace(with: t, where: t .< c)
                UnsafeMutableRawPointer(columnMinima + k).storeBytes(of: c, as: SIMD8<Float>.self)
                k += 8
            }
            var rowMin = best.min()
            while k < p {
                let v = g[k]
                rowMin = min(rowMin, v + columnNorms[k])
                columnMinima[k] = min(columnMinima[k], v + a)
                k += 1
            }
            rowSums[m] += Double(max(0, rowMin + a).squareRoot())
        }
        for k in 0..<p {
            columnSums[k] += Double(max(0, columnMinima[k] + columnNorms[k]).squareRoot())
        }
    }

    /// One tile of `meanOverOtherImages`: images i0..<i1 against j0..<j1 (pairs j > i only), its GEMM and its
    /// minima added into `sums`. With as many row images as workers, each worker multiplies its own row image
    /// single-threaded and takes that image's pairs' minima into `roots` (2·P Doubles per pair, from zero, so
    /// each holds exactly the term the serial pass adds); the terms are then added into `sums` in the serial
    /// order. The scores equal the one-thread pass's up to the GEMMs' last-bit rounding (P-row single-thread
    /// GEMMs against one multi-thread GEMM), and are the same bits for a given worker count (checkpoints
    /// resume bit for bit). Otherwise one GEMM on OpenBLAS's threads and the minima on this thread, as before,
    /// where the second core idled during the minima (A/B in one run: 6.50 s → 6.27 s, `make bench`).
    static func searchTile(
        z: UnsafePointer<Float>, dimensions d: Int, patches p: Int, images i0: Int, _ i1: Int, against j0: Int, _ j1: Int,
        norms: UnsafePointer<Float>, sums: UnsafeMutablePointer<Double>, tile: UnsafeMutablePointer<Float>,
        roots: UnsafeMutablePointer<Double>, columnMinima: UnsafeMutablePointer<Float>, workers: Int
    ) {
        let cols = (j1 - j0) * p, width = j1 - j0
        guard workers > 1 && i1 - i0 >= workers else {
            // tile (rows, cols) = −2 · Z[i0..<i1] · Z[j0..<j1]ᵀ
            BLAS.sgemm(
                transA: false, transB: true, m: (i1 - i0) * p, n: cols, k: d, alpha: -2, a: z + i0 * p * d, lda: d,
                b: z + j0 * p * d, ldb: d, beta: 0, c: tile, ldc: cols)
            for i in i0..<i1 {
                for j in stride(from: max(j0, i + 1), to: j1, by: 1) {
                    reducePair(
                        tile: tile + (i - i0) * p * cols + (j - j0) * p, ldt: cols, patches: p,
                        rowNorms: norms + i * p, columnNorms: norms + j * p,
                        rowSums: sums + i * p, columnSums: sums + j * p, columnMinima: columnMinima)
                }
            }
            return
        }
        BLAS.withThreads(1) {
            parallelTasks(i1 - i0, workers: workers) { r, worker in
                let i = i0 + r
                BLAS.sgemm(
                    transA: false, transB: true, m: p, n: cols, k: d, alpha: -2, a: z + i * p * d, lda: d,
                    b: z + j0 * p * d, ldb: d, beta: 0, c: tile + r * p * cols, ldc: cols)
                for j in stride(from: max(j0, i + 1), to: j1, by: 1) {
                    let pair = roots + (r * width + (j - j0)) * 2 * p
                    pair.update(repeating: 0, count: 2 * p)
                    reducePair(
                        tile: tile + r * p * cols + (j - j0) * p, ldt: cols, patches: p,
                        rowNorms: norms + i * p, columnNorms: norms + j * p,
                        rowSums: pair, columnSums: pair + p, columnMinima: columnMinima + worker * p)
                }
            }
        }
        for i in i0..<i1 {
            for j in stride(from: max(j0, i + 1), to: j1, by: 1) {
                let pair = roots + ((i - i0) * width + (j - j0)) * 2 * p
                for m in 0..<p { sums[i * p + m] += pair[m] }
                for k in 0..<p { sums[j * p + k] += pair[p + k] }
            }
        }
    }
}
