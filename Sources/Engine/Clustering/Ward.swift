// Exact Ward agglomerative clustering by the nearest-neighbour chain algorithm (Müllner 2011, as in
// scipy's `linkage(method="ward")`): O(N²) time on a condensed matrix of squared distances kept in
// Double, updated with the Lance–Williams formula. Deterministic: ties prefer the previous chain
// element, then the lowest index — the same rules as scipy.

/// Ward clustering of per-image embeddings into a full merge tree.
public enum Ward {
    /// Builds the whole dendrogram of the N rows of `x`; cut it at any K afterwards.
    ///
    /// Memory: the condensed squared-distance matrix, N(N−1)/2 Doubles (100 MB at N = 5000), plus one
    /// block of 256×N Doubles for the Gram products.
    public static func dendrogram(_ x: ImageEmbeddings) -> Dendrogram {
        let n = x.images
        if n == 1 { return Dendrogram(count: 1, merges: []) }
        var distances = condensedSquaredDistances(x)
        return nearestNeighbourChain(&distances, count: n)
    }

    /// Index of the pair (i, j), i < j, in a condensed N×N matrix (scipy's `condensed_index`).
    @inline(__always)
    static func condensedIndex(_ n: Int, _ i: Int, _ j: Int) -> Int {
        let (a, b) = i < j ? (i, j) : (j, i)
        return n * a - a * (a + 1) / 2 + (b - a - 1)
    }

    /// ‖x_i − x_j‖² for i < j, in Double: ‖x_i‖² + ‖x_j‖² − 2 x_i·x_j from blocked DGEMMs, clamped at 0.
    static func condensedSquaredDistances(_ x: ImageEmbeddings) -> [Double] {
        let n = x.images, d = x.dimensions
        let xd = x.values.map(Double.init)  // (N, D)
        var norms = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var s = 0.0
            for k in 0..<d { s += xd[i * d + k] * xd[i * d + k] }
            norms[i] = s
        }
        var out = [Double](repeating: 0, count: n * (n - 1) / 2)
        let blockRows = 256
        var gram = [Double](repeating: 0, count: min(blockRows, n) * n)  // (blockRows, N)
        xd.withUnsafeBufferPointer { xb in
            gram.withUnsafeMutableBufferPointer { gb in
                for i0 in stride(from: 0, to: n - 1, by: blockRows) {
                    let rows = min(blockRows, n - i0)
                    // gram (rows, N − i0) = X[i0..<i0+rows] · X[i0..<N]ᵀ; only j > i is used.
                    let cols = n - i0
                    BLAS.dgemm(
                        transA: false, transB: true, m: rows, n: cols, k: d, alpha: 1,
                        a: xb.baseAddress! + i0 * d, lda: d, b: xb.baseAddress! + i0 * d, ldb: d,
                        beta: 0, c: gb.baseAddress!, ldc: cols)
                    for r in 0..<rows {
                        let i = i0 + r
                        var idx = condensedIndex(n, i, i + 1)
                        for j in (i + 1)..<n {
                            out[idx] = max(0, norms[i] + norms[j] - 2 * gb[r * cols + (j - i0)])
                            idx += 1
                        }
                    }
                }
            }
        }
        return out
    }

    /// The NN-chain loop over squared Ward distances. Merge heights are reported as scipy does:
    /// √(2·nₐ·n_b/(nₐ+n_b))·‖cₐ − c_b‖, which is the plain Euclidean distance for two single images.
    static func nearestNeighbourChain(_ dist: inout [Double], count n: Int) -> Dendrogram {
        var size = [Int](repeating: 1, count: n)  // 0 once a cluster is merged away
        var chain = [Int]()
        chain.reserveCapacity(n)
        var raw = [(a: Int, b: Int, squared: Double)]()
        raw.reserveCapacity(n - 1)

        dist.withUnsafeMutableBufferPointer { db in
            for _ in 0..<(n - 1) {
                if chain.isEmpty { chain.append(size.firstIndex { $0 > 0 }!) }
                var x = 0, y = 0
                var best = Double.infinity
                while true {
                    x = chain[chain.count - 1]
                    if chain.count > 1 {
                        y = chain[chain.count - 2]
                        best = db[condensedIndex(n, x, y)]
                    } else {
                        best = .infinity
                    }
                    for i in 0..<n where size[i] > 0 && i != x {
                        let value = db[condensedIndex(n, x, i)]
                        if value < best { best = value; y = i }
                    }
                    if chain.count > 1 && y == chain[chain.count - 2] { break }
                    chain.append(y)
                }
                chain.removeLast(2)
                if x > y { swap(&x, &y) }
                let nx = Double(size[x]), ny = Double(size[y])
                raw.append((x, y, best))
                size[x] = 0
                size[y] += Int(nx)
                // Lance–Williams for Ward on squared distances: the merged cluster replaces y.
                for i in 0..<n where size[i] > 0 && i != y {
                    let ni = Double(size[i])
                    let ix = condensedIndex(n, i, x), iy = condensedIndex(n, i, y)
                    db[iy] = ((ni + nx) * db[ix] + (ni + ny) * db[iy] - ni * best) / (ni + nx + ny)
                }
            }
        }

        // Sort by height (stable, as scipy's mergesort), then name clusters as scipy does: leaves
        // 0..<N, the cluster made by merge t is N + t.
        let order = raw.indices.sorted { (raw[$0].squared, $0) < (raw[$1].squared, $1) }
        var parent = [Int](repeating: -1, count: 2 * n - 1)
        func root(_ v: Int) -> Int {
            var r = v
            while parent[r] >= 0 { r = parent[r] }
            var c = v
            while parent[c] >= 0 { let next = parent[c]; parent[c] = r; c = next }
            return r
        }
        var merges = [Dendrogram.Merge]()
        var sizes = [Int](repeating: 1, count: 2 * n - 1)
        for (t, k) in order.enumerated() {
            let ra = root(raw[k].a), rb = root(raw[k].b)
            let id = n + t
            parent[ra] = id
            parent[rb] = id
            sizes[id] = sizes[ra] + sizes[rb]
            merges.append(.init(
                first: min(ra, rb), second: max(ra, rb), height: max(0, raw[k].squared).squareRoot(), size: sizes[id]))
        }
        return Dendrogram(count: n, merges: merges)
    }
}
