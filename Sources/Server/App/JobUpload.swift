// POST /v1/jobs, the body: a multipart/form-data form (repeatable `images` and `normal` file parts, an
// optional `options` JSON part) or a tar archive (each image's parent folder is its label; images under a
// top-level `normal/` folder are the normal references). The body is already on disk (the server streams
// uploads to a temporary file); it is read back in 1 MiB pieces, each image written to its own file under a
// name the server generates, and every image's header probed. Either the whole upload is kept or none of it:
// any failure removes the files written so far.
import Engine
import Foundation

/// One uploaded image, written to the images directory.
struct StagedImage: Sendable {
    var name: UploadName
    /// The file in the images directory (a bare name the server generated).
    var storedName: String
    var info: ImageInfo?
    /// Bytes written.
    var size: Int
    /// SHA-256 of the bytes (hex), computed while writing when the upload asked for it (Idempotency-Key).
    var sha256: String?
}

/// What an upload gave, before it becomes a job.
struct StagedUpload: Sendable {
    var images: [StagedImage] = []
    var normals: [StagedImage] = []
    /// The `options` part (multipart only).
    var optionsJSON: [UInt8]?

    /// Removes every file written.
    func discard(directory: String) {
        for image in images + normals { _ = try? System.unlink(directory + "/" + image.storedName) }
    }
}

struct UploadLimits: Sendable {
    var maxImages: Int
    var maxImagePixels: Int
    var maxImageBytes = ImageDecoder.defaultMaxInputBytes
}

enum JobUpload {
    /// The body's kind, from its Content-Type; nil for anything else (415).
    enum Kind { case multipart, tar }

    static func kind(contentType: String?) -> Kind? {
        guard let contentType else { return nil }
        let mediaType = contentType.split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        switch mediaType {
        case "multipart/form-data": return .multipart
        case "application/x-tar", "application/tar": return .tar
        default: return nil
        }
    }

    /// Writes the body's images into `directory` and probes each one; with `hashing`, each image's SHA-256 is
    /// taken from the bytes as they are written (no second read).
    /// - Throws: `APIError`: 400 for a malformed body or a bad part, 413 for too many images, 422 listing every
    ///   image that cannot be used, 507 when the disk is full. Nothing stays on disk after an error.
    static func stage(
        _ body: RequestBody, contentType: String, directory: String, limits: UploadLimits, hashing: Bool = false
    ) throws(APIError) -> StagedUpload {
        var staging = Staging(directory: directory, limits: limits, hashing: hashing)
        do throws(APIError) {
            switch kind(contentType: contentType) {
            case .multipart?:
                let parser: MultipartParser
                do { parser = try MultipartParser(contentType: contentType) } catch {
                    throw APIError(error.status, error.code, error.message)
                }
                try staging.readMultipart(body, parser: parser)
            case .tar?:
                try staging.readTar(body)
            case nil:
                throw APIError(415, "unsupported_media_type", "upload images as multipart/form-data or application/x-tar")
            }
            try staging.validate()
            return staging.upload
        } catch {
            staging.abandon()
            throw error
        }
    }
}

/// The upload being read: files written so far and the one being written.
private struct Staging {
    let directory: String
    let limits: UploadLimits
    let hashing: Bool
    var upload = StagedUpload()
    var current: (file: TemporaryFile, name: UploadName, isNormal: Bool, size: Int, hash: SHA256?)?
    var options: [UInt8]?
    var partName: String?

    init(directory: String, limits: UploadLimits, hashing: Bool) {
        self.directory = directory
        self.limits = limits
        self.hashing = hashing
    }

    /// The body in pieces of at most 1 MiB.
    func forEachPiece(of body: RequestBody, _ consume: (ArraySlice<UInt8>) throws(APIError) -> Void) throws(APIError) {
        switch body {
        case .none: return
        case .memory(let bytes): try consume(bytes[...])
        case .file(let url, _):
            guard let handle = try? FileHandle(forReadingFrom: url) else {
                throw APIError(500, "storage_error", "the stored request body cannot be read")
            }
            defer { try? handle.close() }
            while true {
                let piece: Data?
                do { piece = try handle.read(upToCount: 1 << 20) } catch {
                    throw APIError(500, "storage_error", "reading the stored request body: \(error)")
                }
                guard let piece, !piece.isEmpty else { return }
                try consume(Array(piece)[...])
            }
        }
    }

    mutating func readMultipart(_ body: RequestBody, parser initial: MultipartParser) throws(APIError) {
        var parser = initial
        try forEachPiece(of: body) { (piece: ArraySlice<UInt8>) throws(APIError) in
            let events: [MultipartEvent]
            do throws(MultipartError) { events = try parser.feed(piece) } catch { throw APIError(error.status, error.code, error.message) }
            for event in events { try handle(event) }
        }
        do throws(MultipartError) { try parser.finish() } catch { throw APIError(error.status, error.code, error.message) }
        upload.optionsJSON = options
    }

    private mutating func handle(_ event: MultipartEvent) throws(APIError) {
        switch event {
        case .partBegin(let name, let filename, _):
            partName = name
            switch name {
            case "images", "normal":
                guard let filename else {
                    throw APIError(400, "missing_filename", "form part '\(name)' needs a filename (curl -F \(name)=@file.png)")
                }
                try begin(clientPath: filename, isNormal: name == "normal")
            case "options":
                guard options == nil else { throw APIError(400, "duplicate_options", "the form has more than one 'options' part") }
                options = []
            default:
                throw APIError(400, "unknown_form_field", "unknown form part '\(name)'; expected images, normal or options")
            }
        case .partData(let bytes):
            if partName == "options" {
                guard options!.count + bytes.count <= JobOptions.maxBytes else {
                    throw APIError(400, "invalid_option", "the options part exceeds \(JobOptions.maxBytes) bytes")
                }
                options!.append(contentsOf: bytes)
            } else {
                try write(bytes)
            }
        case .partEnd:
            if partName != "options" { try end() }
            partName = nil
        case .end:
            break
        }
    }

    mutating func readTar(_ body: RequestBody) throws(APIError) {
        var reader = TarReader()
        try forEachPiece(of: body) { (piece: ArraySlice<UInt8>) throws(APIError) in
            let events: [TarEvent]
            do throws(TarError) { events = try reader.feed(piece) } catch { throw APIError(error.status, error.code, error.message) }
            for event in events {
                switch event {
                case .fileBegin(let entry):
                    let components = entry.path.split(separator: "/")
                    // Hidden files (.DS_Store, macOS ._ resource forks) are not images anyone meant to send.
                    if components.last?.hasPrefix(".") == true { partName = "skip"; continue }
                    partName = nil
                    try begin(clientPath: entry.path, isNormal: components.count >= 2 && components[0] == "normal")
                case .fileData(let bytes):
                    if partName != "skip" { try write(bytes) }
                case .fileEnd:
                    if partName != "skip" { try end() }
                    partName = nil
                case .end:
                    break
                }
            }
        }
        do throws(TarError) { try reader.finish() } catch { throw APIError(error.status, error.code, error.message) }
    }

    private mutating func begin(clientPath: String, isNormal: Bool) throws(APIError) {
        let name: UploadName
        do { name = try UploadName(clientPath: clientPath) } catch {
            throw APIError(error.status, error.code, "\(JSONString.quoted(clientPath)): \(error.message)")
        }
        guard upload.images.count + upload.normals.count < limits.maxImages else {
            throw APIError(413, "too_many_images", "a job takes at most \(limits.maxImages) images, normal references included")
        }
        do {
            current = (try TemporaryFile(in: directory, prefix: "image-", suffix: ".img"), name, isNormal, 0, hashing ? SHA256() : nil)
        } catch { throw APIError.storage(error, while: "storing an uploaded image") }
    }

    private mutating func write(_ bytes: ArraySlice<UInt8>) throws(APIError) {
        guard let file = current?.file else { return }
        current!.size += bytes.count
        guard current!.size <= limits.maxImageBytes else {
            throw APIError(413, "image_too_large", "\(displayName(current!.name)) exceeds \(limits.maxImageBytes) bytes")
        }
        do { try file.write(bytes) } catch { throw APIError.storage(error, while: "storing an uploaded image") }
        current!.hash?.update(bytes)
    }

    private mutating func end() throws(APIError) {
        guard let (file, name, isNormal, size, hash) = current else { return }
        current = nil
        do { try file.finishWriting(sync: true) } catch {
            file.remove()
            throw APIError.storage(error, while: "storing an uploaded image")
        }
        var image = StagedImage(name: name, storedName: file.fileName, info: nil, size: size)
        if var hash { image.sha256 = SHA256.hexString(hash.finalize()) }
        if isNormal { upload.normals.append(image) } else { upload.images.append(image) }
    }

    /// Probes every image's header; 422 listing each one that cannot be used.
    mutating func validate() throws(APIError) {
        var bad: [(name: String, reason: String)] = []
        func probe(_ image: inout StagedImage) {
            let url = URL(fileURLWithPath: directory + "/" + image.storedName)
            do {
                let data = try Data(contentsOf: url, options: .alwaysMapped)
                image.info = try ImageProbe.probe(data, maxPixels: limits.maxImagePixels, maxInputBytes: limits.maxImageBytes)
            } catch {
                bad.append((displayName(image.name), "\(error)"))
            }
        }
        for i in upload.images.indices { probe(&upload.images[i]) }
        for i in upload.normals.indices { probe(&upload.normals[i]) }
        guard bad.isEmpty else {
            var error = APIError(422, "invalid_images", "\(bad.count) of \(upload.images.count + upload.normals.count) images cannot be used; nothing was kept")
            error.files = bad
            throw error
        }
        // The new names must survive a crash once the job is acknowledged: sync the directory too.
        do {
            let fd = try System.open(directory, flags: O_RDONLY | O_DIRECTORY)
            defer { try? System.close(fd) }
            try System.fsync(fd)
        } catch { throw APIError.storage(error, while: "storing the uploaded images") }
    }

    /// Removes everything written, including a file left open by an error.
    mutating func abandon() {
        if let file = current?.file { file.remove() }
        current = nil
        upload.discard(directory: directory)
    }
}

/// `label/name` or `name`.
func displayName(_ name: UploadName) -> String { displayName(label: name.label, name: name.name) }
