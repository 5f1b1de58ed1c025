// The malformed-input catalogue (issue 7): named bad requests, sent as raw bytes over loopback to the real
// service (`TestService`), each with the exact status and error code it gets and what happens to the
// connection; after each one the server must answer GET /healthz on a new connection, and on the same one
// where keep-alive is legitimate (the request was read whole), and must have kept no file. The limits are
// the server's own (`HTTPLimits.default`): 16 KiB head, 8 KiB request line, 100 fields, 1 KiB chunk-size
// line. The service embeds no .npy reader, so NaN embeddings are catalogued against `cluster` at the end.
import Engine
import Foundation
import XCTest

@testable import Server

/// What the server must do with one catalogue request.
private enum Outcome {
    /// Answer with this status and `{"error": {"code": …}}`, `Connection: close`, then close: a protocol
    /// error, or a request refused from its head before its body was read.
    case closes(Int, String)
    /// Answer with this status and error code and keep the connection (the whole request was read).
    case keepsOpen(Int, String)
    /// Answer with this success status and keep the connection: the at-the-limit twins of the entries above.
    case succeeds(Int)
    /// The client shuts its sending side after these bytes, in the middle of the request: the server closes
    /// without answering (there is no complete request to answer, and the client said it is done).
    case closesWithoutAnswer
}

/// One named bad request.
private struct Entry {
    var name: String
    var bytes: [UInt8]
    var outcome: Outcome
    /// Text the response body must contain (a message or a per-file reason), when the code alone says too little.
    var detail: String? = nil
}

private let token = "catalogue-token-0123456789abcdef"
private let limits = HTTPLimits.default
/// Small, so that the too-many-images entry stays small; the body limit for the too-large entries.
private let maxImages = 4
private let maxBodyBytes = 1 << 20

// MARK: The catalogue

private func catalogue() throws -> [Entry] {
    let png = try fixtureImage("png_rgb8_16x16.png")
    let good = FormPart(name: "images", filename: "good/a.png", data: png)
    func image(_ filename: String, _ data: [UInt8]) -> FormPart { FormPart(name: "images", filename: filename, data: data) }
    func options(_ json: String) -> FormPart { FormPart(name: "options", data: Array(json.utf8)) }
    let form = multipartBody([good, good])
    let boundary = "test-boundary-7MA4YWxk"
    let partHeaderLimit = MultipartParser.Limits().maxPartHeaderBytes
    var truncatedJPEG = try fixtureImage("jpeg_baseline420_64x48.jpg")
    truncatedJPEG.removeLast(truncatedJPEG.count / 2)
    let nanNPY = Array(try NPYArray.encode(shape: [2, 2], values: [1, .nan, 3, 4]))

    return [
        // Request line and version (RFC 9112 §3, RFC 9110 §15.6.6).
        Entry(name: "HTTP/0.9 request line", bytes: Array("GET /healthz\r\n".utf8),
              outcome: .closes(505, "unsupported_version"), detail: "HTTP/0.9"),
        Entry(name: "HTTP/2 connection preface", bytes: Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8),
              outcome: .closes(505, "unsupported_version"), detail: "HTTP/2.0"),
        Entry(name: "HTTP/2.0 request line", bytes: head("GET /healthz HTTP/2.0", "Host: localhost"),
              outcome: .closes(505, "unsupported_version")),
        Entry(name: "unknown version HTTP/1.2", bytes: head("GET /healthz HTTP/1.2", "Host: localhost"),
              outcome: .closes(505, "unsupported_version")),
        Entry(name: "two-digit minor version", bytes: head("GET /healthz HTTP/1.10", "Host: localhost"),
              outcome: .closes(400, "invalid_request_line")),
        Entry(name: "lower-case version name", bytes: head("GET /healthz http/1.1", "Host: localhost"),
              outcome: .closes(400, "invalid_request_line")),
        Entry(name: "two spaces after the method", bytes: head("GET  /healthz HTTP/1.1", "Host: localhost"),
              outcome: .closes(400, "invalid_request_line")),
        Entry(name: "bare CR inside the request line", bytes: head("GET /healthz\rHTTP/1.1", "Host: localhost"),
              outcome: .closes(400, "invalid_request_line")),
        Entry(name: "target not in origin form", bytes: head("GET healthz HTTP/1.1", "Host: localhost"),
              outcome: .closes(400, "invalid_request_target")),
        Entry(name: "percent-encoding that is not UTF-8", bytes: head("GET /v1/jobs/%FF HTTP/1.1", "Host: localhost"),
              outcome: .closes(400, "invalid_request_target")),
        Entry(name: "empty lines before the request line past the head limit",
              bytes: Array(String(repeating: "\r\n", count: limits.maxHeaderBytes / 2 + 1).utf8) + head("GET /healthz HTTP/1.1", "Host: localhost"),
              outcome: .closes(431, "header_too_large")),
        Entry(name: "absurd URI length (1 MiB)", bytes: requestLine(ofBytes: 1 << 20),
              outcome: .closes(414, "request_line_too_long")),
        Entry(name: "request line one byte over its limit", bytes: requestLine(ofBytes: limits.maxRequestLineBytes + 1),
              outcome: .closes(414, "request_line_too_long"), detail: "exceeds \(limits.maxRequestLineBytes) bytes"),
        Entry(name: "request line exactly at its limit", bytes: requestLine(ofBytes: limits.maxRequestLineBytes),
              outcome: .succeeds(200)),

        // Header section (RFC 9110 §5.5, RFC 9112 §5).
        Entry(name: "header section one byte over its limit", bytes: headerSection(ofBytes: limits.maxHeaderBytes + 1),
              outcome: .closes(431, "header_too_large"), detail: "exceeds \(limits.maxHeaderBytes) bytes"),
        Entry(name: "header section exactly at its limit", bytes: headerSection(ofBytes: limits.maxHeaderBytes),
              outcome: .succeeds(200)),
        Entry(name: "one field over the field count", bytes: fields(limits.maxHeaderCount + 1),
              outcome: .closes(431, "too_many_headers")),
        Entry(name: "fields exactly at the field count", bytes: fields(limits.maxHeaderCount), outcome: .succeeds(200)),
        Entry(name: "NUL in a field value", bytes: head("GET /healthz HTTP/1.1", "Host: localhost", "X-A: a\u{0}b"),
              outcome: .closes(400, "invalid_header_value")),
        Entry(name: "bare CR in a field value", bytes: head("GET /healthz HTTP/1.1", "Host: localhost", "X-A: a\rb"),
              outcome: .closes(400, "invalid_header_value")),
        Entry(name: "NUL in a field name", bytes: head("GET /healthz HTTP/1.1", "Host: localhost", "X-\u{0}A: b"),
              outcome: .closes(400, "invalid_header_name")),
        Entry(name: "obs-fold continuation line", bytes: head("GET /healthz HTTP/1.1", "Host: localhost", "X-A: a", " b"),
              outcome: .closes(400, "obsolete_line_folding")),
        Entry(name: "space before the colon", bytes: head("GET /healthz HTTP/1.1", "Host : localhost"),
              outcome: .closes(400, "invalid_header_name")),
        Entry(name: "field line without a colon", bytes: head("GET /healthz HTTP/1.1", "Host: localhost", "X-A b"),
              outcome: .closes(400, "invalid_header_name")),
        Entry(name: "HTTP/1.1 without Host", bytes: head("GET /healthz HTTP/1.1"), outcome: .closes(400, "invalid_host")),
        Entry(name: "two Host fields", bytes: head("GET /healthz HTTP/1.1", "Host: a", "Host: b"),
              outcome: .closes(400, "invalid_host")),
        Entry(name: "unknown expectation", bytes: head("GET /healthz HTTP/1.1", "Host: localhost", "Expect: 200-ok"),
              outcome: .closes(417, "unsupported_expectation")),

        // Body framing and request smuggling (RFC 9112 §6.1, §6.3, §11.2).
        Entry(name: "Content-Length with Transfer-Encoding",
              bytes: upload(["Content-Length: 4", "Transfer-Encoding: chunked"], body: "0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n"),
              outcome: .closes(400, "content_length_with_transfer_encoding")),
        Entry(name: "Transfer-Encoding before Content-Length",
              bytes: upload(["Transfer-Encoding: chunked", "Content-Length: 4"], body: "0\r\n\r\n"),
              outcome: .closes(400, "content_length_with_transfer_encoding")),
        Entry(name: "two Content-Length lines that differ", bytes: upload(["Content-Length: 5", "Content-Length: 6"], body: "hello!"),
              outcome: .closes(400, "invalid_content_length")),
        Entry(name: "Content-Length list that differs", bytes: upload(["Content-Length: 5, 6"], body: "hello!"),
              outcome: .closes(400, "invalid_content_length")),
        Entry(name: "repeated identical Content-Length is one length",
              bytes: head("GET /healthz HTTP/1.1", "Host: localhost", "Content-Length: 5", "Content-Length: 5") + Array("hello".utf8),
              outcome: .succeeds(200)),
        Entry(name: "non-numeric Content-Length", bytes: upload(["Content-Length: abc"]), outcome: .closes(400, "invalid_content_length")),
        Entry(name: "negative Content-Length", bytes: upload(["Content-Length: -1"]), outcome: .closes(400, "invalid_content_length")),
        Entry(name: "Content-Length with a plus sign", bytes: upload(["Content-Length: +5"], body: "hello"),
              outcome: .closes(400, "invalid_content_length")),
        Entry(name: "Content-Length overflowing 64 bits", bytes: upload(["Content-Length: 18446744073709551616"]),
              outcome: .closes(400, "invalid_content_length")),
        Entry(name: "Content-Length over the body limit", bytes: upload(["Content-Length: \(maxBodyBytes + 1)"]),
              outcome: .closes(413, "body_too_large")),
        Entry(name: "body cut short, then the client shuts its side",
              bytes: upload(["Content-Length: 1000"], body: String(repeating: "x", count: 500)), outcome: .closesWithoutAnswer),
        Entry(name: "Transfer-Encoding gzip, chunked", bytes: upload(["Transfer-Encoding: gzip, chunked"], body: "0\r\n\r\n"),
              outcome: .closes(501, "unsupported_transfer_encoding")),
        Entry(name: "Transfer-Encoding identity", bytes: upload(["Transfer-Encoding: identity"], body: "0\r\n\r\n"),
              outcome: .closes(400, "invalid_transfer_encoding")),
        Entry(name: "Transfer-Encoding chunked twice", bytes: upload(["Transfer-Encoding: chunked, chunked"], body: "0\r\n\r\n"),
              outcome: .closes(400, "invalid_transfer_encoding")),
        Entry(name: "Transfer-Encoding on HTTP/1.0",
              bytes: head("POST /v1/jobs HTTP/1.0", "Transfer-Encoding: chunked") + Array("0\r\n\r\n".utf8),
              outcome: .closes(400, "transfer_encoding_with_http_1_0")),
        Entry(name: "Transfer-Encoding with a space before the colon",
              bytes: upload(["Transfer-Encoding : chunked", "Content-Length: 5"], body: "0\r\n\r\n"),
              outcome: .closes(400, "invalid_header_name")),

        // Chunked bodies (RFC 9112 §7.1), on an upload so that the body goes to a temporary file.
        Entry(name: "non-hex chunk size", bytes: chunkedUpload("zz\r\nhello\r\n0\r\n\r\n"), outcome: .closes(400, "invalid_chunk_size")),
        Entry(name: "negative chunk size", bytes: chunkedUpload("-5\r\nhello\r\n0\r\n\r\n"), outcome: .closes(400, "invalid_chunk_size")),
        Entry(name: "chunk size overflowing 64 bits", bytes: chunkedUpload("1" + String(repeating: "0", count: 16) + "\r\n"),
              outcome: .closes(400, "invalid_chunk_size")),
        Entry(name: "chunk size over the body limit", bytes: chunkedUpload(String(maxBodyBytes + 1, radix: 16) + "\r\n"),
              outcome: .closes(413, "body_too_large")),
        Entry(name: "chunk data without its CRLF", bytes: chunkedUpload("5\r\nhelloXX0\r\n\r\n"),
              outcome: .closes(400, "missing_crlf_after_chunk_data")),
        Entry(name: "NUL in a chunked trailer field", bytes: chunkedUpload("0\r\nX-T: a\u{0}\r\n\r\n"),
              outcome: .closes(400, "invalid_header_value")),
        Entry(name: "chunk size line ending in a bare LF", bytes: chunkedUpload("5\nhello\r\n0\r\n\r\n"),
              outcome: .closes(400, "bare_line_feed_in_chunked_body")),
        Entry(name: "chunk extension with a control character", bytes: chunkedUpload("5;a=\u{1}\r\nhello\r\n0\r\n\r\n"),
              outcome: .closes(400, "invalid_chunk_size")),
        Entry(name: "chunk extension one byte over the size-line limit",
              bytes: chunkedUpload(chunkSizeLine(ofBytes: limits.maxChunkSizeLineBytes + 1) + "hello\r\n0\r\n\r\n"),
              outcome: .closes(400, "chunk_size_line_too_long")),
        Entry(name: "chunk extension exactly at the size-line limit",
              bytes: head("GET /healthz HTTP/1.1", "Host: localhost", "Transfer-Encoding: chunked")
                  + Array((chunkSizeLine(ofBytes: limits.maxChunkSizeLineBytes) + "hello\r\n0\r\n\r\n").utf8),
              outcome: .succeeds(200)),

        // multipart/form-data (RFC 7578, RFC 2046 §5.1).
        Entry(name: "multipart without a boundary", bytes: upload("multipart/form-data", form.body),
              outcome: .keepsOpen(400, "missing_boundary")),
        Entry(name: "multipart boundary of 71 characters",
              bytes: upload("multipart/form-data; boundary=" + String(repeating: "b", count: 71), form.body),
              outcome: .keepsOpen(400, "invalid_boundary")),
        Entry(name: "multipart body without its boundary", bytes: upload(form.contentType, Array("just text".utf8)),
              outcome: .keepsOpen(400, "no_initial_boundary")),
        Entry(name: "multipart unterminated part", bytes: upload(form.contentType, Array(form.body.dropLast(20))),
              outcome: .keepsOpen(400, "unterminated_part")),
        Entry(name: "multipart part without Content-Disposition",
              bytes: upload(form.contentType, Array("--\(boundary)\r\nContent-Type: image/png\r\n\r\nxx\r\n--\(boundary)--\r\n".utf8)),
              outcome: .keepsOpen(400, "invalid_content_disposition")),
        Entry(name: "multipart part header over its limit",
              bytes: upload(form.contentType, Array(("--\(boundary)\r\nX-Pad: " + String(repeating: "p", count: partHeaderLimit) + "\r\n\r\n").utf8)),
              outcome: .keepsOpen(400, "part_header_too_large")),
        Entry(name: "multipart filename with a backslash", bytes: upload([good, image("good\\\\b.png", png)]),
              outcome: .keepsOpen(400, "file_name_backslash")),
        // The parser's own part limit (10,000) is above any max_images under 10,000: the image count binds first.
        Entry(name: "multipart with more image parts than max_images",
              bytes: upload(Array(repeating: good, count: maxImages + 1)), outcome: .keepsOpen(413, "too_many_images")),
        Entry(name: "multipart with two options parts", bytes: upload([good, good, options("{}"), options("{}")]),
              outcome: .keepsOpen(400, "duplicate_options")),
        Entry(name: "multipart options part over 64 KiB",
              bytes: upload([good, good, options("{\"exclude\": [\"" + String(repeating: "x", count: JobOptions.maxBytes) + "\"]}")]),
              outcome: .keepsOpen(400, "invalid_option"), detail: "exceeds \(JobOptions.maxBytes) bytes"),

        // tar archives: nothing path-like or link-like is ever stored, and a bad archive keeps nothing.
        Entry(name: "tar with a .. path", bytes: tarUpload { $0.file("good/a.png", png); $0.file("../escape.png", png) },
              outcome: .keepsOpen(400, "tar_parent_reference")),
        Entry(name: "tar with an absolute path", bytes: tarUpload { $0.file("good/a.png", png); $0.file("/etc/escape.png", png) },
              outcome: .keepsOpen(400, "tar_absolute_path")),
        Entry(name: "tar with a .. path in a pax header",
              bytes: tarUpload { $0.pax([("path", "good/../../escape.png")]); $0.file("good/a.png", png) },
              outcome: .keepsOpen(400, "tar_parent_reference")),
        Entry(name: "tar with an absolute GNU long name",
              bytes: tarUpload { $0.file("././@LongLink", Array("/etc/escape.png".utf8), typeflag: "L"); $0.file("good/a.png", png) },
              outcome: .keepsOpen(400, "tar_absolute_path")),
        Entry(name: "tar with a symbolic link", bytes: tarUpload { $0.file("good/a.png", png); $0.file("good/link.png", [], typeflag: "2") },
              outcome: .keepsOpen(400, "tar_unsupported_entry_type"), detail: "symbolic link"),
        Entry(name: "tar with a hard link", bytes: tarUpload { $0.file("good/a.png", png); $0.file("good/link.png", [], typeflag: "1") },
              outcome: .keepsOpen(400, "tar_unsupported_entry_type"), detail: "hard link"),
        Entry(name: "truncated tar", bytes: tarUpload(cut: 700) { $0.file("good/a.png", png) },
              outcome: .keepsOpen(400, "tar_truncated")),
        Entry(name: "tar header with a bad checksum",
              bytes: tarUpload { $0.header(name: Array("good/a.png".utf8), size: png.count, checksumDelta: 1); $0.data(png) },
              outcome: .keepsOpen(400, "tar_bad_checksum")),
        Entry(name: "tar size field that is not octal",
              bytes: tarUpload { $0.header(name: Array("good/a.png".utf8), size: 0, sizeField: Array("0000000009z\u{0}".utf8)) },
              outcome: .keepsOpen(400, "tar_invalid_header_field")),
        Entry(name: "tar entry declaring 8 GiB", bytes: tarUpload { $0.header(name: Array("good/a.png".utf8), size: 0o77777777777) },
              outcome: .keepsOpen(413, "tar_total_size_too_large")),

        // Images: probed from their headers at upload; one bad image refuses the whole upload (422).
        Entry(name: "PNG declaring 100000×100000 pixels",
              bytes: upload([good, image("bad/bomb.png", try fixtureImage("broken_png_huge_100000x100000.png"))]),
              outcome: .keepsOpen(422, "invalid_images"), detail: "100000×100000 pixels, more than the limit"),
        Entry(name: "truncated PNG", bytes: upload([good, image("bad/cut.png", try fixtureImage("broken_png_truncated.png"))]),
              outcome: .keepsOpen(422, "invalid_images"), detail: "bad/cut.png"),
        Entry(name: "truncated JPEG", bytes: upload([good, image("bad/cut.jpg", truncatedJPEG)]),
              outcome: .keepsOpen(422, "invalid_images"), detail: "JPEG data is truncated"),
        Entry(name: "CMYK JPEG", bytes: upload([good, image("bad/cmyk.jpg", try fixtureImage("jpeg_cmyk_37x23.jpg"))]),
              outcome: .keepsOpen(422, "invalid_images"), detail: "CMYK JPEG is not supported"),
        Entry(name: "text file named .png", bytes: upload([good, image("bad/text.png", try fixtureImage("broken_text.bin"))]),
              outcome: .keepsOpen(422, "invalid_images"), detail: "not a PNG or JPEG image"),
        Entry(name: ".npy with NaN uploaded as an image", bytes: upload([good, image("bad/z.npy", nanNPY)]),
              outcome: .keepsOpen(422, "invalid_images"), detail: "not a PNG or JPEG image"),

        // Options: a JSON part (multipart) or the query (tar).
        Entry(name: "options with an unknown key", bytes: upload([good, good, options(#"{"colour": "red"}"#)]),
              outcome: .keepsOpen(400, "unknown_option"), detail: "colour"),
        Entry(name: "options with τ of the wrong type", bytes: upload([good, good, options(#"{"tau": "2"}"#)]),
              outcome: .keepsOpen(400, "invalid_option"), detail: "wrong type"),
        Entry(name: "options with a NaN literal", bytes: upload([good, good, options(#"{"tau": NaN}"#)]),
              outcome: .keepsOpen(400, "invalid_option")),
        Entry(name: "options with τ = 1e999", bytes: upload([good, good, options(#"{"tau": 1e999}"#)]),
              outcome: .keepsOpen(400, "invalid_option"), detail: "beyond the range of a double"),
        Entry(name: "Idempotency-Key with a space", bytes: keyedUpload(["Idempotency-Key: two words"], [good, good]),
              outcome: .keepsOpen(400, "invalid_idempotency_key"), detail: "1 to 255 visible ASCII"),
        Entry(name: "Idempotency-Key twice", bytes: keyedUpload(["Idempotency-Key: a", "Idempotency-Key: b"], [good, good]),
              outcome: .keepsOpen(400, "invalid_idempotency_key"), detail: "more than one"),
        Entry(name: "Idempotency-Key of 256 characters", bytes: keyedUpload(["Idempotency-Key: " + String(repeating: "k", count: 256)], [good, good]),
              outcome: .keepsOpen(400, "invalid_idempotency_key")),
        Entry(name: "options with a negative τ", bytes: upload([good, good, options(#"{"tau": -0.5}"#)]),
              outcome: .keepsOpen(400, "invalid_option"), detail: "'tau' must be a finite number ≥ 0"),
        Entry(name: "tar query with τ = nan", bytes: tarUpload(query: "?tau=nan") { $0.file("good/a.png", png) },
              outcome: .keepsOpen(400, "invalid_option"), detail: "'tau' must be a finite number ≥ 0"),
        Entry(name: "tar query with τ = inf", bytes: tarUpload(query: "?tau=inf") { $0.file("good/a.png", png) },
              outcome: .keepsOpen(400, "invalid_option"), detail: "'tau' must be a finite number ≥ 0"),

        // Routes and the token.
        Entry(name: "unknown job id", bytes: authorized("GET /v1/jobs/" + String(repeating: "0", count: 32) + " HTTP/1.1"),
              outcome: .keepsOpen(404, "not_found")),
        Entry(name: "job id with an encoded ..", bytes: authorized("GET /v1/jobs/%2e%2e HTTP/1.1"),
              outcome: .keepsOpen(404, "not_found")),
        Entry(name: "job id with an encoded NUL echoed as JSON", bytes: authorized("GET /v1/jobs/a%00b HTTP/1.1"),
              outcome: .keepsOpen(404, "not_found"), detail: #"no job \"a\\u0000b\""#),
        Entry(name: "bad bearer token", bytes: head("GET /v1/jobs HTTP/1.1", "Host: localhost", "Authorization: Bearer \(token)x"),
              outcome: .keepsOpen(401, "unauthorized"), detail: "not valid"),
        Entry(name: "upload of another media type, waiting for 100 Continue",
              bytes: head("POST /v1/jobs HTTP/1.1", "Host: localhost", "Authorization: Bearer \(token)", "Content-Type: image/png",
                          "Content-Length: 1000", "Expect: 100-continue"),
              outcome: .closes(415, "unsupported_media_type")),
        Entry(name: "upload with a bad token, refused before its body",
              bytes: head("POST /v1/jobs HTTP/1.1", "Host: localhost", "Authorization: Bearer nope",
                          "Content-Type: \(form.contentType)", "Content-Length: \(form.body.count)") + form.body,
              outcome: .closes(401, "unauthorized")),
    ]
}

// MARK: Request builders

/// `lines` joined by CRLF, then the empty line that ends the head.
private func head(_ lines: String...) -> [UInt8] {
    Array((lines.map { $0 + "\r\n" }.joined() + "\r\n").utf8)
}

/// A GET with the token.
private func authorized(_ requestLine: String) -> [UInt8] {
    head(requestLine, "Host: localhost", "Authorization: Bearer \(token)")
}

/// POST /v1/jobs with the token, a multipart Content-Type, these framing fields and `body` as is.
private func upload(_ framing: [String], body: String = "") -> [UInt8] {
    let lines = ["POST /v1/jobs HTTP/1.1", "Host: localhost", "Authorization: Bearer \(token)",
                 "Content-Type: multipart/form-data; boundary=b"] + framing
    return Array((lines.map { $0 + "\r\n" }.joined() + "\r\n" + body).utf8)
}

/// POST /v1/jobs with the token, this Content-Type and `body` framed by its Content-Length.
private func upload(_ contentType: String, _ body: [UInt8], target: String = "/v1/jobs") -> [UInt8] {
    head("POST \(target) HTTP/1.1", "Host: localhost", "Authorization: Bearer \(token)",
         "Content-Type: \(contentType)", "Content-Length: \(body.count)") + body
}

/// A multipart upload of `parts` with extra header lines.
private func keyedUpload(_ extra: [String], _ parts: [FormPart]) -> [UInt8] {
    let (contentType, body) = multipartBody(parts)
    let lines = ["POST /v1/jobs HTTP/1.1", "Host: localhost", "Authorization: Bearer \(token)",
                 "Content-Type: \(contentType)", "Content-Length: \(body.count)"] + extra
    return Array((lines.map { $0 + "\r\n" }.joined() + "\r\n").utf8) + body
}

/// A multipart upload of `parts`.
private func upload(_ parts: [FormPart]) -> [UInt8] {
    let (contentType, body) = multipartBody(parts)
    return upload(contentType, body)
}

/// A chunked multipart upload whose chunked framing is `framing`, byte for byte.
private func chunkedUpload(_ framing: String) -> [UInt8] {
    upload(["Transfer-Encoding: chunked"], body: framing)
}

/// A tar upload of what `build` writes, with the end-of-archive blocks, cut to `cut` bytes if given.
private func tarUpload(query: String = "", cut: Int? = nil, _ build: (inout TarBuilder) -> Void) -> [UInt8] {
    var tar = TarBuilder()
    build(&tar)
    tar.end()
    return upload("application/x-tar", cut.map { Array(tar.bytes.prefix($0)) } ?? tar.bytes, target: "/v1/jobs" + query)
}

/// GET /healthz whose request line, CRLF included, is exactly `count` bytes (padded in the query).
private func requestLine(ofBytes count: Int) -> [UInt8] {
    let fixed = "GET /healthz?pad= HTTP/1.1\r\n".utf8.count
    let line = "GET /healthz?pad=" + String(repeating: "a", count: count - fixed) + " HTTP/1.1"
    return head(line, "Host: localhost")
}

/// GET /healthz whose head, final empty line included, is exactly `count` bytes (padded in one field).
private func headerSection(ofBytes count: Int) -> [UInt8] {
    let fixed = head("GET /healthz HTTP/1.1", "Host: localhost", "X-Pad: ").count
    return head("GET /healthz HTTP/1.1", "Host: localhost", "X-Pad: " + String(repeating: "p", count: count - fixed))
}

/// GET /healthz with `count` field lines, Host included.
private func fields(_ count: Int) -> [UInt8] {
    let lines = ["GET /healthz HTTP/1.1", "Host: localhost"] + (1..<count).map { "X-F\($0): v" }
    return Array((lines.map { $0 + "\r\n" }.joined() + "\r\n").utf8)
}

/// A chunk-size line for a 5-byte chunk, padded with an extension to exactly `count` bytes, CRLF included.
private func chunkSizeLine(ofBytes count: Int) -> String {
    "5;x=" + String(repeating: "e", count: count - "5;x=\r\n".utf8.count) + "\r\n"
}

// MARK: The runner

final class MalformedRequestCatalogueTests: XCTestCase {
    func testEveryCatalogueEntryGetsItsStatusAndCodeAndTheServerKeepsAnswering() throws {
        let service = try TestService { config in
            config.token = token
            config.maxImages = maxImages
            config.maxBodyBytes = maxBodyBytes
        }
        let entries = try catalogue()
        XCTAssertEqual(Set(entries.map(\.name)).count, entries.count, "entry names must be unique")
        for entry in entries {
            try run(entry, on: service)
        }
    }

    /// The service reads no .npy (an .npy upload is just a file that is not an image, above); `cluster` does.
    /// Each non-finite value is refused with its file and position, before any computation.
    func testNonFiniteEmbeddingsAreRefusedByClusterWithTheirPosition() throws {
        let folder = try EvaluationFixtures.temporaryFolder("catalogue-npy")
        defer { try? FileManager.default.removeItem(at: folder) }
        func npy(_ name: String, _ shape: [Int], _ values: [Float]) throws -> String {
            let url = folder.appendingPathComponent(name)
            try NPYArray(shape: shape, values: values).write(to: url)
            return url.path
        }
        let z = try npy("z.npy", [3, 2, 2], (0..<12).map { Float($0) })
        let zNaN = try npy("z-nan.npy", [3, 2, 2], (0..<12).map { $0 == 5 ? .nan : Float($0) })
        let xInfinity = try npy("x-inf.npy", [3, 2], (0..<6).map { $0 == 4 ? .infinity : Float($0) })
        let normalNaN = try npy("normal-nan.npy", [2, 2, 2], (0..<8).map { $0 == 7 ? .nan : Float($0) })
        let cases: [(name: String, arguments: [String], message: String)] = [
            ("NaN in patch embeddings", [zNaN], "\(zNaN): patch embeddings: value nan at image 1, patch 0, dimension 1"),
            ("infinity in image embeddings", [xInfinity], "\(xInfinity): image embeddings: value inf at image 2, dimension 0"),
            ("NaN in the normal references", [z, "--normal", normalNaN, "--mode", "semi-supervised"],
             "\(normalNaN): patch embeddings: value nan at image 1, patch 1, dimension 1"),
        ]
        for (name, arguments, expected) in cases {
            do {
                _ = try ClusterRun(options: ClusterCommand.parse(arguments)).execute()
                XCTFail("[\(name)] accepted")
            } catch {
                XCTAssertEqual(ClusterCommand.message(for: error), expected, "[\(name)]")
            }
        }
    }

    /// Sends `entry`, checks the response and the connection, then that the server answers and kept nothing.
    private func run(_ entry: Entry, on service: TestService) throws {
        let context = "[\(entry.name)]"
        let client = try RawHTTPClient(port: service.port, timeout: .seconds(10))
        defer { client.close() }
        try client.send(entry.bytes)
        if case .closesWithoutAnswer = entry.outcome {
            client.shutdownOutput()
            XCTAssertNil(try client.readResponse(), "\(context) answered a request that never ended")
        } else {
            guard let response = try client.readResponse() else {
                return XCTFail("\(context) closed without a response")
            }
            check(response, entry, context)
            if case .closes = entry.outcome {
                XCTAssertEqual(response.header("Connection"), "close", context)
                XCTAssert(client.waitForClose(), "\(context) the server did not close the connection")
            } else {
                XCTAssertEqual(response.header("Connection"), "keep-alive", context)
                try client.send(head("GET /healthz HTTP/1.1", "Host: localhost"))
                XCTAssertEqual(try client.readResponse()?.status, 200, "\(context) no answer on the same connection")
            }
        }
        XCTAssertEqual(try service.request("GET", "/healthz").status, 200, "\(context) no answer on a new connection")
        XCTAssertEqual(service.storedImages, [], "\(context) images were kept")
        let bodies = service.dataDirectory.appendingPathComponent("tmp").path
        XCTAssert(LiveServer.eventually { ((try? FileManager.default.contentsOfDirectory(atPath: bodies)) ?? []).isEmpty },
                  "\(context) a request body was left in \(bodies)")
    }

    /// The status, the error code (with a message) in a JSON body, and the detail text.
    private func check(_ response: RawResponse, _ entry: Entry, _ context: String) {
        switch entry.outcome {
        case .closes(let status, let code), .keepsOpen(let status, let code):
            XCTAssertEqual(response.status, status, "\(context) \(response.bodyText)")
            XCTAssertEqual(response.header("Content-Type"), "application/json", context)
            let error = (try? TestService.object(response))?["error"] as? [String: Any]
            XCTAssertEqual(error?["code"] as? String, code, "\(context) \(response.bodyText)")
            XCTAssertFalse((error?["message"] as? String ?? "").isEmpty, "\(context) no message")
        case .succeeds(let status):
            XCTAssertEqual(response.status, status, "\(context) \(response.bodyText)")
        case .closesWithoutAnswer:
            XCTFail("\(context) answered: \(response.status) \(response.bodyText)")
        }
        if let detail = entry.detail {
            XCTAssert(response.bodyText.contains(detail), "\(context) '\(detail)' not in \(response.bodyText)")
        }
    }
}
