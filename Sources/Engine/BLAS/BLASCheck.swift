// The start-up check of the BLAS library: every routine and shape class the engine calls, on small random
// inputs, against a float64 reference. OpenBLAS picks its kernels from the CPU at run time, and some builds'
// kernels miscompute on some CPUs (the reason the environment pins OPENBLAS_CORETYPE=Haswell); a server
// that computed wrong clusters silently would be worse than one that refuses to start.
//
// Bound: for a dot product of length k in precision u (2⁻²⁴ float, 2⁻⁵³ double), every ordering, blocking or
// FMA use of it is within γ = (k + 2)·u of the exact result relative to Σ|terms| (Higham, ch. 3). The check
// allows 2γ, so a correct kernel never fails it; a wrong kernel (a lost block, a bad tail, garbage lanes)
// misses by orders of magnitude. The float64 reference sums exactly-representable terms for dgemm (inputs on
// a 1/8 grid), so its own rounding cannot hide or fake an error.
import Foundation

public enum BLASCheck {
    /// One shape class as the engine calls it: row-major, op(A) M×K, op(B) K×N, leading dimensions as given.
    public struct Case: Sendable {
        public var name: String
        public var transA = false, transB = false
        public var m: Int, n: Int, k: Int
        public var lda: Int? = nil, ldb: Int? = nil, ldc: Int? = nil
        public var alpha: Float = 1, beta: Float = 0

        var resolvedLda: Int { lda ?? (transA ? m : k) }
        var resolvedLdb: Int { ldb ?? (transB ? k : n) }
        var resolvedLdc: Int { ldc ?? n }
    }

    /// The sgemm shape classes, named after their callers. Sizes are small (the whole check is ~30 M
    /// multiply-adds with the reference) but cover what differs between kernels: transposes, strides wider
    /// than the matrix, α ≠ 1, β = 1 accumulation, edge tiles (sizes that are not multiples of any register
    /// block), the small-matrix path (≤ 64³) and a call large enough for OpenBLAS to split across threads.
    public static let sgemmCases: [Case] = [
        // 20 M multiply-adds: above OpenBLAS's 65536·4 threshold for splitting a call across threads.
        Case(name: "distance tile (A·Bᵀ, α −2)", transB: true, m: 196, n: 200, k: 512, alpha: -2),
        Case(name: "linear (A·Wᵀ, β 1)", transB: true, m: 67, n: 144, k: 384, beta: 1),
        Case(name: "attention scores (strided A·Bᵀ)", transB: true, m: 65, n: 65, k: 64, lda: 192, ldb: 192,
             alpha: 0.125),
        Case(name: "attention values (strided A·B)", m: 65, n: 64, k: 65, ldb: 192, ldc: 128),
        Case(name: "convolution (A·B, strided B, β 1)", m: 48, n: 97, k: 216, ldb: 101, beta: 1),
        Case(name: "Winograd / projection (A·B)", m: 130, n: 96, k: 160),
        Case(name: "edge tiles", m: 17, n: 13, k: 31),
        Case(name: "small (1×1×1)", m: 1, n: 1, k: 1),
        Case(name: "small (Aᵀ·Bᵀ)", transA: true, transB: true, m: 9, n: 23, k: 5),
    ]
    /// Ward's Gram blocks: X·Xᵀ in double.
    public static let dgemmCases: [Case] = [
        Case(name: "Ward Gram (A·Aᵀ, double)", transB: true, m: 83, n: 83, k: 320),
        Case(name: "edge tiles (double)", m: 7, n: 11, k: 3),
    ]
    /// The α-weighted mean: y = Aᵀ·x, A stored P×D.
    public static let sgemvCases: [(name: String, rows: Int, columns: Int)] = [
        ("weighted mean (Aᵀ·x)", 196, 384), ("weighted mean, edge", 7, 13),
    ]

    /// The routines under test; `.openBLAS` is the library, tests pass deliberately wrong ones.
    public struct Routines: Sendable {
        public var sgemm: @Sendable (Case, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
        public var dgemm: @Sendable (Case, UnsafePointer<Double>, UnsafePointer<Double>, UnsafeMutablePointer<Double>) -> Void
        public var sgemv: @Sendable (Int, Int, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void

        public init(
            sgemm: @escaping @Sendable (Case, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
            dgemm: @escaping @Sendable (Case, UnsafePointer<Double>, UnsafePointer<Double>, UnsafeMutablePointer<Double>) -> Void,
            sgemv: @escaping @Sendable (Int, Int, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
        ) {
            self.sgemm = sgemm
            self.dgemm = dgemm
            self.sgemv = sgemv
        }

        public static let openBLAS = Routines(
            sgemm: { c, a, b, out in
                BLAS.sgemm(transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k, alpha: c.alpha, a: a,
                           lda: c.resolvedLda, b: b, ldb: c.resolvedLdb, beta: c.beta, c: out, ldc: c.resolvedLdc)
            },
            dgemm: { c, a, b, out in
                BLAS.dgemm(transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k, alpha: Double(c.alpha), a: a,
                           lda: c.resolvedLda, b: b, ldb: c.resolvedLdb, beta: Double(c.beta), c: out,
                           ldc: c.resolvedLdc)
            },
            sgemv: { rows, columns, a, x, y in
                BLAS.sgemv(trans: true, m: rows, n: columns, alpha: 1, a: a, lda: columns, x: x, beta: 0, y: y)
            })
    }

    /// What failed: the shape class, its error relative to Σ|terms| and the bound it broke.
    public struct Failure: Sendable, Equatable {
        public var name: String
        public var error: Double, bound: Double
    }

    public struct Report: Sendable {
        /// e.g. "0.3.21" (BLAS.version), the kernel set OpenBLAS picked (e.g. "Haswell",
        /// "Cooperlake") and OPENBLAS_CORETYPE as the process found it.
        public var version: String, coreName: String, coreTypeVariable: String?
        public var cases: Int
        public var failures: [Failure]
        /// The largest error of any case relative to its bound (< 1 passes).
        public var worstRatio: Double
        public var seconds: Double
        public var passed: Bool { failures.isEmpty }

        /// One line for logs and `--version`.
        public var summary: String {
            let head = "OpenBLAS \(version), kernels \(coreName) (OPENBLAS_CORETYPE \(coreTypeVariable ?? "unset"))"
            let tail = String(format: "%d cases, worst error %.3g of its bound, %.0f ms", cases, worstRatio,
                              seconds * 1000)
            if passed { return "\(head): check passed, \(tail)" }
            return "\(head): check FAILED in \(failures.map(\.name).joined(separator: "; ")), \(tail)"
        }

        /// The error a command exits with when the check failed: what, by how much, and the remedy.
        public var refusal: String {
            var what = failures.prefix(3).map { String(format: "%@ (error %.3g, bound %.3g)", $0.name, $0.error, $0.bound) }
            if failures.count > 3 { what.append("\(failures.count - 3) more of the \(cases) shape classes") }
            let remedy: String
            switch coreTypeVariable {
            case nil:
                remedy = "Set OPENBLAS_CORETYPE=Haswell (kernels that compute correctly on every x86-64 CPU with AVX2) and start again."
            case "Haswell"?:
                remedy = "OPENBLAS_CORETYPE=Haswell is set already: install another OpenBLAS build (a newer release) and start again."
            case let other?:
                remedy = "OPENBLAS_CORETYPE=\(other) is set: set OPENBLAS_CORETYPE=Haswell instead and start again."
            }
            return "OpenBLAS \(version) with kernels \(coreName) computes wrong results on this CPU: "
                + what.joined(separator: "; ") + ". Refusing to compute. " + remedy
        }
    }

    /// Runs every case (deterministic inputs) and reports. Well under a second in release builds.
    public static func run(routines: Routines = .openBLAS, seed: UInt64 = 0x424C_4153) -> Report {
        let start = DispatchTime.now().uptimeNanoseconds
        var random = SeededRandom(seed: seed)
        var failures: [Failure] = []
        var worst = 0.0
        func record(_ name: String, _ error: Double, _ bound: Double) {
            // NaN fails too: `!(error <= bound)`.
            if !(error <= bound) { failures.append(Failure(name: name, error: error, bound: bound)) }
            worst = max(worst, error.isNaN ? .infinity : error / bound)
        }
        for c in sgemmCases {
            let (error, bound) = checkSgemm(c, routines.sgemm, &random)
            record(c.name, error, bound)
        }
        for c in dgemmCases {
            let (error, bound) = checkDgemm(c, routines.dgemm, &random)
            record(c.name, error, bound)
        }
        for c in sgemvCases {
            let (error, bound) = checkSgemv(c.rows, c.columns, routines.sgemv, &random)
            record(c.name, error, bound)
        }
        return Report(
            version: BLAS.version, coreName: BLAS.coreName,
            coreTypeVariable: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"],
            cases: sgemmCases.count + dgemmCases.count + sgemvCases.count, failures: failures, worstRatio: worst,
            seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    // Each case fills its matrices (padding included, so a kernel that reads or writes outside op(X)'s
    // columns changes what is compared), runs the routine, and returns max over C of
    // |c − exact| / (|α|·Σ|a·b| + |β·c₀|) and the bound 2·(k + 2)·u.

    private static func checkSgemm(
        _ c: Case, _ routine: (Case, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
        _ random: inout SeededRandom
    ) -> (Double, Double) {
        let aRows = c.transA ? c.k : c.m, bRows = c.transB ? c.n : c.k
        let a = random.normals(aRows * c.resolvedLda), b = random.normals(bRows * c.resolvedLdb)
        let c0 = random.normals(c.m * c.resolvedLdc)
        var out = c0
        a.withUnsafeBufferPointer { ab in
            b.withUnsafeBufferPointer { bb in
                out.withUnsafeMutableBufferPointer { ob in routine(c, ab.baseAddress!, bb.baseAddress!, ob.baseAddress!) }
            }
        }
        let error = compare(c, a: a.map(Double.init), b: b.map(Double.init), c0: c0.map(Double.init),
                            out: out.map(Double.init))
        return (error, 2 * Double(c.k + 2) * 0x1p-24)
    }

    private static func checkDgemm(
        _ c: Case, _ routine: (Case, UnsafePointer<Double>, UnsafePointer<Double>, UnsafeMutablePointer<Double>) -> Void,
        _ random: inout SeededRandom
    ) -> (Double, Double) {
        // On a 1/8 grid in [−4, 4]: products and their sums up to k = 2¹⁶ are exact in double.
        func grid(_ count: Int) -> [Double] { random.normals(count).map { (Double(max(-4, min(4, $0))) * 8).rounded() / 8 } }
        let aRows = c.transA ? c.k : c.m, bRows = c.transB ? c.n : c.k
        let a = grid(aRows * c.resolvedLda), b = grid(bRows * c.resolvedLdb), c0 = grid(c.m * c.resolvedLdc)
        var out = c0
        a.withUnsafeBufferPointer { ab in
            b.withUnsafeBufferPointer { bb in
                out.withUnsafeMutableBufferPointer { ob in routine(c, ab.baseAddress!, bb.baseAddress!, ob.baseAddress!) }
            }
        }
        return (compare(c, a: a, b: b, c0: c0, out: out), 2 * Double(c.k + 2) * 0x1p-53)
    }

    private static func checkSgemv(
        _ rows: Int, _ columns: Int,
        _ routine: (Int, Int, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
        _ random: inout SeededRandom
    ) -> (Double, Double) {
        // y = Aᵀ·x is C (1×columns) = xᵀ (1×rows) · A (rows×columns).
        let a = random.normals(rows * columns), x = random.normals(rows)
        var y = random.normals(columns)
        a.withUnsafeBufferPointer { ab in
            x.withUnsafeBufferPointer { xb in
                y.withUnsafeMutableBufferPointer { yb in routine(rows, columns, ab.baseAddress!, xb.baseAddress!, yb.baseAddress!) }
            }
        }
        let c = Case(name: "", m: 1, n: columns, k: rows)
        let error = compare(c, a: x.map(Double.init), b: a.map(Double.init),
                            c0: [Double](repeating: 0, count: columns), out: y.map(Double.init))
        return (error, 2 * Double(rows + 2) * 0x1p-24)
    }

    /// The largest normalised error over op(A)·op(B)'s M×N entries, and whether padding columns of C kept
    /// their values (a kernel that writes there gets an infinite error).
    private static func compare(_ c: Case, a: [Double], b: [Double], c0: [Double], out: [Double]) -> Double {
        let lda = c.resolvedLda, ldb = c.resolvedLdb, ldc = c.resolvedLdc
        let alpha = Double(c.alpha), beta = Double(c.beta)
        var worst = 0.0
        for i in 0..<c.m {
            for j in 0..<ldc {
                let got = out[i * ldc + j]
                guard j < c.n else {
                    if got != c0[i * ldc + j] && !(got.isNaN && c0[i * ldc + j].isNaN) { return .infinity }
                    continue
                }
                var sum = 0.0, magnitude = 0.0
                for p in 0..<c.k {
                    let x = c.transA ? a[p * lda + i] : a[i * lda + p]
                    let y = c.transB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += x * y
                    magnitude += abs(x * y)
                }
                let exact = alpha * sum + beta * c0[i * ldc + j]
                let scale = abs(alpha) * magnitude + abs(beta * c0[i * ldc + j])
                let error = abs(got - exact) / max(scale, .leastNormalMagnitude)
                if error.isNaN { return .nan }
                worst = max(worst, error)
            }
        }
        return worst
    }
}
