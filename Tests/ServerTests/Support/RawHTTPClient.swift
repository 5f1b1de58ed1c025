// A small blocking HTTP client for the live tests: it writes exactly the bytes a test gives it (pipelined,
// trickled, malformed, cut short) and parses responses only as far as the tests check them. Every read has
// a timeout, so a server bug fails a test instead of hanging it.
import Foundation
import Glibc
import XCTest

/// One response as read off the wire.
struct RawResponse {
    var status: Int
    /// Header fields in order, names as sent.
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    /// The first value of `name`, any case.
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

struct RawClientError: Error, CustomStringConvertible {
    var description: String
}

/// A blocking TCP connection to 127.0.0.1.
final class RawHTTPClient {
    private var descriptor: Int32
    /// Bytes read but not yet consumed by a parse.
    private var buffer: [UInt8] = []

    /// Connects to 127.0.0.1:`port`; reads give up after `timeout`.
    init(port: Int, timeout: Duration = .seconds(10)) throws {
        descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw RawClientError(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw RawClientError(description: "connect: errno \(code)")
        }
        let (seconds, attoseconds) = timeout.components
        var limit = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close() }

    func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    /// Sends all of `bytes` (MSG_NOSIGNAL: a server that closed gives EPIPE, not SIGPIPE).
    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { throw RawClientError(description: "send: errno \(errno)") }
            offset += sent
        }
    }

    /// Shuts the sending side (FIN): the server reads end of stream, and responses can still be read.
    func shutdownOutput() {
        _ = Glibc.shutdown(descriptor, Int32(SHUT_WR))
    }

    /// Sends `text` with every `\n` turned into CRLF.
    func send(_ text: String) throws {
        try send(Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8))
    }

    /// Reads more bytes into the buffer; false at end of stream. Throws on timeout or error.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
        if count < 0 { throw RawClientError(description: "read: errno \(errno)\(errno == EAGAIN ? " (timeout)" : "")") }
        buffer += chunk[..<count]
        return count > 0
    }

    /// Whether bytes (or end of stream) can be read, waiting up to `waiting`.
    func hasDataAvailable(waiting: Duration) -> Bool {
        if !buffer.isEmpty { return true }
        var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let (seconds, attoseconds) = waiting.components
        let milliseconds = Int32(seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        return poll(&request, 1, milliseconds) > 0
    }

    /// Reads one response. `bodyless` for answers to HEAD. Nil if the server closed before sending a byte.
    func readResponse(bodyless: Bool = false) throws -> RawResponse? {
        let separator = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while true {
            if let range = buffer.firstRange(of: separator) { headEnd = range.upperBound; break }
            guard try fill() else {
                if buffer.isEmpty { return nil }
                let partial = String(decoding: buffer, as: UTF8.self)
                throw RawClientError(description: "closed inside a response head: \(partial)")
            }
        }
        let lines = String(decoding: buffer[..<(headEnd! - 4)], as: UTF8.self).components(separatedBy: "\r\n")
        buffer.removeFirst(headEnd!)
        let statusParts = lines[0].split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw RawClientError(description: "bad status line \(lines[0])")
        }
        var response = RawResponse(status: status, headers: [], body: [])
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            response.headers.append((String(line[..<colon]), value))
        }
        let length = bodyless ? 0 : Int(response.header("Content-Length") ?? "0") ?? 0
        while buffer.count < length {
            guard try fill() else { throw RawClientError(description: "closed inside a body") }
        }
        response.body = Array(buffer[..<length])
        buffer.removeFirst(length)
        return response
    }

    /// Reads one response, failing the test if there is none.
    func expectResponse(bodyless: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws
        -> RawResponse
    {
        guard let response = try readResponse(bodyless: bodyless) else {
            XCTFail("connection closed without a response", file: file, line: line)
            throw RawClientError(description: "no response")
        }
        return response
    }

    /// Waits for the server to close: true at end of stream, false on a timeout or reset. Discards data.
    func waitForClose() -> Bool {
        buffer = []
        while true {
            do {
                if try !fill() { return true }
                buffer = []
            } catch {
                return false
            }
        }
    }
}
