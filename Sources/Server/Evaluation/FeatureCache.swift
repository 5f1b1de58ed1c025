// Patch embeddings Z of single images on disk, so that an evaluation runs each (image, backbone) through the
// backbone once and a warm re-run not at all. An entry is `<cache>/<backbone>-<settings>/<image>.npy`, (P, Dt)
// float32 exactly as computed, so results cannot depend on whether the cache was warm. <image> is SHA-256 of
// the image file's bytes; <settings> is SHA-256 of everything else Z depends on: the backbone entry (name,
// architecture, resize, crop, normalisation, layers, Dp, Dt), the resize pass order and the weights file's
// size and SHA-256. Each settings folder holds a `settings.txt` with that text, for people.
import Engine
import Foundation

/// The settings part of a cache key: one folder of entries.
struct FeatureCacheKey: Equatable {
    /// What the settings hash is computed from, one `name: value` per line.
    let description: String
    /// The folder name: backbone name and the first 16 hex digits of SHA-256(description).
    let folder: String

    /// Bump when the embedding code changes in a way the settings do not capture, to orphan old entries.
    static let formatVersion = 1

    /// Hashes the weights file (SHA-256 of its bytes, and its size) along with the registry entry.
    init(spec: BackboneSpec, weightsDirectory: URL) throws {
        let weights = weightsDirectory.appendingPathComponent(spec.weights)
        let size: Int
        do {
            size = (try FileManager.default.attributesOfItem(atPath: weights.path)[.size] as? NSNumber)?.intValue ?? -1
        } catch {
            throw CLIError("weights for backbone '\(spec.name)' not found: \(weights.path) ---> HINT: run `make weights`")
        }
        let lines = [
            "format: \(Self.formatVersion)",
            "backbone: \(spec.name)",
            "architecture: \(spec.architecture.rawValue)",
            "weights: \(spec.weights)",
            "weights_bytes: \(size)",
            "weights_sha256: \(try SHA256.hex(fileAt: weights))",
            "resize: \(spec.resize)",
            "crop: \(spec.crop)",
            "normalization: \(spec.normalization)",
            "resize_pass_order: pillow13",
            "layers: \(spec.layers.map(String.init).joined(separator: ","))",
            "pretrain_dimension: \(spec.pretrainDimension)",
            "target_dimension: \(spec.targetDimension)",
        ]
        description = lines.joined(separator: "\n") + "\n"
        folder = spec.name + "-" + String(SHA256.hex(Array(description.utf8)).prefix(16))
    }
}

/// Reads and writes per-image patch embeddings under one cache directory.
struct FeatureCache {
    let directory: URL

    func folder(_ key: FeatureCacheKey) -> URL { directory.appendingPathComponent(key.folder, isDirectory: true) }

    func entry(_ key: FeatureCacheKey, image: String) -> URL {
        folder(key).appendingPathComponent(image + ".npy")
    }

    /// The stored (P, Dt) embeddings of the image with content hash `image`, or nil when absent. An entry
    /// that cannot be read or has the wrong shape counts as absent (it is rewritten), with a warning.
    func load(_ key: FeatureCacheKey, image: String, dimensions: Int) -> NPYArray? {
        let url = entry(key, image: image)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            let array = try NPYArray.read(from: url)
            guard array.shape.count == 2, array.shape[0] >= 1, array.shape[1] == dimensions else {
                warn("feature cache: \(url.path) has shape \(shapeText(array.shape)), expected (P, \(dimensions)); recomputing")
                return nil
            }
            return array
        } catch {
            warn("feature cache: cannot read \(url.path) (\(error)); recomputing")
            return nil
        }
    }

    /// Stores one image's (P, Dt) embeddings; the write is atomic (`NPYArray.write`).
    func store(_ key: FeatureCacheKey, image: String, patches: Int, dimensions: Int, values: ArraySlice<Float>) throws {
        let folder = folder(key)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let settings = folder.appendingPathComponent("settings.txt")
            if !FileManager.default.fileExists(atPath: settings.path) {
                try key.description.write(to: settings, atomically: true, encoding: .utf8)
            }
        } catch {
            throw CLIError("cannot create the feature cache folder \(folder.path): \(error.localizedDescription)")
        }
        try NPYArray(shape: [patches, dimensions], values: Array(values)).write(to: entry(key, image: image))
    }

    private func warn(_ message: String) { FileHandle.standardError.write(Data((message + "\n").utf8)) }
}
