// Counters for /metrics and the one-line-per-request log: responses by status, connections open, accepted
// and turned away. Updated on the event loop thread, read from any thread.
import Synchronization

/// One response sent, for the app's request log.
struct HTTPRequestLogEntry: Sendable, Equatable {
    /// The request method, or "-" when the request was answered before its head was complete.
    var method: String
    /// The path as sent, or "-".
    var path: String
    var status: Int
    /// Bytes of response body sent (headers not counted; 0 for HEAD).
    var bodyBytes: Int
    /// From the first byte of the request to the last byte of the response handed to the kernel.
    var duration: Duration

    /// `GET /health 200 15B 0.4ms`.
    var line: String {
        let microseconds = duration.components.seconds * 1_000_000
            + duration.components.attoseconds / 1_000_000_000_000
        let tenths = microseconds / 100
        return "\(method) \(path) \(status) \(bodyBytes)B \(tenths / 10).\(tenths % 10)ms"
    }
}

/// Thread-safe server counters.
final class HTTPServerMetrics: Sendable {
    /// The counters at one moment.
    struct Snapshot: Sendable, Equatable {
        /// Responses sent, by status (protocol errors, timeouts and 503s included).
        var responsesByStatus: [Int: Int] = [:]
        /// Connections open now (those being turned away with 503 included).
        var openConnections = 0
        /// Connections accepted since start.
        var acceptedConnections = 0
        /// Connections answered 503 because `maxConnections` were open.
        var rejectedConnections = 0

        /// All responses sent.
        var totalResponses: Int { responsesByStatus.values.reduce(0, +) }
    }

    private let counters = Mutex(Snapshot())

    /// The current counters.
    var snapshot: Snapshot { counters.withLock { $0 } }

    func recordResponse(status: Int) {
        counters.withLock { $0.responsesByStatus[status, default: 0] += 1 }
    }

    func connectionOpened(rejected: Bool) {
        counters.withLock {
            $0.openConnections += 1
            $0.acceptedConnections += 1
            if rejected { $0.rejectedConnections += 1 }
        }
    }

    func connectionClosed() {
        counters.withLock { $0.openConnections -= 1 }
    }
}
