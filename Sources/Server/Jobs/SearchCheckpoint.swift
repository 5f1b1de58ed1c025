// The saved progress of a job's nearest-patch search over all other images (the O(N²) part, hours for
// thousands of images), so that a server restart continues the search instead of starting it over. One file
// per job in data/checkpoints, written whole to a temporary name and renamed over the old one, so a crash
// leaves the previous state or the new one. The file is untrusted on reading: anything that is not exactly a
// state of this job's search (size, magic, shape, fingerprint of the embeddings, the state's own checks) is
// ignored and the search starts over.
//
// Layout, little-endian: "ACSRCH01", then UInt64 images, patches, dimensions, fingerprint, next image, then
// images × patches Float64 sums, then the SHA-256 of everything before it (a file torn by a power cut is not
// taken for a state).
import Engine
import Foundation

struct SearchCheckpoint: Sendable {
    static let magic = Array("ACSRCH01".utf8)
    static let headerBytes = 8 + 5 * 8

    /// What the saved state belongs to: the searched embeddings' shape and a fingerprint of their values
    /// and of the projection, if any (the search runs on the projected embeddings).
    struct Key: Equatable, Sendable {
        var images: Int
        var patches: Int
        var dimensions: Int
        var fingerprint: UInt64

        init(_ z: PatchEmbeddings, search: NeighbourSearch) {
            images = z.images
            patches = z.patches
            dimensions = z.dimensions
            // Every 257th value and the projection's size and seed: equal features give equal keys; features
            // from another backbone, size or build almost surely do not.
            var hash = SHA256()
            var sample = [UInt32]()
            sample.reserveCapacity(1 << 16)
            z.values.withUnsafeBufferPointer { v in
                for i in stride(from: 0, to: v.count, by: 257) {
                    sample.append(v[i].bitPattern.littleEndian)
                    if sample.count == 1 << 16 { sample.withUnsafeBytes { hash.update($0) }; sample.removeAll(keepingCapacity: true) }
                }
            }
            sample.withUnsafeBytes { hash.update($0) }
            [UInt64(search.projection ?? 0).littleEndian, (search.projection == nil ? 0 : search.seed).littleEndian]
                .withUnsafeBytes { hash.update($0) }
            fingerprint = hash.finalize().prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
        }
    }

    let url: URL

    init(directory: String, jobID: String) {
        url = URL(fileURLWithPath: directory).appendingPathComponent(jobID + ".state")
    }

    /// The saved state for `key`, or nil when there is none or the file is not one for this key.
    func load(_ key: Key) -> ExactSearchState? {
        let payload = Self.headerBytes + 8 * key.images * key.patches
        guard let data = try? Data(contentsOf: url), data.count == payload + 32 else { return nil }
        return data.withUnsafeBytes { raw -> ExactSearchState? in
            guard Array(raw[0..<8]) == Self.magic else { return nil }
            var checksum = SHA256()
            checksum.update(UnsafeRawBufferPointer(rebasing: raw[0..<payload]))
            guard Array(raw[payload...]) == checksum.finalize() else { return nil }
            func word(_ i: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 + 8 * i, as: UInt64.self)) }
            guard word(0) == UInt64(key.images), word(1) == UInt64(key.patches), word(2) == UInt64(key.dimensions),
                  word(3) == key.fingerprint, word(4) <= UInt64(key.images)
            else { return nil }
            var sums = [Double](repeating: 0, count: key.images * key.patches)
            for i in sums.indices {
                let bits = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: Self.headerBytes + 8 * i, as: UInt64.self))
                sums[i] = Double(bitPattern: bits)
            }
            let state = ExactSearchState(nextImage: Int(word(4)), sums: sums)
            return state.fits(images: key.images, patches: key.patches) ? state : nil
        }
    }

    /// Writes `state` to a temporary file in the same directory and renames it over the checkpoint.
    func save(_ state: ExactSearchState, key: Key) throws {
        var bytes = Self.magic
        bytes.reserveCapacity(Self.headerBytes + 8 * state.sums.count)
        for word in [UInt64(key.images), UInt64(key.patches), UInt64(key.dimensions), key.fingerprint, UInt64(state.nextImage)] {
            withUnsafeBytes(of: word.littleEndian) { bytes.append(contentsOf: $0) }
        }
        for sum in state.sums { withUnsafeBytes(of: sum.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        var checksum = SHA256()
        checksum.update(bytes)
        bytes += checksum.finalize()
        try Data(bytes).write(to: url, options: .atomic)
    }

    func remove() {
        _ = try? System.unlink(url.path)
    }

    /// The job a checkpoint file belongs to, from its name (nil for anything else in the directory).
    static func jobID(fileName: String) -> String? {
        guard fileName.hasSuffix(".state") else { return nil }
        return String(fileName.dropLast(".state".count))
    }
}

/// A job's search over all other images, saving its progress: the state handed out after each block of rows is
/// kept, and written at most every `interval` seconds, and once more when the search is stopped.
final class SearchSaver {
    let checkpoint: SearchCheckpoint
    let key: SearchCheckpoint.Key
    let interval: Double
    let log: @Sendable (String) -> Void
    let id: String
    private(set) var resumption: SearchResumption?
    /// Whether the search starts from saved progress (it then does less than its whole work).
    let resumed: Bool
    private var latest: ExactSearchState?
    private var lastSave = Date()
    private var saveFailed = false

    init(_ checkpoint: SearchCheckpoint, _ z: PatchEmbeddings, _ search: NeighbourSearch, _ interval: Double,
         log: @escaping @Sendable (String) -> Void, id: String) {
        self.checkpoint = checkpoint
        self.key = SearchCheckpoint.Key(z, search: search)
        self.interval = interval
        self.log = log
        self.id = id
        let saved = checkpoint.load(key)
        resumed = saved != nil
        if let saved {
            log("job \(id): resuming its nearest-patch search at image \(saved.nextImage) of \(z.images) (saved progress)")
        }
        resumption = SearchResumption(state: saved) { [unowned self] state in
            latest = state
            if Date().timeIntervalSince(lastSave) >= interval { saveLatest() }
        }
    }

    /// Writes the latest state, if any; a failure (a full disk) is logged once and costs only the resumption.
    func saveLatest() {
        guard let latest else { return }
        do {
            try checkpoint.save(latest, key: key)
            lastSave = Date()
        } catch {
            if !saveFailed { log("job \(id): its search progress cannot be saved (\(error)); a restart would start it over") }
            saveFailed = true
        }
    }
}
