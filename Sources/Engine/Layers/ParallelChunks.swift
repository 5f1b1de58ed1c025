// Splits work between the cores. `parallelChunks` cuts an elementwise loop (softmax rows, GELU values) into
// one contiguous chunk per core; `parallelTasks` deals out independent tasks (attention blocks, the ViT's row
// blocks) round-robin, each worker with its own index so it can own a slice of scratch memory. Work split here
// runs its GEMMs single-threaded (`BLAS.withThreads(1)`): both cores already busy, OpenBLAS's own threads
// would only add hand-offs.

import Foundation

/// Number of chunks `parallelChunks` uses and of workers `parallelTasks` uses: one per active core.
let parallelChunkCount = max(1, ProcessInfo.processInfo.activeProcessorCount)

/// Calls `body` on disjoint ranges covering 0..<count, in parallel, and returns when all are done.
/// Runs inline when a chunk would be smaller than `minimumChunk` (dispatching costs more than it saves).
func parallelChunks(_ count: Int, minimumChunk: Int, _ body: (Range<Int>) -> Void) {
    let chunks = min(parallelChunkCount, count / max(1, minimumChunk))
    guard chunks > 1 else {
        if count > 0 { body(0..<count) }
        return
    }
    // The chunks are disjoint and concurrentPerform returns only after every one has run, so sharing the
    // non-Sendable closure (and the pointers it captures) between the worker threads is safe.
    nonisolated(unsafe) let body = body
    DispatchQueue.concurrentPerform(iterations: chunks) { i in
        body((i * count / chunks)..<((i + 1) * count / chunks))
    }
}

/// Calls `body(task, worker)` for every task in 0..<count: worker w (0..<workers) runs tasks w, w + workers,
/// w + 2·workers, … in order on one thread. Returns when all are done; inline when there is one worker.
func parallelTasks(_ count: Int, workers: Int, _ body: (_ task: Int, _ worker: Int) -> Void) {
    guard workers > 1 && count > 1 else {
        for task in 0..<count { body(task, 0) }
        return
    }
    // Each task writes only its own outputs and each worker only its own scratch slice; concurrentPerform
    // returns after every worker has finished (see parallelChunks).
    nonisolated(unsafe) let body = body
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
        var task = worker
        while task < count {
            body(task, worker)
            task += workers
        }
    }
}
