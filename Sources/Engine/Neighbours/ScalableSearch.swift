// The scalable mode's two pieces (see NeighbourSearch.swift): the unsupervised mean over M sampled other
// images, on a seeded random ring, one P×P GEMM per unordered pair; and the seeded random projection.

extension NearestPatchDistances {
    /// s[i, m] = mean over the M references of image i of min over n of ‖z[i, m] − z[j, n]‖, where the
    /// references are the M/2 images on each side of i in a seeded shuffled order (a ring). With M ≥ N − 1
    /// (or nil) this is `meanOverOtherImages`, bit for bit.
    /// - Parameters: as `meanOverOtherImages`; `shouldContinue` false leaves an incomplete result.
    public static func meanOverSampledImages(
        _ z: PatchEmbeddings, references: Int?, seed: UInt64, progress: ((Double) -> Void)? = nil,
        shouldContinue: (() -> Bool)? = nil
    ) -> [Float] {
        let n = z.images, p = z.patches, d = z.dimensions
        let m = NeighbourSearch(references: references).referenceCount(images: n)
        guard m < n - 1 else {
            return meanOverOtherImages(z, progress: progress, shouldContinue: shouldContinue)
        }
        let half = m / 2  // 1 ≤ half, 2·half < N − 1: the pair (ring[q], ring[q + k]) for k ≤ half occurs once
        let ring = ringOrder(images: n, seed: seed)
        let norms = squaredNorms(z.values, rows: n * p, dimensions: d)
        var tile = [Float](repeating: 0, count: p * p)
        var columnMinima = [Float](repeating: 0, count: p)
        var sums = [Double](repeating: 0, count: n * p)
        let totalPairs = Double(n * half)
        var pairsDone = 0
        z.values.withUnsafeBufferPointer { zb in
            tile.withUnsafeMutableBufferPointer { tb in
                columnMinima.withUnsafeMutableBufferPointer { cb in
                    sums.withUnsafeMutableBufferPointer { sb in
                        norms.withUnsafeBufferPointer { nb in
                            for q in 0..<n {
                                let i = ring[q]
                                for k in 1...half {
                                    let j = ring[(q + k) % n]
                                    // tile (P, P) = −2 · z_i · z_jᵀ
                                    BLAS.sgemm(
                                        transA: false, transB: true, m: p, n: p, k: d, alpha: -2,
                                        a: zb.baseAddress! + i * p * d, lda: d, b: zb.baseAddress! + j * p * d, ldb: d,
                                        beta: 0, c: tb.baseAddress!, ldc: p)
                                    reducePair(
                                        tile: tb.baseAddress!, ldt: p, patches: p, rowNorms: nb.baseAddress! + i * p,
                                        columnNorms: nb.baseAddress! + j * p, rowSums: sb.baseAddress! + i * p,
                                        columnSums: sb.baseAddress! + j * p, columnMinima: cb.baseAddress!)
                                    pairsDone += 1
                                }
                                progress?(Double(pairsDone) / totalPairs)
                                if let shouldContinue, !shouldContinue() { return }
                            }
                        }
                    }
                }
            }
        }
        let scale = 1 / Double(m)
        return sums.map { Float($0 * scale) }
    }

    /// A seeded shuffle of 0..<n (Fisher–Yates over SplitMix64, written out so that the order does not
    /// depend on the standard library's shuffle): the ring the references are taken from.
    static func ringOrder(images n: Int, seed: UInt64) -> [Int] {
        var order = Array(0..<n)
        var random = SeededRandom(seed: seed)
        for i in stride(from: n - 1, to: 0, by: -1) {
            let j = Int(random.next().multipliedFullWidth(by: UInt64(i + 1)).high)  // uniform in 0...i
            order.swapAt(i, j)
        }
        return order
    }
}

extension PatchEmbeddings {
    /// Z·R for a seeded Gaussian R (D, d) with N(0, 1/d) entries: the same patches in d dimensions with the
    /// expected squared distances kept. The same seed and D give the same R, so a batch and its normal
    /// references projected with one seed live in one space.
    public func projected(to dims: Int, seed: UInt64) -> PatchEmbeddings {
        precondition(dims >= 1, "projection to \(dims) dimensions")
        var random = SeededRandom(seed: seed ^ 0x5052_4F4A)  // "PROJ": apart from the ring's stream
        let r = random.normals(dimensions * dims, scale: 1 / Double(dims).squareRoot())  // (D, d)
        var out = [Float](repeating: 0, count: images * patches * dims)
        values.withUnsafeBufferPointer { zb in
            r.withUnsafeBufferPointer { rb in
                out.withUnsafeMutableBufferPointer { ob in
                    BLAS.sgemm(
                        transA: false, transB: false, m: images * patches, n: dims, k: dimensions, alpha: 1,
                        a: zb.baseAddress!, lda: dimensions, b: rb.baseAddress!, ldb: dims, beta: 0,
                        c: ob.baseAddress!, ldc: dims)
                }
            }
        }
        return PatchEmbeddings(unchecked: images, patches, dims, out)
    }
}
