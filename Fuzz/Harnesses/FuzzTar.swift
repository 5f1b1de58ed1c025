// libFuzzer harness for the tar reader: the input is an uploaded archive. Header checksums would stop
// almost every mutation at the first block, so each input is read twice: as it is, and with the checksum
// of every non-zero 512-byte block recomputed (headers sit on block boundaries; a data block that gets a
// "checksum" is still just data). Each reading is done in one block and in small pieces, which must agree;
// every file's path must be normalised and its data exactly its size, and goes through `UploadName`.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTar(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    for archive in [bytes, withChecksumsFixed(bytes)] {
        let whole = read([archive[...]])
        let piecewise = read(pieces(of: archive[...], size: pieceSize(for: archive[...])))
        fuzzCheck(agree(whole, piecewise), "one block gave \(whole), pieces gave \(piecewise)")
        checkFiles(whole.events)
    }
    return 0
}

/// Small limits, so that inputs of a few KiB reach each of them.
private let fuzzLimits = TarReader.Limits(maxEntries: 8, maxPathBytes: 200, maxTotalBytes: 4096, maxMetadataBytes: 1024)

/// The events for `reads` (data joined), then the error that ended the archive, if any.
private func read(_ reads: [ArraySlice<UInt8>]) -> (events: [TarEvent], error: TarError?) {
    var reader = TarReader(limits: fuzzLimits)
    let result = streamEvents(
        reads,
        feed: { (bytes: ArraySlice<UInt8>) throws(TarError) in try reader.feed(bytes) },
        finish: { () throws(TarError) in try reader.finish() },
        join: { if case .fileData(let a) = $0, case .fileData(let b) = $1 { .fileData(a + b) } else { nil } },
        isEmptyData: { $0 == .fileData([]) })
    if let error = result.error { _ = (error.status, error.code, error.message) }  // the reply the upload route builds
    return result
}

/// What the upload route relies on: relative paths without `.`, `..` or empty components, and exactly
/// `size` data bytes per file.
private func checkFiles(_ events: [TarEvent]) {
    var current: TarEntry?
    var received = 0
    for event in events {
        switch event {
        case .fileBegin(let entry):
            let components = entry.path.split(separator: "/", omittingEmptySubsequences: false)
            fuzzCheck(
                !entry.path.hasPrefix("/") && !components.contains { $0.isEmpty || $0 == "." || $0 == ".." },
                "path \(entry.path.debugDescription) is not normalised")
            _ = try? UploadName(clientPath: entry.path)
            (current, received) = (entry, 0)
        case .fileData(let bytes):
            received += bytes.count
        case .fileEnd:
            fuzzCheck(received == current?.size, "\(received) data bytes for \(String(describing: current))")
            current = nil
        case .end:
            break
        }
    }
}

/// `bytes` with the checksum field (offset 148, 8 bytes: six octal digits, NUL, space) of every complete,
/// non-zero 512-byte block set to the block's unsigned byte sum.
private func withChecksumsFixed(_ bytes: [UInt8]) -> [UInt8] {
    var fixed = bytes
    for start in stride(from: 0, to: fixed.count - 511, by: 512) {
        let block = start..<(start + 512)
        guard fixed[block].contains(where: { $0 != 0 }) else { continue }
        fixed.replaceSubrange((start + 148)..<(start + 156), with: Array("        ".utf8))
        let sum = fixed[block].reduce(0) { $0 + Int($1) }
        let octal = String(sum, radix: 8)
        let field = Array((String(repeating: "0", count: 6 - octal.count) + octal).utf8) + [0, UInt8(ascii: " ")]
        fixed.replaceSubrange((start + 148)..<(start + 156), with: field)
    }
    return fixed
}
