// The only place that calls OpenBLAS. Every call site passes row-major shapes; the wrappers check
// dimensions and leading dimensions first (as ggml asserts its layout before `cblas_sgemm`), so a
// shape bug stops here with a message instead of reading out of bounds inside BLAS.
import CBLAS
import Dispatch
import Synchronization

public enum BLAS {
    /// Row-major C ← alpha·op(A)·op(B) + beta·C, with op(A) M×K, op(B) K×N, C M×N.
    /// `transA`/`transB` say whether A is stored K×M and B N×K.
    @inlinable
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: negative dimension")
        precondition(lda >= max(1, transA ? m : k), "sgemm: lda \(lda) too small")
        precondition(ldb >= max(1, transB ? k : n), "sgemm: ldb \(ldb) too small")
        precondition(ldc >= max(1, n), "sgemm: ldc \(ldc) too small")
        precondition(m <= Int(Int32.max) && n <= Int(Int32.max) && k <= Int(Int32.max), "sgemm: dimension over Int32")
        if m == 0 || n == 0 { return }
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// Row-major double-precision C ← alpha·op(A)·op(B) + beta·C (same conventions as `sgemm`).
    @inlinable
    public static func dgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "dgemm: negative dimension")
        precondition(lda >= max(1, transA ? m : k), "dgemm: lda \(lda) too small")
        precondition(ldb >= max(1, transB ? k : n), "dgemm: ldb \(ldb) too small")
        precondition(ldc >= max(1, n), "dgemm: ldc \(ldc) too small")
        precondition(m <= Int(Int32.max) && n <= Int(Int32.max) && k <= Int(Int32.max), "dgemm: dimension over Int32")
        if m == 0 || n == 0 { return }
        cblas_dgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// Row-major y ← alpha·op(A)·x + beta·y with A stored M×N (op(A) = Aᵀ when `trans`).
    @inlinable
    public static func sgemv(
        trans: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>
    ) {
        precondition(m >= 0 && n >= 0 && lda >= max(1, n), "sgemv: bad shape \(m)×\(n), lda \(lda)")
        precondition(m <= Int(Int32.max) && n <= Int(Int32.max), "sgemv: dimension over Int32")
        if m == 0 || n == 0 { return }
        cblas_sgemv(
            CblasRowMajor, trans ? CblasTrans : CblasNoTrans, blasint(m), blasint(n), alpha, a, blasint(lda),
            x, 1, beta, y, 1)
    }

    /// Number of threads OpenBLAS uses for one call.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// Runs `body` with OpenBLAS on `count` threads. For regions where our own threads each call small GEMMs:
    /// OpenBLAS's threading would only add synchronisation to them. The setting is process-wide, and regions
    /// overlap when jobs run concurrently (server `workers` > 1), so they are counted: the count from before
    /// the first region comes back when the last one ends, whatever order they end in. (Saving and restoring
    /// per call left OpenBLAS on one thread for good when two regions ended crosswise.) Another thread's GEMM
    /// outside a region but inside that window runs on fewer threads, still correct.
    public static func withThreads<T>(_ count: Int, _ body: () throws -> T) rethrows -> T {
        regions.withLock { state in
            if state.depth == 0 { state.saved = threads }
            state.depth += 1
            threads = count
        }
        defer {
            regions.withLock { state in
                state.depth -= 1
                if state.depth == 0 { threads = state.saved }
            }
        }
        return try body()
    }

    /// Open `withThreads` regions and the thread count to restore when none is left.
    private struct Regions { var depth = 0, saved = 1 }
    private static let regions = Mutex(Regions())

    /// This machine's sgemm rate in flop/s, from the best of `repeats` square multiplications of side `size`
    /// (0.1–0.3 s at the defaults): the rate cost estimates divide by. The tiled distance GEMMs run at
    /// 85–100 % of it (docs/BENCHMARKS.md).
    public static func measureSgemmRate(size n: Int = 768, repeats: Int = 4) -> Double {
        var random = SeededRandom(seed: 1)
        let a = random.normals(n * n), b = random.normals(n * n)
        var c = [Float](repeating: 0, count: n * n)
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            a.withUnsafeBufferPointer { ab in
                b.withUnsafeBufferPointer { bb in
                    c.withUnsafeMutableBufferPointer { cb in
                        sgemm(transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: ab.baseAddress!, lda: n,
                              b: bb.baseAddress!, ldb: n, beta: 0, c: cb.baseAddress!, ldc: n)
                    }
                }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return 2 * Double(n) * Double(n) * Double(n) / best
    }

    /// OpenBLAS's build configuration and the kernel set it picked (e.g. "Haswell"), for benchmark reports.
    public static var configuration: String { "\(String(cString: openblas_get_config())), core \(coreName)" }

    /// The kernel set OpenBLAS picked, e.g. "Haswell" or "Cooperlake".
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS's version, e.g. "0.3.21": the second word of its configuration ("OpenBLAS 0.3.21 …").
    public static var version: String {
        let config = String(cString: openblas_get_config())
        return config.split(separator: " ").dropFirst().first.map(String.init) ?? config
    }
}
