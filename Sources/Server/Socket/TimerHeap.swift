// The event loop's timers: a binary min-heap of (deadline, value). There is no cancellation: owners keep
// their own current deadline and ignore a firing that no longer matches it, which keeps the heap a plain
// array and makes re-arming (done on every body read) a comparison instead of a heap operation.

/// A min-heap of values ordered by deadline; equal deadlines come out in insertion order.
struct TimerHeap<Value> {
    private struct Entry {
        var deadline: ContinuousClock.Instant
        /// Insertion counter, so equal deadlines pop first-in first-out.
        var sequence: UInt64
        var value: Value

        func isEarlier(than other: Entry) -> Bool {
            deadline != other.deadline ? deadline < other.deadline : sequence < other.sequence
        }
    }

    private var entries: [Entry] = []
    private var nextSequence: UInt64 = 0

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    /// The earliest deadline, or nil when empty.
    var nextDeadline: ContinuousClock.Instant? { entries.first?.deadline }

    /// Adds `value` to fire at `deadline`. O(log n).
    mutating func push(_ value: Value, at deadline: ContinuousClock.Instant) {
        entries.append(Entry(deadline: deadline, sequence: nextSequence, value: value))
        nextSequence &+= 1
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].isEarlier(than: entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest value if its deadline is at or before `now`. O(log n).
    mutating func popExpired(now: ContinuousClock.Instant) -> Value? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            siftDown(from: 0)
        }
        return first.value
    }

    private mutating func siftDown(from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count, entries[left].isEarlier(than: entries[smallest]) { smallest = left }
            if right < entries.count, entries[right].isEarlier(than: entries[smallest]) { smallest = right }
            if smallest == parent { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
