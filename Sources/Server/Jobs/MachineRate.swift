// The sgemm rate that cost estimates divide by (the 422 limit, the `auto` search's choice, the estimate a job
// reports). It starts as the reading taken when the service starts and then follows the jobs: each finished
// weights stage says at what rate its estimate would have been exact. One start-up reading is a poor guide
// on a shared host — six consecutive starts here read 157–183 GFLOP/s, once 91.6 — and a job that runs
// slower or faster than its estimate is the better measurement of what the next one will get.
import Synchronization

/// The current rate estimate, flop/s, shared by the API and the job runners.
final class MachineRate: Sendable {
    /// Weights stages shorter than this say little (timer and scheduling noise, the α and X steps that are
    /// not part of the search) and are not observed.
    let minimumSeconds: Double
    /// The reading at start; observations are clamped to a quarter to four times it, so one stalled job (a
    /// suspended VM, a swapped-out process) cannot wreck the estimates.
    let startup: Double
    private let value: Mutex<Double>

    init(measured: Double, minimumSeconds: Double = 5) {
        precondition(measured > 0, "MachineRate: rate \(measured)")
        startup = measured
        self.minimumSeconds = minimumSeconds
        value = Mutex(measured)
    }

    var current: Double { value.withLock { $0 } }

    /// A weights stage of `work` (seconds at 1 flop/s, `CostEstimate.work`) took `seconds`: moves the
    /// estimate halfway to the rate that would have predicted it exactly.
    func observe(work: Double, seconds: Double) {
        guard seconds >= minimumSeconds, work > 0 else { return }
        let observed = min(max(work / seconds, startup / 4), startup * 4)
        value.withLock { $0 = 0.5 * $0 + 0.5 * observed }
    }
}
