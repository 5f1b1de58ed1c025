// libFuzzer harness for the multipart/form-data parser: the input's first line is the request's
// Content-Type (whose boundary parameter is parsed too), the rest is the body. The body is parsed in one
// block and again in small pieces; both must give the same parts. Each file part's filename goes through
// `UploadName`, as the upload route does.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMultipart(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)[...]
    let lineEnd = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
    let contentType = String(decoding: bytes[..<lineEnd], as: UTF8.self)
    let body = bytes[min(lineEnd + 1, bytes.endIndex)...]
    guard let parser = try? MultipartParser(contentType: contentType, limits: fuzzLimits) else { return 0 }

    let whole = parse(parser, [body])
    let piecewise = parse(parser, pieces(of: body, size: pieceSize(for: body)))
    fuzzCheck(agree(whole, piecewise), "one block gave \(whole), pieces gave \(piecewise)")
    for case .partBegin(_, let filename?, _) in whole.events {
        _ = try? UploadName(clientPath: filename)
    }
    return 0
}

/// Small limits, so that inputs of a few KiB reach each of them.
private let fuzzLimits = MultipartParser.Limits(maxPartHeaderBytes: 256, maxParts: 8, maxTransportPadding: 8)

/// The events `parser` gives for `reads` (data joined), then the error that ended the body, if any.
private func parse(_ initial: MultipartParser, _ reads: [ArraySlice<UInt8>])
    -> (events: [MultipartEvent], error: MultipartError?)
{
    var parser = initial
    let result = streamEvents(
        reads,
        feed: { (bytes: ArraySlice<UInt8>) throws(MultipartError) in try parser.feed(bytes) },
        finish: { () throws(MultipartError) in try parser.finish() },
        join: { if case .partData(let a) = $0, case .partData(let b) = $1 { .partData(a + b) } else { nil } },
        isEmptyData: { $0 == .partData([]) })
    if let error = result.error { _ = (error.status, error.code, error.message) }  // the reply the upload route builds
    return result
}
