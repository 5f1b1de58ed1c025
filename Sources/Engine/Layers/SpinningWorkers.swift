// The helper threads behind `parallelTasks`: one per extra core, started once, which spin for a short while
// after each parallel section before they park. A forward pass is hundreds of parallel sections a few
// hundred microseconds apart; Dispatch's workers park at once after each, and on this VM cores that keep
// going idle run slower (measured with Dispatch: a WRN50-2 batch-1 pass 0.5 s after the last took 150–160 ms,
// right after the last 127–131 ms, and after 100 ms of busy-waiting on both cores 135 ms; with these helpers
// WRN50-2 went from 1.08–1.27× PyTorch's speed at batch 1 to 1.39–1.46×, docs/BENCHMARKS.md). OpenBLAS,
// OpenMP (PyTorch) and onnxruntime all spin between sections too.
import Foundation
import Synchronization

/// A fixed set of helper threads that run the non-zero workers' share of one parallel section at a time.
final class SpinningWorkers: @unchecked Sendable {
    /// Helpers for every core but the caller's; nil on one core.
    static let shared: SpinningWorkers? = parallelWorkerCount > 1 ? SpinningWorkers(helpers: parallelWorkerCount - 1) : nil

    /// How long an idle helper spins (yielding the core to anything else runnable) before it parks.
    static let spinNanoseconds: UInt64 = 1_000_000

    let helpers: Int
    /// Set while a section runs; a second caller at the same time (concurrent jobs) uses Dispatch instead.
    private let inUse = Atomic<Bool>(false)
    /// Bumped once per section; helpers wait for it to change.
    private let generation = Atomic<Int>(0)
    /// Helpers still running the current section.
    private let running = Atomic<Int>(0)
    /// Guards parking: a helper re-checks `generation` under it before it waits.
    private let parking = NSCondition()
    private var parked = 0
    /// The current section: called with the worker index 1 ... helpers. Written before `generation` is
    /// bumped (release) and read after a helper sees the bump (acquire).
    nonisolated(unsafe) private var section: ((Int) -> Void)?

    private init(helpers: Int) {
        self.helpers = helpers
        for index in 1...helpers {
            let thread = Thread { [unowned self] in self.helperLoop(worker: index) }
            thread.name = "parallelTasks helper \(index)"
            thread.start()
        }
    }

    /// Runs `work(worker)` for worker 0 on the calling thread and workers 1 ... `workers − 1` on helpers;
    /// returns false (running nothing) when the helpers are busy with another caller's section or too few.
    func run(workers: Int, _ work: (Int) -> Void) -> Bool {
        guard workers - 1 <= helpers, inUse.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            return false
        }
        defer { inUse.store(false, ordering: .releasing) }
        // The helpers run `work` only between the bump below and `running` reaching 0, which this call waits
        // for, so the non-escaping closure never outlives the call.
        withoutActuallyEscaping(work) { work in
            nonisolated(unsafe) let work = work
            section = { worker in if worker < workers { work(worker) } }
            running.store(helpers, ordering: .relaxed)
            generation.add(1, ordering: .releasing)
            parking.lock()
            if parked > 0 { parking.broadcast() }
            parking.unlock()
            work(0)
            while running.load(ordering: .acquiring) > 0 { sched_yield() }
            section = nil
        }
        return true
    }

    private func helperLoop(worker: Int) {
        var seen = 0
        while true {
            // Spin, then park, until the next section is posted.
            let spinUntil = DispatchTime.now().uptimeNanoseconds + Self.spinNanoseconds
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins & 63 == 0 && DispatchTime.now().uptimeNanoseconds > spinUntil {
                    parking.lock()
                    parked += 1
                    while generation.load(ordering: .acquiring) == seen { parking.wait() }
                    parked -= 1
                    parking.unlock()
                    break
                }
                sched_yield()
            }
            seen = generation.load(ordering: .acquiring)
            section?(worker)
            running.subtract(1, ordering: .releasing)
        }
    }
}
