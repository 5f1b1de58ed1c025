// Splits work between the cores: `parallelTasks` deals out independent tasks (attention blocks, the ViT's row
// blocks, a convolution's GEMM parts, Winograd's 16 GEMMs) round-robin, each worker with its own index so it
// can own a slice of scratch memory. Work split here runs its GEMMs single-threaded (`BLAS.withThreads(1)`)
// and its elementwise steps (softmax, GELU, LayerNorm, bias and activation) inside the tasks: both cores are
// already busy, so OpenBLAS's own threads would only add hand-offs.
import Foundation

/// Number of workers `parallelTasks` uses: one per active core.
@usableFromInline let parallelWorkerCount = max(1, ProcessInfo.processInfo.activeProcessorCount)

/// Block `block` of `rows` split into `count` consecutive blocks whose sizes differ by at most one.
func rowBlock(_ block: Int, of count: Int, rows: Int) -> Range<Int> {
    (block * rows / count)..<((block + 1) * rows / count)
}

/// Calls `body(task, worker)` for every task in 0..<count: worker w (0..<workers) runs tasks w, w + workers,
/// w + 2·workers, … in order on one thread. Returns when all are done; inline when there is one worker.
/// Worker 0 is the calling thread, the others the spinning helpers (SpinningWorkers.swift), or Dispatch's
/// threads when the helpers are busy with another caller's section (or a nested one) or too few.
func parallelTasks(_ count: Int, workers: Int, _ body: (_ task: Int, _ worker: Int) -> Void) {
    guard workers > 1 && count > 1 else {
        for task in 0..<count { body(task, 0) }
        return
    }
    // Each task writes only its own outputs and each worker only its own scratch slice; both paths return
    // after every worker has finished, so sharing the non-Sendable closure (and the pointers it captures)
    // between the worker threads is safe.
    withoutActuallyEscaping(body) { body in
        nonisolated(unsafe) let body = body
        let work = { (worker: Int) in
            var task = worker
            while task < count {
                body(task, worker)
                task += workers
            }
        }
        if SpinningWorkers.shared?.run(workers: workers, work) == true { return }
        nonisolated(unsafe) let shared = work
        DispatchQueue.concurrentPerform(iterations: workers) { worker in shared(worker) }
    }
}
