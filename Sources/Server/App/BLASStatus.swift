// The BLAS check every command that computes runs first (serve, cluster, evaluate), once per process, with
// the sgemm rate measured beside it: for the log, /healthz, /metrics and `--version`. A failed check stops the
// command before it computes anything (BLASCheck explains why a wrong kernel set is possible at all).
import Engine
import Foundation

struct BLASStatus: Sendable {
    let report: BLASCheck.Report
    /// flop/s of a 768³ sgemm, best of 4, measured right after the check.
    let sgemmRate: Double

    /// Set to 1, the check runs on an sgemm that adds 1 to its first output: how tests make a process whose
    /// BLAS computes wrong (the real library cannot be broken on purpose).
    static let testWrongSgemmVariable = "AC_TEST_WRONG_SGEMM"

    /// This process's status, measured on first use (≈ 0.1–0.3 s in release builds).
    static let current = measure(environment: ProcessInfo.processInfo.environment)

    static func measure(environment: [String: String]) -> BLASStatus {
        var routines = BLASCheck.Routines.openBLAS
        if environment[testWrongSgemmVariable] == "1" {
            routines.sgemm = { c, a, b, out in
                BLASCheck.Routines.openBLAS.sgemm(c, a, b, out)
                out[0] += 1
            }
        }
        return BLASStatus(report: BLASCheck.run(routines: routines), sgemmRate: BLAS.measureSgemmRate())
    }

    /// Throws the refusal (what failed and the remedy) unless the check passed.
    func requirePassed() throws(BLASRefusal) {
        guard report.passed else { throw BLASRefusal(description: report.refusal) }
    }

    /// For `--version` and the service log.
    var summary: String { report.summary + String(format: "; sgemm 768³ %.0f GFLOP/s", sgemmRate / 1e9) }

    /// The `blas` object of GET /healthz.
    struct Health: Encodable {
        let version: String, kernels: String, coretypeVariable: String?, check: String, sgemmGflops: Double

        enum CodingKeys: String, CodingKey {
            case version, kernels, check
            case coretypeVariable = "openblas_coretype"
            case sgemmGflops = "sgemm_gflops"
        }

        // Explicit, so that an unset OPENBLAS_CORETYPE is `null` rather than a missing key.
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(version, forKey: .version)
            try c.encode(kernels, forKey: .kernels)
            try c.encode(coretypeVariable, forKey: .coretypeVariable)
            try c.encode(check, forKey: .check)
            try c.encode(sgemmGflops, forKey: .sgemmGflops)
        }
    }

    var health: Health {
        Health(version: report.version, kernels: report.coreName, coretypeVariable: report.coreTypeVariable,
               check: report.passed ? "passed" : "failed", sgemmGflops: (sgemmRate / 1e7).rounded() / 100)
    }
}

struct BLASRefusal: Error, CustomStringConvertible {
    let description: String
}
