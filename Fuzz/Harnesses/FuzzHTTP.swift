// libFuzzer harness for the HTTP/1.1 request parser (head and chunked body) and the connection state
// machine: the input is everything a client sends on one connection. It is parsed in one block and again in
// small pieces; both must give the same requests. The pieces then drive the state machine as
// `HTTPConnection` would, with a handler that answers at once, and every response is serialized.
import Foundation

/// Small limits, so that inputs of a few KiB reach every limit and the checks one byte either side of it.
private let fuzzLimits = HTTPLimits(
    maxHeaderBytes: 1024, maxRequestLineBytes: 512, maxHeaderCount: 16, maxBodyBytes: 4096,
    maxChunkSizeLineBytes: 64)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)[...]
    let whole = parse([bytes])
    let reads = pieces(of: bytes, size: pieceSize(for: bytes))
    let piecewise = parse(reads)
    fuzzCheck(whole == piecewise, "one block gave \(whole), pieces gave \(piecewise)")
    driveConnection(reads)
    return 0
}

/// The events for `reads`, consecutive body slices joined (their split depends on the reads), then the
/// end-of-connection report.
private func parse(_ reads: [ArraySlice<UInt8>]) -> (events: [HTTPParserEvent], finish: HTTPParserError?) {
    var parser = HTTPRequestParser(limits: fuzzLimits)
    var events: [HTTPParserEvent] = []
    for read in reads {
        for event in parser.feed(read) {
            if case .body(let more) = event, case .body(let earlier)? = events.last {
                events[events.count - 1] = .body(earlier + more)
            } else {
                fuzzCheck(event != .body([]), "an empty body event")
                events.append(event)
            }
        }
    }
    return (events, parser.finish())
}

/// Feeds `reads` to a parser and a state machine, carrying out the machine's actions at once: the handler
/// answers 404 naming the path (client bytes in a response), writes complete immediately. Reads wait while
/// the machine is not reading, as the event loop does; the peer closes after the last read.
private func driveConnection(_ reads: [ArraySlice<UInt8>]) {
    let start = ContinuousClock.now
    var machine = HTTPConnectionStateMachine(timeouts: HTTPTimeouts(), now: start) { head in
        // As the upload routes do: refuse a large body from its head alone.
        (head.contentLength ?? 0) > 1000
            ? .reject(.error(status: 413, code: "too_large", message: "body over 1000 bytes")) : .accept(.automatic)
    }
    var parser = HTTPRequestParser(limits: fuzzLimits)

    func perform(_ actions: [HTTPConnectionStateMachine.Action]) {
        for action in actions {
            switch action {
            case .startHandler(let head):
                let reply = HTTPResponse.error(status: 404, code: "not_found", message: "no route for \(head.path)")
                perform(machine.handlerFinished(.response(reply), now: start))
            case .writeResponse(let write):
                guard case .response(let response) = write.response else { continue }
                do {
                    _ = try response.serialized(
                        keepAlive: write.keepAlive, date: Date(timeIntervalSince1970: 0), omitBody: write.omitBody)
                } catch {
                    fuzzCheck(false, "response cannot be written: \(error)")
                }
                perform(machine.writeFinished(now: start))
            case .sendContinue, .prepareBody, .storeBody, .discardBody, .closeOutputAndDrain, .close:
                continue
            }
        }
    }

    for read in reads {
        guard machine.isReading, machine.state != .draining else { break }
        machine.bytesReceived(now: start)
        perform(machine.parsed(parser.feed(read), now: start))
    }
    if machine.state != .closed { perform(machine.peerClosed()) }
}
