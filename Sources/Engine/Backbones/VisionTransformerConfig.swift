// The hyperparameters of a Vision Transformer, read from a weights file's metadata (written by
// tools/convert_dinov2_onnx.py and tools/convert_dino_vit.py). Every field is required and checked, with
// bounds that keep a corrupt file from asking for absurd allocations; errors name the field.

import Foundation

/// Shape of a ViT: DINOv2 ViT-S/14 (LayerScale, 37×37 position grid) or DINO ViT-B/8 (no LayerScale, 28×28).
public struct VisionTransformerConfig: Sendable, Equatable {
    /// Side of a square patch in pixels (`patch_size`).
    public var patchSize: Int
    /// Token width D (`embed_dim`).
    public var embedDim: Int
    /// Number of transformer blocks (`depth`).
    public var depth: Int
    /// Attention heads; D must be a multiple (`num_heads`).
    public var numHeads: Int
    /// Width of the MLP's hidden layer, usually 4·D (`mlp_hidden`).
    public var mlpHidden: Int
    /// LayerNorm epsilon (`layer_norm_eps`; 1e-6 for DINO and DINOv2).
    public var layerNormEps: Float
    /// Whether each residual branch is scaled per channel (DINOv2's LayerScale, `blocks.i.ls{1,2}.gamma`).
    public var layerScale: Bool
    /// Side of the stored position-embedding grid (`pos_grid`; the table holds 1 + G·G rows).
    public var posGrid: Int

    /// The largest values accepted from a file (well above any ViT in use: ViT-g has D = 1536, depth 40).
    static let limits = (dim: 8192, depth: 256, heads: 256, hidden: 65536, patch: 64, grid: 256)

    public init(
        patchSize: Int, embedDim: Int, depth: Int, numHeads: Int, mlpHidden: Int,
        layerNormEps: Float, layerScale: Bool, posGrid: Int
    ) {
        self.patchSize = patchSize
        self.embedDim = embedDim
        self.depth = depth
        self.numHeads = numHeads
        self.mlpHidden = mlpHidden
        self.layerNormEps = layerNormEps
        self.layerScale = layerScale
        self.posGrid = posGrid
    }

    /// Reads and validates the metadata of a ViT weights file. `source` names the file in errors.
    /// Fields: architecture ("vit"), patch_size, embed_dim, depth, num_heads, mlp_hidden, layer_norm_eps,
    /// layer_scale ("true"/"false"), pos_grid. Other keys (e.g. `source`) are informational and ignored.
    public init(metadata: [String: String], source: String) throws(WeightsError) {
        guard let architecture = metadata["architecture"] else {
            throw .malformed("\(source): metadata field 'architecture' is missing")
        }
        guard architecture == "vit" else {
            throw .wrongArchitecture("\(source): metadata field 'architecture' is '\(architecture)', expected 'vit'")
        }
        func integer(_ key: String, _ range: ClosedRange<Int>) throws(WeightsError) -> Int {
            guard let text = metadata[key] else { throw .malformed("\(source): metadata field '\(key)' is missing") }
            guard let value = Int(text), range.contains(value) else {
                throw .malformed("\(source): metadata field '\(key)' is '\(text)', expected an integer in \(range)")
            }
            return value
        }
        let limits = Self.limits
        patchSize = try integer("patch_size", 1...limits.patch)
        embedDim = try integer("embed_dim", 1...limits.dim)
        depth = try integer("depth", 1...limits.depth)
        numHeads = try integer("num_heads", 1...limits.heads)
        mlpHidden = try integer("mlp_hidden", 1...limits.hidden)
        posGrid = try integer("pos_grid", 1...limits.grid)
        guard let epsText = metadata["layer_norm_eps"] else {
            throw .malformed("\(source): metadata field 'layer_norm_eps' is missing")
        }
        guard let eps = Float(epsText), eps.isFinite, eps > 0, eps < 1 else {
            throw .malformed("\(source): metadata field 'layer_norm_eps' is '\(epsText)', expected a number in (0, 1)")
        }
        layerNormEps = eps
        switch metadata["layer_scale"] {
        case "true": layerScale = true
        case "false": layerScale = false
        case nil: throw .malformed("\(source): metadata field 'layer_scale' is missing")
        case let other?: throw .malformed("\(source): metadata field 'layer_scale' is '\(other)', expected 'true' or 'false'")
        }
        guard embedDim % numHeads == 0 else {
            throw .malformed("\(source): metadata fields 'embed_dim' (\(embedDim)) and 'num_heads' (\(numHeads)) contradict: D is not a multiple of the head count")
        }
    }

    /// Width of one attention head.
    public var headDim: Int { embedDim / numHeads }

    /// Metadata that `init(metadata:source:)` reads back, for files written from Swift (tests, tools).
    public var metadata: [String: String] {
        [
            "architecture": "vit", "patch_size": "\(patchSize)", "embed_dim": "\(embedDim)", "depth": "\(depth)",
            "num_heads": "\(numHeads)", "mlp_hidden": "\(mlpHidden)", "layer_norm_eps": "\(layerNormEps)",
            "layer_scale": layerScale ? "true" : "false", "pos_grid": "\(posGrid)",
        ]
    }

    /// Every tensor a file of this configuration holds, with its shape, in the canonical ViT naming.
    public var tensorShapes: [(name: String, shape: [Int])] {
        let d = embedDim, p = patchSize, g = posGrid, m = mlpHidden
        var shapes: [(String, [Int])] = [
            ("patch_embed.weight", [d, 3, p, p]), ("patch_embed.bias", [d]),
            ("cls_token", [d]), ("pos_embed", [1 + g * g, d]),
        ]
        for i in 0..<depth {
            let b = "blocks.\(i)"
            shapes += [
                ("\(b).norm1.weight", [d]), ("\(b).norm1.bias", [d]),
                ("\(b).attn.qkv.weight", [3 * d, d]), ("\(b).attn.qkv.bias", [3 * d]),
                ("\(b).attn.proj.weight", [d, d]), ("\(b).attn.proj.bias", [d]),
            ]
            if layerScale { shapes.append(("\(b).ls1.gamma", [d])) }
            shapes += [
                ("\(b).norm2.weight", [d]), ("\(b).norm2.bias", [d]),
                ("\(b).mlp.fc1.weight", [m, d]), ("\(b).mlp.fc1.bias", [m]),
                ("\(b).mlp.fc2.weight", [d, m]), ("\(b).mlp.fc2.bias", [d]),
            ]
            if layerScale { shapes.append(("\(b).ls2.gamma", [d])) }
        }
        shapes += [("norm.weight", [d]), ("norm.bias", [d])]
        return shapes
    }
}
