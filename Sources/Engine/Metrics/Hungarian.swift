// Kuhn–Munkres (Hungarian) optimal assignment on a rectangular cost matrix.
// Used to match predicted clusters to ground-truth classes for the matched F1 score, and usable
// anywhere else a one-to-one assignment is needed. Implements the O(n²m) shortest-augmenting-path
// variant with row/column potentials (as described on e-maxx / cp-algorithms), on a flat
// row-major buffer so no per-row arrays are allocated.

/// Optimal one-to-one assignment between the rows and columns of a cost matrix.
///
/// Matrices are flat row-major `[Double]` buffers with explicit `rows` and `cols`; any shape is
/// accepted. Exactly `min(rows, cols)` pairs are matched, like `scipy.optimize.linear_sum_assignment`.
public enum Hungarian {
    /// Returns, for every row, the column assigned to it (or `nil` if the row is left unmatched)
    /// such that the sum of the matched costs is minimal.
    ///
    /// - Parameters:
    ///   - cost: Row-major matrix of `rows * cols` finite costs; entry `(r, c)` is `cost[r * cols + c]`.
    ///     Negative costs are fine. Forbidden pairs should use a large finite cost: infinities and
    ///     NaN are rejected because the potential updates would stop being meaningful.
    ///   - rows: Number of rows (≥ 0).
    ///   - cols: Number of columns (≥ 0).
    /// - Returns: An array of length `rows`. When `rows <= cols` every row is matched; when
    ///   `rows > cols` exactly `cols` rows are matched and the rest are `nil`. Among equal-cost
    ///   optima the choice is unspecified (it may differ from SciPy's).
    public static func minimumCostAssignment(cost: [Double], rows: Int, cols: Int) -> [Int?] {
        precondition(rows >= 0 && cols >= 0, "Hungarian: negative dimensions \(rows)×\(cols)")
        precondition(cost.count == rows * cols, "Hungarian: cost has \(cost.count) entries, expected \(rows)×\(cols)")
        precondition(cost.allSatisfy { $0.isFinite }, "Hungarian: costs must be finite")
        var result = [Int?](repeating: nil, count: rows)
        if rows == 0 || cols == 0 { return result }

        // The algorithm needs n ≤ m (every one of the n "left" vertices gets matched). For tall
        // matrices we solve the transpose by reading the buffer with swapped strides instead of copying.
        let transposed = rows > cols
        let n = transposed ? cols : rows
        let m = transposed ? rows : cols
        let rowStride = transposed ? 1 : cols   // step in `cost` for one left-vertex index
        let colStride = transposed ? cols : 1   // step in `cost` for one right-vertex index

        // 1-based arrays as in the classic formulation; index 0 of the right side is a virtual
        // column that holds the row currently being inserted. All buffers are allocated once.
        var u = [Double](repeating: 0, count: n + 1)       // left potentials
        var v = [Double](repeating: 0, count: m + 1)       // right potentials
        var matchOfColumn = [Int](repeating: 0, count: m + 1)  // left vertex matched to column j (0 = free)
        var way = [Int](repeating: 0, count: m + 1)        // previous column on the alternating path
        var minReduced = [Double](repeating: 0, count: m + 1)
        var used = [Bool](repeating: false, count: m + 1)

        cost.withUnsafeBufferPointer { a in
            for i in 1...n {
                matchOfColumn[0] = i
                var j0 = 0
                for j in 0...m {
                    minReduced[j] = .infinity
                    used[j] = false
                }
                // Dijkstra-like growth of the alternating tree until a free column is reached.
                repeat {
                    used[j0] = true
                    let i0 = matchOfColumn[j0]
                    let rowBase = (i0 - 1) * rowStride
                    var delta = Double.infinity
                    var j1 = 0
                    for j in 1...m where !used[j] {
                        let reduced = a[rowBase + (j - 1) * colStride] - u[i0] - v[j]
                        if reduced < minReduced[j] {
                            minReduced[j] = reduced
                            way[j] = j0
                        }
                        if minReduced[j] < delta {
                            delta = minReduced[j]
                            j1 = j
                        }
                    }
                    // Shift potentials so the tightest edge becomes tight while keeping all
                    // reduced costs non-negative and matched edges tight.
                    for j in 0...m {
                        if used[j] {
                            u[matchOfColumn[j]] += delta
                            v[j] -= delta
                        } else {
                            minReduced[j] -= delta
                        }
                    }
                    j0 = j1
                } while matchOfColumn[j0] != 0
                // Flip the augmenting path back to the virtual column.
                repeat {
                    let j1 = way[j0]
                    matchOfColumn[j0] = matchOfColumn[j1]
                    j0 = j1
                } while j0 != 0
            }
        }

        for j in 1...m where matchOfColumn[j] != 0 {
            let left = matchOfColumn[j] - 1
            let right = j - 1
            if transposed {
                result[right] = left
            } else {
                result[left] = right
            }
        }
        return result
    }

    /// Returns, for every row, the column assigned to it (or `nil`) such that the sum of the matched
    /// weights is maximal. Exactly `min(rows, cols)` pairs are matched, even if some weights are
    /// negative (a maximum-weight *perfect-as-possible* matching, not one that may skip pairs).
    ///
    /// - Parameters:
    ///   - weight: Row-major matrix of `rows * cols` finite weights.
    ///   - rows: Number of rows (≥ 0).
    ///   - cols: Number of columns (≥ 0).
    public static func maximumWeightAssignment(weight: [Double], rows: Int, cols: Int) -> [Int?] {
        // Negation is exact in floating point, so this is the same problem with no rounding added.
        var negated = weight
        for k in negated.indices { negated[k] = -negated[k] }
        return minimumCostAssignment(cost: negated, rows: rows, cols: cols)
    }
}
