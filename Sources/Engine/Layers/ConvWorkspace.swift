// Scratch memory for a CNN forward pass: a few named buffers that only grow (as ggml's BLAS backend
// grows its `work_data`). A backbone asks for each buffer right before it writes it, so after the first
// batch of a given shape nothing is allocated again. One workspace serves one forward pass at a time.

/// Reusable, grow-only activation and im2col buffers. Not thread-safe: use one per concurrent caller.
public final class ConvWorkspace {
    /// The buffers a backbone uses; each has its own memory.
    enum Slot: Int, CaseIterable {
        /// Ping-pong pair holding a block's input and output, (C, B, H, W).
        case stageA, stageB
        /// A block's intermediate activations, (C, B, H, W).
        case inner1, inner2
        /// im2col columns of one convolution (or one chunk of its output columns).
        case columns
        /// The 16 GEMM products of a Winograd convolution (or one chunk of them).
        case winograd
        /// Per-thread scratch: depthwise phases and wide output plane, Winograd transform rows.
        case scratch
        /// The network input reordered to (3, B, H, W).
        case input
    }

    private var pointers: [UnsafeMutablePointer<Float>?]
    private var capacities: [Int]
    /// Upper bound on one convolution's im2col buffer, in floats; larger column matrices are built and
    /// multiplied in chunks of output rows. The default, 8 Mi floats (32 MiB), keeps WRN50-2 at batch 8
    /// to a few chunks per 3×3 convolution; tests shrink it to exercise chunking on small inputs.
    public let maxColumnFloats: Int

    public init(maxColumnFloats: Int = 8 << 20) {
        precondition(maxColumnFloats >= 1, "maxColumnFloats must be positive")
        self.maxColumnFloats = maxColumnFloats
        pointers = Array(repeating: nil, count: Slot.allCases.count)
        capacities = Array(repeating: 0, count: Slot.allCases.count)
    }

    deinit {
        for p in pointers { p?.deallocate() }
    }

    /// Total floats held, for memory reports.
    public var capacity: Int { capacities.reduce(0, +) }

    /// A buffer of at least `count` floats. If it has to grow, its old contents are gone — so ask for
    /// a slot only when about to overwrite it.
    func buffer(_ slot: Slot, count: Int) -> UnsafeMutablePointer<Float> {
        let i = slot.rawValue
        if let p = pointers[i], capacities[i] >= count { return p }
        pointers[i]?.deallocate()
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        pointers[i] = p
        capacities[i] = max(count, 1)
        return p
    }
}
