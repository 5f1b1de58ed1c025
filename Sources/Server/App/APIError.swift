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
        if error.errno == ENOSPC || error.errno == EDQUOT {
            return APIError(507, "insufficient_storage", "the server's disk is full while \(doing); nothing was kept")
        }
        return APIError(500, "storage_error", "\(doing): \(error)")
    }
}
