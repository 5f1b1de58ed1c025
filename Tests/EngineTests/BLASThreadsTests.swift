// `BLAS.withThreads` regions from concurrent jobs overlap; whatever order they end in, OpenBLAS must get its
// thread count back (saving and restoring per call left it on one thread for good).
import Dispatch
import Foundation
import XCTest

@testable import Engine

final class BLASThreadsTests: XCTestCase {
    func testRegionsEndingCrosswiseKeepOneThreadUntilTheLastEndsThenRestoreTheCount() {
        let original = BLAS.threads
        defer { BLAS.threads = original }
        BLAS.threads = 2
        let before = BLAS.threads
        XCTAssertEqual(before, 2, "OpenBLAS did not take 2 threads")

        // A enters, B enters, A ends, B ends: the regions end in the opposite order of a nested pair.
        let aInside = DispatchSemaphore(value: 0), bInside = DispatchSemaphore(value: 0), aEnded = DispatchSemaphore(value: 0)
        let inBAfterAEnded = LockedInt()
        let finished = DispatchSemaphore(value: 0)
        // Two plain threads (not Dispatch workers: on one core Dispatch might not start B while A waits).
        Thread {
            BLAS.withThreads(1) {
                aInside.signal()
                bInside.wait()
            }
            aEnded.signal()
            finished.signal()
        }.start()
        Thread {
            aInside.wait()
            BLAS.withThreads(1) {
                bInside.signal()
                aEnded.wait()
                inBAfterAEnded.set(BLAS.threads)
            }
            finished.signal()
        }.start()
        finished.wait()
        finished.wait()
        XCTAssertEqual(inBAfterAEnded.value, 1, "B's region ran on more threads once A's had ended")
        XCTAssertEqual(BLAS.threads, before, "the thread count from before both regions was not restored")

        // Nested on one thread, and a region around a GEMM, as the backbones use them.
        BLAS.withThreads(1) { BLAS.withThreads(1) { XCTAssertEqual(BLAS.threads, 1) } }
        XCTAssertEqual(BLAS.threads, before)
    }
}

/// An Int written by one thread and read by another.
private final class LockedInt: @unchecked Sendable {
    private let lock = NSLock()
    private var stored = -1
    func set(_ v: Int) { lock.withLock { stored = v } }
    var value: Int { lock.withLock { stored } }
}
