// Reading an untrusted input file with a size bound, shared by the .npy and labels-CSV readers: the
// size is checked before reading (a FIFO or a device such as /dev/zero has no meaningful size and would
// be read without bound) and again after (the file may have grown in between).
import Foundation

/// Why a bounded read failed; each reader maps it to its own error type.
enum BoundedReadFailure: Error {
    case unreadable(String)
    case tooLarge(bytes: Int)
}

/// The contents of the regular file at `url` if it holds at most `maxBytes`; memory-mapped when `mapped`.
func readBoundedFile(_ url: URL, maxBytes: Int, mapped: Bool) throws(BoundedReadFailure) -> Data {
    let size: Int
    do {
        let attributes = try url.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey])
        guard attributes.isRegularFile == true else { throw BoundedReadFailure.unreadable("not a regular file") }
        size = attributes.fileSize ?? 0
    } catch let error as BoundedReadFailure {
        throw error
    } catch {
        throw .unreadable(error.localizedDescription)
    }
    guard size <= maxBytes else { throw .tooLarge(bytes: size) }
    let data: Data
    do { data = try Data(contentsOf: url, options: mapped ? .alwaysMapped : []) } catch {
        throw .unreadable(error.localizedDescription)
    }
    guard data.count <= maxBytes else { throw .tooLarge(bytes: data.count) }
    return data
}
