// A folder of images as a labelled batch: images in sub-folders take the sub-folder's name as their
// ground-truth label (`test/crack/007.png` → "crack"); images directly in the folder have no label.
// Order is deterministic (label, then file name) so that runs and their outputs line up.
import Foundation

/// One image file of a batch.
public struct ImageFile: Sendable, Equatable {
    /// Path relative to the batch folder, e.g. "crack/007.png".
    public let name: String
    public let label: String?
    public let url: URL
}

public enum ImageFolder {
    /// File extensions read as images (lower-cased).
    public static let extensions: Set<String> = ["png", "jpg", "jpeg"]

    /// Lists the images of `folder` and of its immediate sub-folders (hidden entries skipped).
    /// - Throws: `ImageFolderError` when the folder cannot be read or holds no image.
    public static func list(_ folder: URL) throws(ImageFolderError) -> [ImageFile] {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .notAFolder("\(folder.path) is not a folder")
        }
        var files = [ImageFile]()
        for entry in try contents(folder) {
            var entryIsDirectory: ObjCBool = false
            _ = fm.fileExists(atPath: entry.path, isDirectory: &entryIsDirectory)
            if entryIsDirectory.boolValue {
                let label = entry.lastPathComponent
                for file in try contents(entry) where isImage(file) {
                    files.append(ImageFile(name: "\(label)/\(file.lastPathComponent)", label: label, url: file))
                }
            } else if isImage(entry) {
                files.append(ImageFile(name: entry.lastPathComponent, label: nil, url: entry))
            }
        }
        guard !files.isEmpty else {
            throw .empty("\(folder.path) holds no .png or .jpg images (directly or one folder down)")
        }
        return files.sorted { ($0.label ?? "", $0.name) < ($1.label ?? "", $1.name) }
    }

    static func isImage(_ url: URL) -> Bool {
        extensions.contains(url.pathExtension.lowercased()) && !url.lastPathComponent.hasPrefix(".")
    }

    static func contents(_ folder: URL) throws(ImageFolderError) -> [URL] {
        do {
            return try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
                .filter { !$0.lastPathComponent.hasPrefix(".") }
        } catch {
            throw .unreadable("cannot list \(folder.path): \(error.localizedDescription)")
        }
    }
}

public enum ImageFolderError: Error, Equatable, CustomStringConvertible {
    case notAFolder(String)
    case unreadable(String)
    case empty(String)

    public var description: String {
        switch self {
        case .notAFolder(let m), .unreadable(let m), .empty(let m): m
        }
    }
}
