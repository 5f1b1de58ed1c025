// Every way an uploaded tar archive can be wrong or unwelcome, one case each, with the status, machine code
// and message of the reply, in the same shape as `HTTPParserError`.

/// An error in a tar archive. Terminal for the reader; the upload as a whole is rejected.
enum TarError: Error, Sendable, Equatable {
    /// A header block whose checksum does not match (at this byte offset of the archive).
    case badChecksum(offset: Int)
    /// A header block without the POSIX `ustar\0` `00` or GNU `ustar ` ` \0` magic; pre-POSIX (v7)
    /// archives are not read.
    case unsupportedFormat(offset: Int)
    /// A numeric header field (size, checksum) that is not octal digits or positive base-256.
    case invalidHeaderField(name: String, offset: Int)
    /// One zero block followed by a non-zero block (POSIX: the archive ends with two zero blocks).
    case invalidEndOfArchive(offset: Int)
    /// A link, device, FIFO or other non-regular, non-directory entry. Rejected, not skipped: the server
    /// stores only regular files and never follows or creates links.
    case unsupportedEntryType(path: String, type: String)
    /// A pax extended header (`x`, `g`) whose records do not parse, or whose `size` is not a number.
    case invalidPaxHeader(offset: Int)
    /// A pax header or GNU long name longer than `maxMetadataBytes`.
    case metadataTooLarge(limit: Int)
    /// An entry path starting with `/`.
    case absolutePath(String)
    /// An entry path with a `..` component.
    case parentReference(String)
    /// A file entry whose path is empty (or only `.` and `/`).
    case emptyPath
    /// An entry path that is not UTF-8 or contains NUL.
    case invalidPathEncoding
    /// An entry path longer than `maxPathBytes`.
    case pathTooLong(limit: Int)
    /// More than `maxEntries` entries.
    case tooManyEntries(limit: Int)
    /// Regular files totalling more than `maxTotalBytes`.
    case totalSizeTooLarge(limit: Int)
    /// The archive ended before its two zero blocks.
    case truncated

    /// The status of the reply.
    var status: Int {
        switch self {
        case .tooManyEntries, .totalSizeTooLarge: return 413
        default: return 400
        }
    }

    /// The machine-readable code for the JSON error body.
    var code: String {
        switch self {
        case .badChecksum: return "tar_bad_checksum"
        case .unsupportedFormat: return "tar_unsupported_format"
        case .invalidHeaderField: return "tar_invalid_header_field"
        case .invalidEndOfArchive: return "tar_invalid_end_of_archive"
        case .unsupportedEntryType: return "tar_unsupported_entry_type"
        case .invalidPaxHeader: return "tar_invalid_pax_header"
        case .metadataTooLarge: return "tar_metadata_too_large"
        case .absolutePath: return "tar_absolute_path"
        case .parentReference: return "tar_parent_reference"
        case .emptyPath: return "tar_empty_path"
        case .invalidPathEncoding: return "tar_invalid_path_encoding"
        case .pathTooLong: return "tar_path_too_long"
        case .tooManyEntries: return "tar_too_many_entries"
        case .totalSizeTooLarge: return "tar_total_size_too_large"
        case .truncated: return "tar_truncated"
        }
    }

    /// A one-line message naming what was wrong. Paths are quoted as JSON would quote them.
    var message: String {
        switch self {
        case .badChecksum(let offset): return "tar header at byte \(offset) has a bad checksum"
        case .unsupportedFormat(let offset): return "tar header at byte \(offset) is not ustar, pax or GNU"
        case .invalidHeaderField(let name, let offset):
            return "tar header at byte \(offset) has an invalid \(name) field"
        case .invalidEndOfArchive(let offset): return "tar archive has a lone zero block before byte \(offset)"
        case .unsupportedEntryType(let path, let type):
            return "tar entry \(JSONString.quoted(path)) is a \(type); only regular files and directories are accepted"
        case .invalidPaxHeader(let offset): return "tar pax header at byte \(offset) is malformed"
        case .metadataTooLarge(let limit): return "tar extended header or long name exceeds \(limit) bytes"
        case .absolutePath(let path): return "tar entry path \(JSONString.quoted(path)) is absolute"
        case .parentReference(let path): return "tar entry path \(JSONString.quoted(path)) contains '..'"
        case .emptyPath: return "tar file entry has an empty path"
        case .invalidPathEncoding: return "tar entry path is not UTF-8"
        case .pathTooLong(let limit): return "tar entry path exceeds \(limit) bytes"
        case .tooManyEntries(let limit): return "tar archive has more than \(limit) entries"
        case .totalSizeTooLarge(let limit): return "tar archive's files exceed \(limit) bytes in total"
        case .truncated: return "tar archive ends before its end-of-archive blocks"
        }
    }
}
