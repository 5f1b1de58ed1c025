import XCTest

@testable import Engine

/// The start-up BLAS check: passes on the real library and on any correct summation order; catches
/// deliberately wrong kernels of every kind it is meant to catch, naming the shape class.
final class BLASCheckTests: XCTestCase {
    /// A correct sgemm in plain Float loops, k summed in the order given: a stand-in for another kernel's
    /// blocking and ordering, which the check must not mistake for an error.
    static func naiveSgemm(
        _ c: BLASCheck.Case, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
        reversed: Bool = false, inputs: (Float) -> Float = { $0 }, skipStrides: Bool = false
    ) {
        let lda = skipStrides ? (c.transA ? c.m : c.k) : c.resolvedLda
        let ldb = skipStrides ? (c.transB ? c.k : c.n) : c.resolvedLdb
        for i in 0..<c.m {
            for j in 0..<c.n {
                var sum: Float = 0
                for q in 0..<c.k {
                    let p = reversed ? c.k - 1 - q : q
                    let x = c.transA ? a[p * lda + i] : a[i * lda + p]
                    let y = c.transB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += inputs(x) * inputs(y)
                }
                out[i * c.resolvedLdc + j] = c.alpha * sum + c.beta * out[i * c.resolvedLdc + j]
            }
        }
    }

    static func routines(
        sgemm: @escaping @Sendable (BLASCheck.Case, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
            = BLASCheck.Routines.openBLAS.sgemm,
        dgemm: @escaping @Sendable (BLASCheck.Case, UnsafePointer<Double>, UnsafePointer<Double>, UnsafeMutablePointer<Double>) -> Void
            = BLASCheck.Routines.openBLAS.dgemm,
        sgemv: @escaping @Sendable (Int, Int, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
            = BLASCheck.Routines.openBLAS.sgemv
    ) -> BLASCheck.Routines {
        BLASCheck.Routines(sgemm: sgemm, dgemm: dgemm, sgemv: sgemv)
    }

    func testOpenBLASPasses() {
        let report = BLASCheck.run()
        XCTAssertTrue(report.passed, report.summary)
        XCTAssertEqual(report.cases, BLASCheck.sgemmCases.count + BLASCheck.dgemmCases.count + BLASCheck.sgemvCases.count)
        XCTAssertLessThan(report.worstRatio, 1)
        XCTAssertFalse(report.version.isEmpty)
        XCTAssertFalse(report.coreName.isEmpty)
        XCTAssertTrue(report.summary.contains("check passed"), report.summary)
        print("BLAS check: \(report.summary)")
    }

    func testCorrectKernelsInOtherOrdersPass() {
        for reversed in [false, true] {
            let report = BLASCheck.run(routines: Self.routines(sgemm: { c, a, b, out in
                Self.naiveSgemm(c, a, b, out, reversed: reversed)
            }))
            XCTAssertTrue(report.passed, "reversed \(reversed): \(report.summary)")
        }
    }

    func testOneWrongElementIsCaught() {
        let report = BLASCheck.run(routines: Self.routines(sgemm: { c, a, b, out in
            BLASCheck.Routines.openBLAS.sgemm(c, a, b, out)
            if c.m == 17 { out[(c.m - 1) * c.resolvedLdc + c.n - 1] *= 1.001 }  // the last edge tile's corner
        }))
        XCTAssertFalse(report.passed)
        XCTAssertEqual(report.failures.map(\.name), ["edge tiles"])
        XCTAssertTrue(report.refusal.contains("edge tiles"), report.refusal)
    }

    func testIgnoredBetaIsCaught() {
        let report = BLASCheck.run(routines: Self.routines(sgemm: { c, a, b, out in
            var zeroBeta = c
            zeroBeta.beta = 0
            BLASCheck.Routines.openBLAS.sgemm(zeroBeta, a, b, out)
        }))
        XCTAssertEqual(Set(report.failures.map(\.name)),
                       Set(BLASCheck.sgemmCases.filter { $0.beta != 0 }.map(\.name)))
    }

    func testIgnoredStridesAreCaught() {
        let report = BLASCheck.run(routines: Self.routines(sgemm: { c, a, b, out in
            Self.naiveSgemm(c, a, b, out, skipStrides: true)
        }))
        XCTAssertEqual(Set(report.failures.map(\.name)),
                       Set(BLASCheck.sgemmCases.filter { $0.lda != nil || $0.ldb != nil }.map(\.name)))
    }

    func testWritesIntoPaddingAreCaught() {
        let report = BLASCheck.run(routines: Self.routines(sgemm: { c, a, b, out in
            BLASCheck.Routines.openBLAS.sgemm(c, a, b, out)
            if c.resolvedLdc > c.n { out[c.n] = 0 }
        }))
        XCTAssertEqual(report.failures.map(\.name), BLASCheck.sgemmCases.filter { $0.resolvedLdc > $0.n }.map(\.name))
        XCTAssertEqual(report.failures.first?.error, .infinity)
    }

    /// bfloat16-like inputs (8 significant bits): a kernel that computes in lower precision than it claims.
    func testLowPrecisionIsCaught() {
        let report = BLASCheck.run(routines: Self.routines(sgemm: { c, a, b, out in
            Self.naiveSgemm(c, a, b, out, inputs: { Float(bitPattern: $0.bitPattern & 0xFFFF_0000) })
        }))
        XCTAssertEqual(report.failures.map(\.name), BLASCheck.sgemmCases.map(\.name), report.summary)
        XCTAssertGreaterThan(report.worstRatio, 10)
    }

    func testNaNIsCaught() {
        let report = BLASCheck.run(routines: Self.routines(sgemm: { c, a, b, out in
            BLASCheck.Routines.openBLAS.sgemm(c, a, b, out)
            if c.k == 512 { out[3] = .nan }
        }))
        XCTAssertEqual(report.failures.map(\.name), ["distance tile (A·Bᵀ, α −2)"])
    }

    func testDgemmInSinglePrecisionIsCaught() {
        let report = BLASCheck.run(routines: Self.routines(dgemm: { c, a, b, out in
            BLASCheck.Routines.openBLAS.dgemm(c, a, b, out)
            for i in 0..<c.m * c.resolvedLdc { out[i] = Double(Float(out[i]) * (1 + Float.ulpOfOne)) }
        }))
        XCTAssertEqual(report.failures.map(\.name), BLASCheck.dgemmCases.map(\.name))
    }

    func testWrongSgemvIsCaught() {
        let report = BLASCheck.run(routines: Self.routines(sgemv: { rows, columns, a, x, y in
            BLAS.sgemv(trans: true, m: rows - 1, n: columns, alpha: 1, a: a, lda: columns, x: x, beta: 0, y: y)  // drops a row
        }))
        XCTAssertEqual(report.failures.map(\.name), BLASCheck.sgemvCases.map(\.name))
    }

    func testRefusalNamesTheRemedy() {
        var report = BLASCheck.run(routines: Self.routines(sgemm: { c, a, b, out in
            BLASCheck.Routines.openBLAS.sgemm(c, a, b, out)
            out[0] += 1
        }))
        report.coreTypeVariable = nil
        XCTAssertTrue(report.refusal.contains("Set OPENBLAS_CORETYPE=Haswell"), report.refusal)
        XCTAssertTrue(report.summary.contains("check FAILED"), report.summary)
        XCTAssertEqual(report.failures.count, BLASCheck.sgemmCases.count)
        XCTAssertTrue(report.refusal.contains("; \(report.failures.count - 3) more of the \(report.cases) shape classes."), report.refusal)
        report.coreTypeVariable = "SkylakeX"
        XCTAssertTrue(report.refusal.contains("OPENBLAS_CORETYPE=SkylakeX is set: set OPENBLAS_CORETYPE=Haswell"), report.refusal)
        report.coreTypeVariable = "Haswell"
        XCTAssertTrue(report.refusal.contains("install another OpenBLAS build"), report.refusal)
    }
}
