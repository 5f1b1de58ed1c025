// Images to patch embeddings Z (ALGORITHM.md §1–4): decode and preprocess each image, run the backbone a
// batch at a time, and aggregate each image's feature maps with PatchCore's embedder. Decoding and
// aggregation run on both cores (concurrentPerform); the backbones split their own work between the cores
// (ParallelTasks.swift), each part on single-threaded OpenBLAS.
import Dispatch
import Foundation

/// Turns image files into patch embeddings with one backbone.
public final class FeatureExtractor {
    public let spec: BackboneSpec
    public let preprocessing: Preprocessing
    let backbone: Backbone
    /// Built from the first batch's map shapes (they depend only on the crop size).
    var embedder: PatchEmbedder?

    /// The patch grid of the embeddings (P = height · width), known once an image has been embedded.
    public var patchGrid: (height: Int, width: Int)? { embedder.map { ($0.gridHeight, $0.gridWidth) } }

    public init(spec: BackboneSpec, weightsDirectory: URL) throws {
        self.spec = spec
        preprocessing = try spec.preprocessing()
        backbone = try Backbone(spec: spec, weightsDirectory: weightsDirectory)
    }

    /// Z for `images`, (N, P, Dt), in order.
    /// - Parameters:
    ///   - maxPixels: decoded-size limit per image (checked from the header before decoding).
    ///   - progress: called after each batch with the number of images done.
    ///   - shouldContinue: polled between batches; returning false throws `CancellationError`.
    public func patchEmbeddings(
        of images: [URL], maxPixels: Int = ImageDecoder.defaultMaxPixels,
        progress: ((Int) -> Void)? = nil, shouldContinue: (() -> Bool)? = nil
    ) throws -> PatchEmbeddings {
        precondition(!images.isEmpty, "no images")
        let size = preprocessing.crop
        var z = [Float]()
        var dimensions = 0, patches = 0
        for start in stride(from: 0, to: images.count, by: spec.batch) {
            if let shouldContinue, !shouldContinue() { throw CancellationError() }
            let urls = Array(images[start..<min(start + spec.batch, images.count)])
            let batch = try preprocess(urls, maxPixels: maxPixels)  // (B, 3, size, size)
            let maps = try backbone.featureMaps(batch, batch: urls.count, size: size)
            if embedder == nil {
                embedder = try PatchEmbedder(
                    layerShapes: maps[0].map(\.shape), pretrainDimension: spec.pretrainDimension,
                    targetDimension: spec.targetDimension)
            }
            let embedder = embedder!
            patches = embedder.patches
            dimensions = embedder.targetDimension
            // The whole Z at once when its size is first known: growing it batch by batch copied and
            // page-faulted ~2× its size (16 % of an 83-image EfficientNet-Lite0 run in `perf`).
            if start == 0 { z.reserveCapacity(images.count * patches * dimensions) }
            let offset = z.count
            z.append(contentsOf: repeatElement(0, count: urls.count * patches * dimensions))
            let failure = ErrorBox()
            z.withUnsafeMutableBufferPointer { zb in
                let base = zb.baseAddress! + offset
                nonisolated(unsafe) let out = base  // each iteration writes its own image's slice
                let stride = patches * dimensions  // one image's (P, Dt)
                DispatchQueue.concurrentPerform(iterations: urls.count) { b in
                    do {
                        try embedder.embed(maps[b], into: UnsafeMutableBufferPointer(start: out + b * stride, count: stride))
                    } catch { failure.set(error) }
                }
            }
            if let error = failure.error { throw error }
            progress?(start + urls.count)
        }
        return try PatchEmbeddings(images: images.count, patches: patches, dimensions: dimensions, values: z)
    }

    /// Decoded and preprocessed images, (B, 3, crop, crop); decoding runs in parallel.
    func preprocess(_ urls: [URL], maxPixels: Int) throws -> [Float] {
        let plane = 3 * preprocessing.crop * preprocessing.crop
        var out = [Float](repeating: 0, count: urls.count * plane)
        let failure = ErrorBox()
        let preprocessing = self.preprocessing
        out.withUnsafeMutableBufferPointer { ob in
            nonisolated(unsafe) let base = ob.baseAddress!  // each iteration writes its own image's plane
            DispatchQueue.concurrentPerform(iterations: urls.count) { i in
                do {
                    let image = try ImageDecoder.decode(contentsOf: urls[i], maxPixels: maxPixels)
                    let tensor = preprocessing.apply(image)
                    tensor.withUnsafeBufferPointer { (base + i * plane).update(from: $0.baseAddress!, count: plane) }
                } catch {
                    // `file` names the image; the reason leaves the full path out.
                    let reason = (error as? ImageError)?.reasonWithoutPath ?? "\(error)"
                    failure.set(ImageFileError(file: urls[i].lastPathComponent, reason: reason))
                }
            }
        }
        if let error = failure.error { throw error }
        return out
    }
}

/// An image that could not be read, naming the file.
public struct ImageFileError: Error, CustomStringConvertible {
    public let file: String
    public let reason: String
    public var description: String { "\(file): \(reason)" }
}

/// The first error raised inside a concurrentPerform.
final class ErrorBox: @unchecked Sendable {  // guarded by `lock`
    private let lock = NSLock()
    private var first: Error?
    func set(_ error: Error) { lock.lock(); if first == nil { first = error }; lock.unlock() }
    var error: Error? { lock.lock(); defer { lock.unlock() }; return first }
}
