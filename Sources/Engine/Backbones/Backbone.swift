// A loaded backbone of any architecture behind one switch: preprocessed images in, each image's feature
// maps at the registry's layers out. Models keep their work buffers between calls, so one Backbone
// serves one thread at a time.
import Foundation

/// A loaded model with its feature taps.
public enum Backbone {
    case vit(VisionTransformer, blocks: [Int])
    case efficientNetLite(EfficientNetLite, ConvWorkspace)
    case wideResNet(WideResNet, ConvWorkspace)

    /// Loads `spec`'s weights from `weightsDirectory`; errors name the file and what is wrong.
    public init(spec: BackboneSpec, weightsDirectory: URL) throws(WeightsError) {
        let url = weightsDirectory.appendingPathComponent(spec.weights)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw .unreadable("weights for backbone '\(spec.name)' not found at \(url.path) ---> HINT: run `make weights` (or convert your checkpoint with tools/)")
        }
        let file = try SafeTensorsFile(contentsOf: url)
        let declared = file.metadata["architecture"]
        guard declared == spec.architecture.rawValue else {
            throw .wrongArchitecture("\(spec.weights) holds architecture '\(declared ?? "none")' but backbone '\(spec.name)' needs '\(spec.architecture.rawValue)'")
        }
        switch spec.architecture {
        case .vit:
            let model = try VisionTransformer(file: file)
            guard let last = spec.layers.last, last < model.config.depth else {
                throw .wrongArchitecture("backbone '\(spec.name)' taps blocks \(spec.layers) but \(spec.weights) has \(model.config.depth)")
            }
            self = .vit(model, blocks: spec.layers)
        case .efficientNetLite0:
            self = .efficientNetLite(try EfficientNetLite(weights: file, taps: spec.layers), ConvWorkspace())
        case .wideResNet50:
            self = .wideResNet(try WideResNet(weights: file, taps: spec.layers), ConvWorkspace())
        }
    }

    /// Feature maps per image and tap, `result[image][tap]`, each (C, H', W').
    /// - Parameter images: (B, 3, size, size) preprocessed.
    public func featureMaps(_ images: [Float], batch: Int, size: Int) throws -> [[FeatureMap]] {
        switch self {
        case .vit(let model, let blocks):
            let outputs = try model.forward(images, batch: batch, height: size, width: size, blocks: blocks)
            var maps = [[FeatureMap]](repeating: [], count: batch)
            for tokens in outputs {
                for b in 0..<batch {
                    let start = b * tokens.tokens * tokens.dimensions
                    let image = tokens.values[start..<(start + tokens.tokens * tokens.dimensions)]
                    maps[b].append(try image.withUnsafeBufferPointer { buffer in
                        try FeatureMap.fromTokens(
                            buffer, tokenCount: tokens.tokens, channels: tokens.dimensions,
                            height: tokens.gridHeight, width: tokens.gridWidth)
                    })
                }
            }
            return maps
        case .efficientNetLite(let model, let workspace):
            return model.forward(images, batch: batch, height: size, width: size, workspace: workspace)
        case .wideResNet(let model, let workspace):
            return model.forward(images, batch: batch, height: size, width: size, workspace: workspace)
        }
    }
}
