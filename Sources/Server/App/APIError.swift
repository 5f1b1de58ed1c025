// The service's error replies: a status, a machine-readable code and a message naming what was wrong,
// written as `{"error": {"code": …, "message": …}}`, optionally with a list of per-file problems.
import Foundation
import Glibc

struct APIError: Error, Sendable {
    var status: Int
    var code: String
    var message: String
    /// Per-file findings (422 for bad images): name and reason.
    var files: [(name: String, reason: String)] = []
    var headers = HTTPHeaders()

    init(_ status: Int, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    var response: HTTPResponse {
        var body = "{\"error\":{\"code\":\(JSONString.quoted(code)),\"message\":\(JSONString.quoted(message))"
        if !files.isEmpty {
            body += ",\"files\":[" + files.map {
                "{\"name\":\(JSONString.quoted($0.name)),\"reason\":\(JSONString.quoted($0.reason))}"
            }.joined(separator: ",") + "]"
        }
        body += "}}"
        var response = HTTPResponse.json(status: status, body)
        for field in headers { response.headers.add(name: field.name, value: field.value) }
        return response
    }

    static func notFound(_ what: String) -> APIError { APIError(404, "not_found", what) }

    /// A disk-full (ENOSPC, EDQUOT) failure as 507, anything else as 500; the message names the operation.
    static func storage(_ error: SystemError, while doing: String) -> APIError {
        if error.errno == ENOSPC || error.errno == EDQUOT { return diskFull(while: doing) }
        return APIError(500, "storage_error", "\(doing): \(error)")
    }

    /// A failed database call: SQLITE_FULL (the job database could not grow) as 507 like a full disk, since
    /// the transaction was rolled back and the same request can succeed once there is room; anything else
    /// as 500.
    /// - Parameter outcome: what the client should know happened, e.g. "nothing was kept".
    static func database(_ error: any Error, while doing: String, outcome: String = "nothing was kept") -> APIError {
        if let error = error as? DatabaseError, error.isDiskFull { return diskFull(while: doing, outcome: outcome) }
        return APIError(500, "storage_error", "\(doing): \(error)")
    }

    /// 507 Insufficient Storage (RFC 4918 §11.5).
    private static func diskFull(while doing: String, outcome: String = "nothing was kept") -> APIError {
        APIError(507, "insufficient_storage", "the server's disk is full while \(doing); \(outcome)")
    }
}
