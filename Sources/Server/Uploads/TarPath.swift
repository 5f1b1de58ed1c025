// Entry paths of an uploaded tar archive, normalised and checked before anything else sees them: no absolute
// paths, no `..`, valid UTF-8. The server never turns these into file-system paths (see `UploadName`), but
// an archive that tries either is rejected outright rather than partly used.

/// Tar entry path normalisation.
enum TarPath {
    /// The normalised form of a stored path: `.` and empty components dropped, so `./crack//007.png` is
    /// `crack/007.png` and a directory's trailing `/` goes.
    /// - Parameters:
    ///   - allowEmpty: directories may normalise to "" (the archive root, `./`); files may not.
    ///   - maxBytes: the longest path accepted, in UTF-8 bytes, as stored.
    static func normalize(_ raw: [UInt8], allowEmpty: Bool, maxBytes: Int) throws(TarError) -> String {
        guard raw.count <= maxBytes else { throw .pathTooLong(limit: maxBytes) }
        guard !raw.contains(0), let text = HTTPSyntax.utf8String(raw) else {
            throw .invalidPathEncoding
        }
        guard raw.first != UInt8(ascii: "/") else { throw .absolutePath(text) }
        let components = text.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        guard !components.contains("..") else { throw .parentReference(text) }
        guard allowEmpty || !components.isEmpty else { throw .emptyPath }
        return components.joined(separator: "/")
    }
}
