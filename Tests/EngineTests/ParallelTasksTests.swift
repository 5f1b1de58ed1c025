// `parallelTasks` runs every task exactly once on the worker it names, whether the spinning helpers take the
// section or (another section already running, more workers than helpers, a nested call) Dispatch does.
import Dispatch
import Foundation
import Synchronization
import XCTest

@testable import Engine

final class ParallelTasksTests: XCTestCase {
    /// Runs `parallelTasks(count, workers:)` and checks that task t ran once, as worker t % workers.
    private func check(count: Int, workers: Int, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        let runs = Mutex([Int](repeating: 0, count: count)), wrongWorker = Mutex(0)
        parallelTasks(count, workers: workers) { task, worker in
            runs.withLock { $0[task] += 1 }
            if worker != task % workers { wrongWorker.withLock { $0 += 1 } }
        }
        XCTAssertEqual(runs.withLock { $0 }, Array(repeating: 1, count: count), "\(label): tasks not run exactly once", file: file, line: line)
        XCTAssertEqual(wrongWorker.withLock { $0 }, 0, "\(label): a task ran on another worker", file: file, line: line)
    }

    func testEveryTaskRunsOnceOnItsWorkerForRandomShapes() {
        var random = SeededRandom(seed: 7)
        for round in 0..<300 {
            let count = Int(random.next() % 40), workers = 1 + Int(random.next() % 5)
            check(count: count, workers: workers, "round \(round), \(count) tasks, \(workers) workers")
        }
    }

    func testHelpersThatParkedWakeForTheNextSection() {
        for _ in 0..<3 {
            check(count: 16, workers: parallelWorkerCount, "before a pause")
            Thread.sleep(forTimeInterval: 0.01)  // ten times the spin: the helpers park
            check(count: 16, workers: parallelWorkerCount, "after a pause")
        }
    }

    func testConcurrentAndNestedCallersEachGetAllTheirTasks() {
        // Four threads call at once (all but one find the helpers busy), and every task nests a section.
        let finished = DispatchSemaphore(value: 0)
        let failures = Mutex(0)
        for _ in 0..<4 {
            Thread {
                for _ in 0..<50 {
                    let outer = Mutex([Int](repeating: 0, count: 6))
                    parallelTasks(6, workers: 2) { task, _ in
                        let inner = Mutex(0)
                        parallelTasks(5, workers: 2) { _, _ in inner.withLock { $0 += 1 } }
                        let n = inner.withLock { $0 }
                        outer.withLock { $0[task] += n }
                    }
                    if outer.withLock({ $0 }) != Array(repeating: 5, count: 6) { failures.withLock { $0 += 1 } }
                }
                finished.signal()
            }.start()
        }
        for _ in 0..<4 { finished.wait() }
        XCTAssertEqual(failures.withLock { $0 }, 0)
    }
}
