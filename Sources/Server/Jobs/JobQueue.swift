// The worker queue: job ids wait in FIFO order and run on a Dispatch queue, at most `workers` at once
// (default 1: one job's GEMMs already use every core through OpenBLAS). The queue is bounded so that a
// flood of uploads is refused with 429 instead of piling up. The database, not this queue, is the durable
// record: after a restart the service re-submits the jobs the store still has queued.
import Dispatch
import Synchronization

/// Set when a job should stop; read by the worker between units of work (image batches, distance tiles).
final class CancellationFlag: Sendable {
    private let flag = Atomic(false)
    func cancel() { flag.store(true, ordering: .relaxed) }
    var isCancelled: Bool { flag.load(ordering: .relaxed) }
}

final class JobQueue: Sendable {
    private struct State {
        var waiting: [String] = []
        /// Running jobs and their flags.
        var running: [String: CancellationFlag] = [:]
        /// Drain loops alive (≤ workers).
        var activeWorkers = 0
        var stopped = false
    }

    let workers: Int
    /// Waiting jobs accepted by `submit`; recovered jobs at start-up bypass it (`submit(_:force:)`).
    let capacity: Int
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "jobs", qos: .utility, attributes: .concurrent)
    private let run: @Sendable (String, CancellationFlag) -> Void
    private let idle = DispatchGroup()

    /// - Parameter run: computes one job; returns when it is finished, failed or cancelled.
    init(workers: Int, capacity: Int, run: @escaping @Sendable (String, CancellationFlag) -> Void) {
        precondition(workers >= 1 && capacity >= 1)
        self.workers = workers
        self.capacity = capacity
        self.run = run
    }

    /// Jobs waiting (not running).
    var waitingCount: Int { state.withLock { $0.waiting.count } }
    var runningCount: Int { state.withLock { $0.running.count } }
    /// True when `submit` would refuse a job now.
    var isFull: Bool { state.withLock { $0.waiting.count >= capacity } }

    /// Adds a job; false (nothing added) when `capacity` jobs are already waiting, unless `force`.
    @discardableResult
    func submit(_ id: String, force: Bool = false) -> Bool {
        let startWorker = state.withLock { s -> Bool? in
            guard !s.stopped, force || s.waiting.count < capacity else { return nil }
            s.waiting.append(id)
            guard s.activeWorkers < workers else { return false }
            s.activeWorkers += 1
            return true
        }
        guard let startWorker else { return false }
        if startWorker {
            idle.enter()
            queue.async { self.drain() }
        }
        return true
    }

    /// Takes a waiting job out of the queue, or raises a running job's flag. False if neither.
    @discardableResult
    func cancel(_ id: String) -> Bool {
        state.withLock { s in
            if let index = s.waiting.firstIndex(of: id) {
                s.waiting.remove(at: index)
                return true
            }
            guard let flag = s.running[id] else { return false }
            flag.cancel()
            return true
        }
    }

    /// Stops taking jobs, raises every running job's flag and waits for the workers to return.
    func stop() {
        state.withLock { s in
            s.stopped = true
            s.waiting.removeAll()
            for flag in s.running.values { flag.cancel() }
        }
        idle.wait()
    }

    /// One worker: runs waiting jobs until there are none.
    private func drain() {
        while true {
            let next = state.withLock { s -> (String, CancellationFlag)? in
                guard !s.stopped, !s.waiting.isEmpty else {
                    s.activeWorkers -= 1
                    return nil
                }
                let id = s.waiting.removeFirst()
                let flag = CancellationFlag()
                s.running[id] = flag
                return (id, flag)
            }
            guard let (id, flag) = next else { break }
            run(id, flag)
            state.withLock { _ = $0.running.removeValue(forKey: id) }
        }
        idle.leave()
    }
}
