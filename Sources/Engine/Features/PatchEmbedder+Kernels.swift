// The loops behind `PatchEmbedder.embed`: standardise into a padded copy, pool shifted planes, resize
// pooled planes, pool stacked rows, transpose. Every buffer is a contiguous Float block with its shape
// written beside it; nothing allocates. Kept apart from the orchestration so that file reads like §4.

extension PatchEmbedder {
    /// Standardises one layer map over all its C·H·W values — (x − mean) / sqrt(biased variance + 1e-5),
    /// the seed's per-layer step (ALGORITHM.md §3) — into `padded`, (C, H+2, W+2), whose one-value border
    /// is zero: the 3×3 unfold's zero padding, applied after standardisation as in the reference.
    /// Mean and variance are accumulated in Double (two passes: a map of 300 k values would lose digits in
    /// Float, and one-pass Σx² cancels badly when the mean is large).
    static func standardize(_ layer: FeatureMap, layerIndex: Int, intoPadded padded: UnsafeMutablePointer<Float>) throws(FeatureError) {
        let C = layer.channels, H = layer.height, W = layer.width
        let Hp = H + 2, Wp = W + 2
        let count = C * H * W
        let (mean, variance) = layer.values.withUnsafeBufferPointer { values in
            let x = values.baseAddress!
            // Four accumulators break the add dependency chain (Double adds are not reassociated for us).
            var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
            var k = 0
            while k + 4 <= count {
                s0 += Double(x[k]); s1 += Double(x[k + 1]); s2 += Double(x[k + 2]); s3 += Double(x[k + 3])
                k += 4
            }
            while k < count { s0 += Double(x[k]); k += 1 }
            let mean = (s0 + s1 + s2 + s3) / Double(count)
            var q0 = 0.0, q1 = 0.0, q2 = 0.0, q3 = 0.0
            k = 0
            while k + 4 <= count {
                let d0 = Double(x[k]) - mean, d1 = Double(x[k + 1]) - mean
                let d2 = Double(x[k + 2]) - mean, d3 = Double(x[k + 3]) - mean
                q0 += d0 * d0; q1 += d1 * d1; q2 += d2 * d2; q3 += d3 * d3
                k += 4
            }
            while k < count { let d = Double(x[k]) - mean; q0 += d * d; k += 1 }
            return (mean, (q0 + q1 + q2 + q3) / Double(count))
        }
        // One non-finite value makes the mean or the variance non-finite; reject the image here rather
        // than hand NaN embeddings downstream.
        guard mean.isFinite, variance.isFinite else {
            throw .nonFinite("layer \(layerIndex) (\(layer.shape)) contains NaN or infinite values")
        }
        // Applied in Double too: rounding the mean to Float first would shift a map whose mean is large
        // against its spread (post-ReLU maps) by up to half an ulp of the mean.
        let scale = 1 / (variance + 1e-5).squareRoot()
        padded.initialize(repeating: 0, count: C * Hp * Wp)
        layer.values.withUnsafeBufferPointer { values in
            let x = values.baseAddress!
            for c in 0..<C {
                for y in 0..<H {
                    let source = x + (c * H + y) * W
                    let destination = padded + (c * Hp + y + 1) * Wp + 1
                    for column in 0..<W { destination[column] = Float((Double(source[column]) - mean) * scale) }
                }
            }
        }
    }

    /// Adaptive-average-pools every position's unfolded vector at once: row i of `rows`, (Dp, H·W), is the
    /// mean over the window's unfold entries j = (c, ky, kx) — channel-major, c·9 + ky·3 + kx, as
    /// `torch.nn.Unfold` flattens — of the padded plane c shifted by (ky, kx). `padded` is (C, H+2, W+2).
    ///
    /// The sums run at the padded row stride W+2 in `scratch`, (H, W+2): a shifted plane is then one
    /// contiguous span of (H−1)·(W+2) + W values, added in a single vectorised loop instead of H short
    /// ones; the two columns per row that fall on padding are dropped when the mean is written out.
    static func pool(_ padded: UnsafePointer<Float>, shape: FeatureShape, _ pooling: AdaptiveAveragePooling,
                     scratch: UnsafeMutablePointer<Float>, into rows: UnsafeMutablePointer<Float>) {
        let H = shape.height, W = shape.width, Wp = W + 2
        let planeCount = (H + 2) * Wp
        let span = (H - 1) * Wp + W  // ends inside the padded plane even for the (2, 2) shift
        for (i, window) in pooling.windows.enumerated() {
            for j in window {
                let c = j / 9, ky = (j % 9) / 3, kx = j % 3
                let plane = padded + c * planeCount + ky * Wp + kx  // entry j of position (0, 0)
                if j == window.lowerBound {
                    scratch.update(from: plane, count: span)
                } else {
                    for p in 0..<span { scratch[p] += plane[p] }
                }
            }
            // PyTorch divides the sum by n; multiplying by 1/n differs by at most an ulp, far inside any
            // tolerance, while the scalar divisions cost as much as all the sums (measured).
            let inverse = 1 / Float(window.count)
            let row = rows + i * H * W  // (H, W)
            for y in 0..<H {
                let sum = scratch + y * Wp, mean = row + y * W
                for x in 0..<W { mean[x] = sum[x] * inverse }
            }
        }
    }

    /// Bilinearly resizes `planes` planes (h, w) in `source` to (H₀, W₀) in `destination`, with PyTorch's
    /// align_corners = False taps. Separable: each source row is first interpolated along x into
    /// `scratch`, (h, W₀), then each output row blends two of those rows. That is PyTorch's own expression
    /// wy0·(wx0·a + wx1·b) + wy1·(wx0·c + wx1·d), evaluated in the same order, with the x-interpolation
    /// shared by the output rows that read the same source row and the y-blend over contiguous rows.
    static func resize(_ source: UnsafePointer<Float>, planes: Int, rows: BilinearTaps, columns: BilinearTaps,
                       scratch: UnsafeMutablePointer<Float>, into destination: UnsafeMutablePointer<Float>) {
        let h = rows.inputSize, w = columns.inputSize, H = rows.outputSize, W = columns.outputSize
        rows.taps.withUnsafeBufferPointer { rowTaps in
            columns.taps.withUnsafeBufferPointer { columnTaps in
                for plane in 0..<planes {
                    let input = source + plane * h * w  // (h, w)
                    let output = destination + plane * H * W  // (H, W)
                    for y in 0..<h {
                        let line = input + y * w, interpolated = scratch + y * W  // (W,)
                        for x in 0..<W {
                            let tap = columnTaps[x]
                            interpolated[x] = tap.lowerWeight * line[tap.lower] + tap.upperWeight * line[tap.upper]
                        }
                    }
                    for y in 0..<H {
                        let tap = rowTaps[y]
                        let top = scratch + tap.lower * W, bottom = scratch + tap.upper * W, line = output + y * W
                        for x in 0..<W { line[x] = tap.lowerWeight * top[x] + tap.upperWeight * bottom[x] }
                    }
                }
            }
        }
    }

    /// Adaptive-average-pools whole rows: row i of `destination`, (O, rowLength), is the mean of the rows
    /// in window i of `source`, (L, rowLength) — the aggregation to Dt, for all patches at once.
    static func poolRows(_ source: UnsafePointer<Float>, rowLength: Int, _ pooling: AdaptiveAveragePooling,
                         into destination: UnsafeMutablePointer<Float>) {
        for (i, window) in pooling.windows.enumerated() {
            let row = destination + i * rowLength
            row.initialize(repeating: 0, count: rowLength)
            for j in window {
                let input = source + j * rowLength
                for p in 0..<rowLength { row[p] += input[p] }
            }
            let inverse = 1 / Float(window.count)
            for p in 0..<rowLength { row[p] *= inverse }
        }
    }

    /// Writes the transpose of `source`, (rows, columns), into `destination`, (columns, rows).
    /// The buffers are megabytes (6.4 MB for Dt = 2048, P = 784) and this is a third of `embed`'s time, so
    /// it moves 4×4 blocks with 16-byte loads and stores. A pass takes 64 source rows (one 16-byte read per
    /// row per step, lines reused by the next 3 steps from L1) and walks all columns, writing 4 destination
    /// rows front to back. Measured for (2048, 784): 0.6 ms, against 1.3–2 ms for scalar tiles and 5 ms
    /// for 32×32 tiles written column by column, whose stores lie 4·Dt bytes (a power of two) apart and
    /// all fall into the same L1 sets.
    static func transpose(_ source: UnsafePointer<Float>, rows: Int, columns: Int,
                          into destination: UnsafeMutablePointer<Float>) {
        let rows4 = rows - rows % 4, columns4 = columns - columns % 4
        let pass = 64
        for r0 in stride(from: 0, to: rows4, by: pass) {
            let r1 = min(r0 + pass, rows4)
            for c in stride(from: 0, to: columns4, by: 4) {
                for r in stride(from: r0, to: r1, by: 4) {
                    let s = UnsafeRawPointer(source + r * columns + c)
                    let a = s.loadUnaligned(as: SIMD4<Float>.self)
                    let b = s.loadUnaligned(fromByteOffset: 4 * columns, as: SIMD4<Float>.self)
                    let e = s.loadUnaligned(fromByteOffset: 8 * columns, as: SIMD4<Float>.self)
                    let f = s.loadUnaligned(fromByteOffset: 12 * columns, as: SIMD4<Float>.self)
                    let d = UnsafeMutableRawPointer(destination + c * rows + r)
                    d.storeBytes(of: SIMD4(a[0], b[0], e[0], f[0]), as: SIMD4<Float>.self)
                    d.storeBytes(of: SIMD4(a[1], b[1], e[1], f[1]), toByteOffset: 4 * rows, as: SIMD4<Float>.self)
                    d.storeBytes(of: SIMD4(a[2], b[2], e[2], f[2]), toByteOffset: 8 * rows, as: SIMD4<Float>.self)
                    d.storeBytes(of: SIMD4(a[3], b[3], e[3], f[3]), toByteOffset: 12 * rows, as: SIMD4<Float>.self)
                }
            }
        }
        // Edges when a dimension is not a multiple of 4: the last rows, then the last columns.
        for r in rows4..<rows {
            for c in 0..<columns { destination[c * rows + r] = source[r * columns + c] }
        }
        for c in columns4..<columns {
            for r in 0..<rows4 { destination[c * rows + r] = source[r * columns + c] }
        }
    }
}
