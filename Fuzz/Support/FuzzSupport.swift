// What every harness shares: the input as bytes, the input cut into pieces as a socket or a file read would
// deliver it, and the check that turns a broken invariant into a crash libFuzzer reports and saves.

/// The fuzzer's input as an array.
func fuzzBytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}

/// `bytes` in pieces of `size` bytes (the last one shorter), as a streaming parser is fed by reads.
func pieces(of bytes: ArraySlice<UInt8>, size: Int) -> [ArraySlice<UInt8>] {
    precondition(size > 0, "piece size must be positive")
    return stride(from: bytes.startIndex, to: bytes.endIndex, by: size).map {
        bytes[$0..<min($0 + size, bytes.endIndex)]
    }
}

/// A piece size that varies with the input, 1 to 13 bytes, so that every seed is also read in small pieces
/// and a mutation that inserts or erases a byte moves every piece boundary.
func pieceSize(for bytes: ArraySlice<UInt8>) -> Int {
    1 + bytes.count % 13
}

/// Stops the run with `message` when an invariant of the code under test does not hold; libFuzzer saves
/// the input that did it.
func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("fuzz invariant: \(message())") }
}

/// Whether a parse in one block and a parse in pieces agree: the same error, and the same events when there
/// was none. After an error the events may differ by design: `feed` drops the events of the call that
/// throws, and a parse in pieces has already returned those of its earlier calls.
func agree<Event: Equatable, Failure: Equatable>(
    _ a: (events: [Event], error: Failure?), _ b: (events: [Event], error: Failure?)
) -> Bool {
    a.error == b.error && (a.error != nil || a.events == b.events)
}

/// Feeds `reads` one by one to a streaming parser (`feed`), then ends the input (`finish`): the events, with
/// consecutive data events joined (their split depends on the reads; `join` returns nil unless both are
/// data), and the error that ended the input, if any. A parser must never emit an empty data event.
func streamEvents<Event, Failure: Error>(
    _ reads: [ArraySlice<UInt8>],
    feed: (ArraySlice<UInt8>) throws(Failure) -> [Event], finish: () throws(Failure) -> Void,
    join: (Event, Event) -> Event?, isEmptyData: (Event) -> Bool
) -> (events: [Event], error: Failure?) {
    var events: [Event] = []
    do throws(Failure) {
        for read in reads {
            for event in try feed(read) {
                if let last = events.last, let joined = join(last, event) {
                    events[events.count - 1] = joined
                } else {
                    fuzzCheck(!isEmptyData(event), "an empty data event")
                    events.append(event)
                }
            }
        }
        try finish()
    } catch {
        return (events, error)
    }
    return (events, nil)
}
