// Z for a list of images, through the feature cache: images already cached are read, the others go through
// the backbone (loaded only when at least one image is missing) and are written to the cache first. Z is then
// always assembled from the cache files, so a cold and a warm run hand exactly the same floats downstream.
import Engine
import Foundation

final class CachedFeatures {
    let cache: FeatureCache
    let weightsDirectory: URL
    let log: ProgressLog
    /// Images per backbone call between cache writes: bounds memory and the work lost to an interruption.
    let chunk = 16

    private var imageHashes = [URL: String]()
    private var keys = [String: FeatureCacheKey]()
    private var extractors = [String: FeatureExtractor]()
    /// How often a backbone was loaded and how many images it embedded (a warm run: both 0).
    private(set) var backboneLoads = 0
    private(set) var imagesEmbedded = 0

    init(cache: FeatureCache, weightsDirectory: URL, log: ProgressLog) {
        self.cache = cache
        self.weightsDirectory = weightsDirectory
        self.log = log
    }

    /// Z (N, P, Dt) of `images` in order, and the seconds spent loading and running the backbone (0 when
    /// every image was cached). `what` names the images in progress lines ("bottle test images").
    func patchEmbeddings(of images: [ImageFile], spec: BackboneSpec, what: String) throws -> (z: PatchEmbeddings, backboneSeconds: Double) {
        let key = try cacheKey(spec)
        let hashes = try images.map { try contentHash($0.url) }
        var missing = [Int]()
        var seen = Set<String>()
        for (i, hash) in hashes.enumerated() where !seen.contains(hash) {
            seen.insert(hash)
            if !FileManager.default.fileExists(atPath: cache.entry(key, image: hash).path) { missing.append(i) }
        }
        var seconds = 0.0
        if !missing.isEmpty {
            seconds += try embed(missing.map { images[$0] }, hashes: missing.map { hashes[$0] }, spec: spec, key: key, what: what)
        }
        var values = [Float]()
        var patches = 0
        for (i, hash) in hashes.enumerated() {
            var entry = cache.load(key, image: hash, dimensions: spec.targetDimension)
            if entry == nil {  // unreadable or wrong shape: compute it again
                seconds += try embed([images[i]], hashes: [hash], spec: spec, key: key, what: what)
                entry = cache.load(key, image: hash, dimensions: spec.targetDimension)
            }
            guard let entry else { throw CLIError("feature cache: cannot read back \(cache.entry(key, image: hash).path)") }
            if i == 0 {
                patches = entry.shape[0]
                values.reserveCapacity(images.count * patches * spec.targetDimension)
            }
            guard entry.shape[0] == patches else {
                throw CLIError("feature cache: \(images[i].name) has \(entry.shape[0]) patches, \(images[0].name) has \(patches)")
            }
            values.append(contentsOf: entry.values)
        }
        let z = try PatchEmbeddings(images: images.count, patches: patches, dimensions: spec.targetDimension, values: values)
        return (z, seconds)
    }

    /// Runs `images` through the backbone in chunks, storing each image's (P, Dt) slice; returns the seconds.
    private func embed(_ images: [ImageFile], hashes: [String], spec: BackboneSpec, key: FeatureCacheKey, what: String) throws -> Double {
        let start = Date()
        let extractor = try self.extractor(spec)
        for first in stride(from: 0, to: images.count, by: chunk) {
            let range = first..<min(first + chunk, images.count)
            let z = try extractor.patchEmbeddings(of: range.map { images[$0].url }) { done in
                self.log.status("  \(spec.name) \(what): " + ProgressLog.imagesText(done: first + done, total: images.count, since: start))
            }
            let stride = z.patches * z.dimensions
            for (offset, i) in range.enumerated() {
                try cache.store(
                    key, image: hashes[i], patches: z.patches, dimensions: z.dimensions,
                    values: z.values[(offset * stride)..<((offset + 1) * stride)])
            }
            imagesEmbedded += range.count
        }
        log.finish("  \(spec.name) \(what): " + ProgressLog.imagesText(done: images.count, total: images.count, since: start))
        return Date().timeIntervalSince(start)
    }

    private func extractor(_ spec: BackboneSpec) throws -> FeatureExtractor {
        if let extractor = extractors[spec.name] { return extractor }
        let extractor = try FeatureExtractor(spec: spec, weightsDirectory: weightsDirectory)
        backboneLoads += 1
        extractors[spec.name] = extractor
        return extractor
    }

    private func cacheKey(_ spec: BackboneSpec) throws -> FeatureCacheKey {
        if let key = keys[spec.name] { return key }
        let key = try FeatureCacheKey(spec: spec, weightsDirectory: weightsDirectory)
        keys[spec.name] = key
        return key
    }

    /// SHA-256 of the image file's bytes, once per file per evaluation.
    private func contentHash(_ url: URL) throws -> String {
        if let hash = imageHashes[url] { return hash }
        let hash: String
        do { hash = try SHA256.hex(fileAt: url) } catch {
            throw CLIError("cannot read \(url.path): \(error.localizedDescription)")
        }
        imageHashes[url] = hash
        return hash
    }
}
