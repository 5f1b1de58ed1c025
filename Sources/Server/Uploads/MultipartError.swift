// Every way a multipart/form-data upload can be wrong, one case each, with the status, machine code and
// message of the reply, in the same shape as `HTTPParserError`.

/// An error in a `multipart/form-data` body or its `Content-Type`. Terminal for the parser.
enum MultipartError: Error, Sendable, Equatable {
    /// The request's media type is not `multipart/form-data` (RFC 7578 §4).
    case notMultipartFormData
    /// `Content-Type` has no `boundary` parameter (RFC 2046 §5.1.1: it is required).
    case missingBoundary
    /// The boundary is empty, longer than 70 characters, uses a character outside `bchars`, ends in a
    /// space (RFC 2046 §5.1.1), or the `Content-Type` parameters do not parse.
    case invalidBoundary
    /// The body ended without any boundary delimiter line.
    case noInitialBoundary
    /// A boundary delimiter followed by something other than `--` or optional whitespace and CRLF
    /// (RFC 2046 §5.1.1 `transport-padding CRLF`).
    case invalidBoundaryLine
    /// A part's header section is longer than `maxPartHeaderBytes`.
    case partHeaderTooLarge(limit: Int)
    /// A part header line that is not `name: value` with a token name and no control characters, is folded,
    /// ends in a bare LF, is not UTF-8, or repeats Content-Disposition or Content-Type.
    case malformedPartHeader
    /// A part without `Content-Disposition: form-data; name="…"` (RFC 7578 §4.2: MUST).
    case invalidContentDisposition
    /// More than `maxParts` parts.
    case tooManyParts(limit: Int)
    /// The body ended inside a part, before the close delimiter `--boundary--` (RFC 2046 §5.1.1).
    case unterminatedPart

    /// The status of the reply.
    var status: Int {
        switch self {
        case .notMultipartFormData: return 415
        case .tooManyParts: return 413
        case .missingBoundary, .invalidBoundary, .noInitialBoundary, .invalidBoundaryLine, .partHeaderTooLarge,
            .malformedPartHeader, .invalidContentDisposition, .unterminatedPart:
            return 400
        }
    }

    /// The machine-readable code for the JSON error body.
    var code: String {
        switch self {
        case .notMultipartFormData: return "not_multipart_form_data"
        case .missingBoundary: return "missing_boundary"
        case .invalidBoundary: return "invalid_boundary"
        case .noInitialBoundary: return "no_initial_boundary"
        case .invalidBoundaryLine: return "invalid_boundary_line"
        case .partHeaderTooLarge: return "part_header_too_large"
        case .malformedPartHeader: return "malformed_part_header"
        case .invalidContentDisposition: return "invalid_content_disposition"
        case .tooManyParts: return "too_many_parts"
        case .unterminatedPart: return "unterminated_part"
        }
    }

    /// A one-line message naming what was wrong.
    var message: String {
        switch self {
        case .notMultipartFormData: return "Content-Type must be multipart/form-data"
        case .missingBoundary: return "Content-Type has no boundary parameter"
        case .invalidBoundary: return "multipart boundary must be 1 to 70 characters allowed by RFC 2046"
        case .noInitialBoundary: return "multipart body has no boundary line"
        case .invalidBoundaryLine: return "multipart boundary line is followed by unexpected bytes"
        case .partHeaderTooLarge(let limit): return "multipart part header section exceeds \(limit) bytes"
        case .malformedPartHeader: return "multipart part header line is malformed"
        case .invalidContentDisposition:
            return "multipart part needs 'Content-Disposition: form-data; name=...'"
        case .tooManyParts(let limit): return "multipart body has more than \(limit) parts"
        case .unterminatedPart: return "multipart body ends before its closing boundary"
        }
    }
}
