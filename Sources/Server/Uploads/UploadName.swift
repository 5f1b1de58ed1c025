// Client-supplied file names (a multipart `filename`, a tar entry path) turned into the image name and label
// the service reports: `crack/007.png` is image `007.png` labelled `crack`. They end up in JSON and in the
// database, never in a file-system path; still, anything path-like or invisible is rejected here, once.

/// An uploaded image's name and label, from the path the client gave it.
struct UploadName: Sendable, Equatable {
    /// The parent folder's name (`crack` in `bottle/crack/007.png`), or nil for a bare file name.
    var label: String?
    /// The last component (`007.png`).
    var name: String

    /// The longest component, in UTF-8 bytes (the common file-system limit, e.g. ext4's NAME_MAX).
    static let maxComponentBytes = 255
    /// The longest whole path, in UTF-8 bytes.
    static let maxPathBytes = 1024

    /// Splits and checks a client path. `.` and empty components are dropped (`./crack//007.png` is
    /// `crack/007.png`); a trailing `/` leaves no file name and is rejected.
    /// - Throws: `UploadNameError` for an empty or over-long path or component, a leading `/` (absolute), a
    ///   `..` component, a backslash (a Windows separator, ambiguous here: we do not guess), or a control
    ///   character (Unicode category Cc: C0 including NUL, DEL, C1).
    init(clientPath: String) throws(UploadNameError) {
        guard !clientPath.isEmpty else { throw .empty }
        guard clientPath.utf8.count <= Self.maxPathBytes else { throw .tooLong(limit: Self.maxPathBytes) }
        guard !clientPath.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .controlCharacter
        }
        guard !clientPath.contains("\\") else { throw .backslash }
        guard !clientPath.hasPrefix("/") else { throw .absolutePath }
        let components = clientPath.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        guard !components.contains("..") else { throw .parentReference }
        guard !clientPath.hasSuffix("/"), let last = components.last else { throw .missingFileName }
        guard components.allSatisfy({ $0.utf8.count <= Self.maxComponentBytes }) else {
            throw .componentTooLong(limit: Self.maxComponentBytes)
        }
        self.name = String(last)
        self.label = components.count >= 2 ? String(components[components.count - 2]) : nil
    }
}

/// Why a client path cannot name an upload.
enum UploadNameError: Error, Sendable, Equatable {
    case empty
    case tooLong(limit: Int)
    case componentTooLong(limit: Int)
    case controlCharacter
    case backslash
    case absolutePath
    case parentReference
    /// The path ends in `/` or has only `.` components.
    case missingFileName

    /// The status of the reply: always 400.
    var status: Int { 400 }

    /// The machine-readable code for the JSON error body.
    var code: String {
        switch self {
        case .empty: return "empty_file_name"
        case .tooLong: return "file_name_too_long"
        case .componentTooLong: return "file_name_component_too_long"
        case .controlCharacter: return "file_name_control_character"
        case .backslash: return "file_name_backslash"
        case .absolutePath: return "file_name_absolute"
        case .parentReference: return "file_name_parent_reference"
        case .missingFileName: return "file_name_missing"
        }
    }

    /// A one-line message naming what was wrong.
    var message: String {
        switch self {
        case .empty: return "file name is empty"
        case .tooLong(let limit): return "file name exceeds \(limit) bytes"
        case .componentTooLong(let limit): return "a file name component exceeds \(limit) bytes"
        case .controlCharacter: return "file name contains a control character"
        case .backslash: return "file name contains a backslash; use '/' between folder and file"
        case .absolutePath: return "file name is an absolute path"
        case .parentReference: return "file name contains a '..' component"
        case .missingFileName: return "file name ends in '/' or has no file component"
        }
    }
}

/// How the service names an image in its answers: `label/name`, or `name` without a label (the client's
/// path as `UploadName` normalised it).
func displayName(label: String?, name: String) -> String {
    label.map { "\($0)/\(name)" } ?? name
}
