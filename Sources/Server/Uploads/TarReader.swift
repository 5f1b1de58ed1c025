// A streaming tar reader for uploaded archives (POSIX ustar and pax, GNU long names): fed the stored body
// in chunks of any size, it reports each regular file's path and size, its data as slices, and its end.
// Directories are skipped; links, devices and FIFOs reject the whole archive; paths are normalised and checked.

/// What the tar reader produces.
enum TarEvent: Sendable, Equatable {
    /// A regular file starts; `size` bytes of `.fileData` follow, then `.fileEnd`.
    case fileBegin(TarEntry)
    /// Bytes of the current file. Usually a slice of the fed bytes; never empty.
    case fileData(ArraySlice<UInt8>)
    /// The current file is complete.
    case fileEnd
    /// The end-of-archive marker (two zero blocks) was read; anything after it is ignored.
    case end
}

/// A regular file in an archive.
struct TarEntry: Sendable, Equatable {
    /// The normalised path (see `TarPath`): relative, no `.` or `..`, `/`-separated.
    var path: String
    /// The data size in bytes.
    var size: Int
}

/// A streaming tar reader.
///
/// Entry types: `0`, NUL and `7` (contiguous, read as regular per POSIX) are files; `5` directories are
/// skipped; `x` pax headers supply `path` and `size` for the next entry; `g` pax global headers are parsed
/// and ignored (`git archive` writes one holding the commit); `L` GNU long names supply the next entry's
/// path and `K` long link names are read and ignored. Anything else (`1` hard link, `2` symlink, `3`, `4`,
/// `6`, vendor types) is an error. Sizes may be octal or base-256. The archive must end with two zero
/// blocks; what follows them (record padding) is ignored.
struct TarReader: Sendable {
    /// Limits on one archive.
    struct Limits: Sendable, Equatable {
        /// Entries (files, directories, and other types before they are rejected; pax and GNU long-name
        /// headers not counted). Default 10,000.
        var maxEntries = 10_000
        /// Bytes of one entry path as stored. Default 1,024.
        var maxPathBytes = 1024
        /// Sum of regular file sizes, checked at each header before its data is read. Default 2 GiB.
        var maxTotalBytes = 2 * 1024 * 1024 * 1024
        /// Bytes of one pax header's data or GNU long name. Default 64 KiB.
        var maxMetadataBytes = 64 * 1024
    }

    private enum State: Sendable, Equatable {
        /// Collecting a 512-byte header block in `block`.
        case header
        /// Reading a file's data; then `padding` bytes to the block boundary.
        case fileData(remaining: Int, padding: Int)
        /// Collecting pax or long-name data of type `typeflag` into `metadata`; then padding.
        case metadata(typeflag: UInt8, remaining: Int, padding: Int)
        /// Discarding bytes: padding, or a directory's data.
        case skip(remaining: Int)
        case end
        case failed(TarError)
    }

    let limits: Limits
    private var state = State.header
    private var block: [UInt8] = []
    private var metadata: [UInt8] = []
    /// Byte offset in the archive of the next byte to be fed.
    private var offset = 0
    private var zeroBlocks = 0
    /// Archive offset of the pax or long-name header whose data is being read, for error messages.
    private var metadataOffset = 0
    private var entryCount = 0
    private var totalFileBytes = 0
    /// Overrides for the next entry from pax `x` headers or GNU `L` long names.
    private var pendingPath: [UInt8]?
    private var pendingSize: Int?

    init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Reads the next bytes of the archive and returns the events they complete.
    mutating func feed(_ bytes: [UInt8]) throws(TarError) -> [TarEvent] {
        try feed(bytes[...])
    }

    /// Reads the next bytes of the archive and returns the events they complete. After an error every call
    /// throws it again.
    mutating func feed(_ bytes: ArraySlice<UInt8>) throws(TarError) -> [TarEvent] {
        if case .failed(let error) = state { throw error }
        var input = bytes
        var events: [TarEvent] = []
        do {
            while !input.isEmpty {
                let before = input.count
                try step(&input, &events)
                offset += before - input.count
            }
        } catch {
            state = .failed(error)
            throw error
        }
        return events
    }

    /// Reports the end of the archive's bytes: throws `truncated` unless the end-of-archive marker was read.
    mutating func finish() throws(TarError) {
        switch state {
        case .end: return
        case .failed(let error): throw error
        default:
            state = .failed(.truncated)
            throw .truncated
        }
    }

    private mutating func step(_ input: inout ArraySlice<UInt8>, _ events: inout [TarEvent]) throws(TarError) {
        switch state {
        case .header:
            let headerOffset = offset - block.count  // `offset` is where `input` starts
            let needed = TarHeader.blockSize - block.count
            block.append(contentsOf: input.prefix(needed))
            input = input.dropFirst(needed)
            guard block.count == TarHeader.blockSize else { return }
            defer { block.removeAll(keepingCapacity: true) }
            try readHeader(at: headerOffset, &events)
        case .fileData(let remaining, let padding):
            let count = min(remaining, input.count)
            events.append(.fileData(input.prefix(count)))
            input = input.dropFirst(count)
            if count == remaining {
                events.append(.fileEnd)
                state = padding > 0 ? .skip(remaining: padding) : .header
            } else {
                state = .fileData(remaining: remaining - count, padding: padding)
            }
        case .metadata(let typeflag, let remaining, let padding):
            let count = min(remaining, input.count)
            metadata.append(contentsOf: input.prefix(count))
            input = input.dropFirst(count)
            guard count == remaining else {
                state = .metadata(typeflag: typeflag, remaining: remaining - count, padding: padding)
                return
            }
            try applyMetadata(typeflag)
            metadata.removeAll()
            state = padding > 0 ? .skip(remaining: padding) : .header
        case .skip(let remaining):
            let count = min(remaining, input.count)
            input = input.dropFirst(count)
            state = count == remaining ? .header : .skip(remaining: remaining - count)
        case .end:
            input = input[input.endIndex...]
        case .failed:
            preconditionFailure("step called in the failed state")
        }
    }

    /// Acts on the complete header block in `block`, which starts at archive byte `headerOffset`.
    private mutating func readHeader(at headerOffset: Int, _ events: inout [TarEvent]) throws(TarError) {
        if TarHeader.isZeroBlock(block[...]) {
            zeroBlocks += 1
            if zeroBlocks == 2 {
                events.append(.end)
                state = .end
            }
            return
        }
        guard zeroBlocks == 0 else { throw .invalidEndOfArchive(offset: headerOffset) }
        let header = try TarHeader(block: block[...], offset: headerOffset)
        let padding = (TarHeader.blockSize - header.size % TarHeader.blockSize) % TarHeader.blockSize

        switch header.typeflag {
        case UInt8(ascii: "x"), UInt8(ascii: "g"), UInt8(ascii: "L"), UInt8(ascii: "K"):
            guard header.size <= limits.maxMetadataBytes else {
                throw .metadataTooLarge(limit: limits.maxMetadataBytes)
            }
            metadataOffset = headerOffset
            if header.size == 0 {
                try applyMetadata(header.typeflag)
            } else {
                state = .metadata(typeflag: header.typeflag, remaining: header.size, padding: padding)
            }
            return
        default:
            break
        }

        entryCount += 1
        guard entryCount <= limits.maxEntries else { throw .tooManyEntries(limit: limits.maxEntries) }
        let rawPath = pendingPath ?? header.name
        let size = pendingSize ?? header.size
        pendingPath = nil
        pendingSize = nil
        let dataPadding = (TarHeader.blockSize - size % TarHeader.blockSize) % TarHeader.blockSize

        switch header.typeflag {
        case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
            let path = try TarPath.normalize(rawPath, allowEmpty: false, maxBytes: limits.maxPathBytes)
            guard size <= limits.maxTotalBytes - totalFileBytes else {
                throw .totalSizeTooLarge(limit: limits.maxTotalBytes)
            }
            totalFileBytes += size
            events.append(.fileBegin(TarEntry(path: path, size: size)))
            if size == 0 {
                events.append(.fileEnd)
                state = .header
            } else {
                state = .fileData(remaining: size, padding: dataPadding)
            }
        case UInt8(ascii: "5"):
            _ = try TarPath.normalize(rawPath, allowEmpty: true, maxBytes: limits.maxPathBytes)
            // Its data (normally none) is skipped, but a directory claiming more than any upload may hold is
            // refused like a file; a base-256 size near Int.max would otherwise overflow `size + dataPadding`.
            guard size <= limits.maxTotalBytes else { throw .totalSizeTooLarge(limit: limits.maxTotalBytes) }
            state = size + dataPadding > 0 ? .skip(remaining: size + dataPadding) : .header
        default:
            throw .unsupportedEntryType(
                path: String(decoding: rawPath, as: UTF8.self), type: TarHeader.typeName(header.typeflag))
        }
    }

    /// Applies the pax or long-name data collected in `metadata` to the next entry.
    private mutating func applyMetadata(_ typeflag: UInt8) throws(TarError) {
        switch typeflag {
        case UInt8(ascii: "x"), UInt8(ascii: "g"):
            guard let records = TarPaxRecords.parse(metadata) else { throw .invalidPaxHeader(offset: metadataOffset) }
            guard typeflag == UInt8(ascii: "x") else { return }  // global values are not applied
            for record in records {
                switch record.keyword {
                case "path":
                    pendingPath = record.value.isEmpty ? nil : record.value  // empty: back to the header's
                case "size":
                    guard let size = TarPaxRecords.parseSize(record.value) else {
                        throw .invalidPaxHeader(offset: metadataOffset)
                    }
                    pendingSize = size
                default:
                    continue
                }
            }
        case UInt8(ascii: "L"):
            pendingPath = Array(TarHeader.untilNUL(metadata[...]))
        default:
            break  // `K`: the long link name of a link entry, which will be rejected anyway
        }
    }
}
