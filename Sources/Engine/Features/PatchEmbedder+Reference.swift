// The straightforward version of `PatchEmbedder.embed`, step by step as the reference orders them:
// standardise, materialise the 3×3 unfold, upsample each unfolded channel, pool to Dp, concatenate, pool
// to Dt — in Double. Tests compare the fast path against it on random shapes; it is far too slow and
// memory-hungry (P·L values per layer) for real images.

extension PatchEmbedder {
    /// Patch embeddings (P, Dt) row-major, computed in Double in the reference's order of operations.
    /// `layers` must match `layerShapes` (checked with preconditions: this is test code).
    func referenceEmbed(_ layers: [FeatureMap]) -> [Double] {
        precondition(layers.map(\.shape) == layerShapes, "reference embed: layer shapes differ")
        let H0 = gridHeight, W0 = gridWidth, P = patches, Dp = pretrainDimension
        var stacked = [Double](repeating: 0, count: P * layers.count * Dp)  // (P, layers·Dp)

        for (index, layer) in layers.enumerated() {
            let C = layer.channels, h = layer.height, w = layer.width, L = 9 * C
            // Standardise over the whole map (biased variance).
            let x = layer.values.map(Double.init)  // (C, h, w)
            let mean = x.reduce(0, +) / Double(x.count)
            let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count)
            let standardized = x.map { ($0 - mean) / (variance + 1e-5).squareRoot() }

            // Unfold: (h·w, L), entry (c, ky, kx) of position (y, x) is map (c, y+ky−1, x+kx−1) or 0.
            var unfolded = [Double](repeating: 0, count: h * w * L)
            for y in 0..<h {
                for x in 0..<w {
                    for c in 0..<C {
                        for ky in 0..<3 {
                            for kx in 0..<3 {
                                let sy = y + ky - 1, sx = x + kx - 1
                                guard sy >= 0, sy < h, sx >= 0, sx < w else { continue }
                                unfolded[(y * w + x) * L + c * 9 + ky * 3 + kx] = standardized[(c * h + sy) * w + sx]
                            }
                        }
                    }
                }
            }

            // Bring every unfolded channel to the first layer's grid: (P, L).
            var onGrid = unfolded
            if h != H0 || w != W0 {
                let rowTaps = BilinearTaps(inputSize: h, outputSize: H0).taps
                let columnTaps = BilinearTaps(inputSize: w, outputSize: W0).taps
                onGrid = [Double](repeating: 0, count: P * L)
                for y in 0..<H0 {
                    let ty = rowTaps[y]
                    for x in 0..<W0 {
                        let tx = columnTaps[x]
                        let wy0 = Double(ty.lowerWeight), wy1 = Double(ty.upperWeight)
                        let wx0 = Double(tx.lowerWeight), wx1 = Double(tx.upperWeight)
                        let a = (ty.lower * w + tx.lower) * L, b = (ty.lower * w + tx.upper) * L
                        let c = (ty.upper * w + tx.lower) * L, d = (ty.upper * w + tx.upper) * L
                        for j in 0..<L {
                            onGrid[(y * W0 + x) * L + j] = wy0 * (wx0 * unfolded[a + j] + wx1 * unfolded[b + j])
                                + wy1 * (wx0 * unfolded[c + j] + wx1 * unfolded[d + j])
                        }
                    }
                }
            }

            // Pool each position's L values to Dp, into this layer's block of the concatenation.
            let pooling = AdaptiveAveragePooling(inputLength: L, outputLength: Dp)
            for p in 0..<P {
                for (i, window) in pooling.windows.enumerated() {
                    let sum = window.reduce(0.0) { $0 + onGrid[p * L + $1] }
                    stacked[p * layers.count * Dp + index * Dp + i] = sum / Double(window.count)
                }
            }
        }

        // Aggregate: pool each position's layers·Dp values to Dt.
        let K = layers.count * Dp
        var z = [Double](repeating: 0, count: P * targetDimension)  // (P, Dt)
        let pooling = AdaptiveAveragePooling(inputLength: K, outputLength: targetDimension)
        for p in 0..<P {
            for (i, window) in pooling.windows.enumerated() {
                z[p * targetDimension + i] = window.reduce(0.0) { $0 + stacked[p * K + $1] } / Double(window.count)
            }
        }
        return z
    }
}
