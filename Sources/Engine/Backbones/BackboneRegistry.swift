// The model registry (config/backbones.json): for each named backbone, its architecture, weights file,
// input size, normalisation, feature layers and PatchCore dimensions. Read once at start; every field is
// checked so that a bad entry is an error naming it, never a trap in a model's initialiser.
import Foundation

/// One registry entry.
public struct BackboneSpec: Codable, Sendable, Equatable {
    public enum Architecture: String, Codable, Sendable {
        case vit
        case efficientNetLite0 = "efficientnet_lite0"
        case wideResNet50 = "wide_resnet50_2"
    }

    public let name: String
    public let architecture: Architecture
    /// File name inside the weights folder.
    public let weights: String
    /// Shorter side after resizing, and the centre crop, in pixels.
    public let resize: Int
    public let crop: Int
    /// "imagenet" or "efficientnet-lite".
    public let normalization: String
    /// Feature taps: ViT blocks and EfficientNet blocks 0-based; WideResNet stages 1-based (2 = layer2).
    public let layers: [Int]
    /// PatchCore's Dp and Dt.
    public let pretrainDimension: Int
    public let targetDimension: Int
    /// Images per forward pass.
    public let batch: Int
    /// Input pixels per patch of the first feature layer (the ViT patch size; 8 for the CNNs' stride-8
    /// maps): P = (crop / stride)² patches per image, for cost estimates before any image is run.
    public let stride: Int
    /// The default softmax temperature τ per mode for this backbone's patch distances (τ is in distance
    /// units, whose scale differs between backbones): the sweep's choice (docs/RESULTS.md).
    public let tau: DefaultTau
    public let description: String?

    enum CodingKeys: String, CodingKey {
        case name, architecture, weights, resize, crop, normalization, layers, batch, stride, tau, description
        case pretrainDimension = "pretrain_dimension", targetDimension = "target_dimension"
    }

    /// τ for jobs that give none, by mode: distances to other images of the batch (unsupervised) and to
    /// normal references (semi-supervised) have different spreads. `average` ignores τ.
    public struct DefaultTau: Codable, Sendable, Equatable {
        public let unsupervised: Double
        public let semiSupervised: Double

        enum CodingKeys: String, CodingKey { case unsupervised, semiSupervised = "semi-supervised" }

        public init(unsupervised: Double, semiSupervised: Double) {
            (self.unsupervised, self.semiSupervised) = (unsupervised, semiSupervised)
        }

        public func value(for mode: PatchWeightMode) -> Double {
            mode == .semiSupervised ? semiSupervised : unsupervised
        }
    }

    /// Patches per image at this crop: (crop / stride)², the first feature layer's grid.
    public var estimatedPatches: Int { (crop / stride) * (crop / stride) }

    /// The preprocessing this backbone expects.
    public func preprocessing() throws(RegistryError) -> Preprocessing {
        let norm: Normalization
        switch normalization {
        case "imagenet": norm = .imageNet
        case "efficientnet-lite": norm = .efficientNetLite
        default: throw .invalid("backbone '\(name)': normalization '\(normalization)' is not imagenet or efficientnet-lite")
        }
        do { return try Preprocessing(resize: resize, crop: crop, normalization: norm) } catch {
            throw .invalid("backbone '\(name)': \(error)")
        }
    }

    /// This backbone with another resize and/or crop (a job's options), checked like a registry entry.
    public func overriding(resize: Int?, crop: Int?) throws(RegistryError) -> BackboneSpec {
        let spec = BackboneSpec(
            name: name, architecture: architecture, weights: weights, resize: resize ?? self.resize,
            crop: crop ?? self.crop, normalization: normalization, layers: layers,
            pretrainDimension: pretrainDimension, targetDimension: targetDimension, batch: batch, stride: stride,
            tau: tau, description: description)
        try spec.validate()
        return spec
    }

    func validate() throws(RegistryError) {
        func fail(_ what: String) -> RegistryError { .invalid("backbone '\(name)': \(what)") }
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw fail("name must be letters, digits, '-' or '_'")
        }
        guard !weights.isEmpty, !weights.contains("/"), weights != "..", weights != "." else {
            throw fail("weights must be a file name, got '\(weights)'")
        }
        guard !layers.isEmpty, layers == layers.sorted(), Set(layers).count == layers.count else {
            throw fail("layers must be strictly increasing and non-empty")
        }
        let allowed: ClosedRange<Int>
        switch architecture {
        case .vit: allowed = 0...63
        case .efficientNetLite0: allowed = 0...15
        case .wideResNet50: allowed = 1...3
        }
        guard layers.allSatisfy(allowed.contains) else { throw fail("layers \(layers) outside \(allowed) for \(architecture.rawValue)") }
        guard (1...65536).contains(pretrainDimension), (1...65536).contains(targetDimension) else {
            throw fail("dimensions must be in 1…65536")
        }
        guard (1...256).contains(batch) else { throw fail("batch must be in 1…256") }
        guard (1...64).contains(stride), stride <= crop else { throw fail("stride must be in 1…64 and at most the crop") }
        guard [tau.unsupervised, tau.semiSupervised].allSatisfy({ $0 >= 0 && $0 <= 1e6 }) else {
            throw fail("tau values must be numbers from 0 to 10⁶")
        }
        _ = try preprocessing()
    }
}

/// The set of backbones the service offers.
public struct BackboneRegistry: Codable, Sendable {
    public let defaultBackbone: String
    public let backbones: [BackboneSpec]

    enum CodingKeys: String, CodingKey { case defaultBackbone = "default", backbones }

    public static func load(from url: URL) throws(RegistryError) -> BackboneRegistry {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw .unreadable("cannot read backbone registry \(url.path): \(error.localizedDescription)")
        }
        guard data.count <= 1 << 20 else { throw .invalid("\(url.lastPathComponent) is larger than 1 MiB") }
        let registry: BackboneRegistry
        do { registry = try JSONDecoder().decode(BackboneRegistry.self, from: data) } catch {
            throw .invalid("\(url.lastPathComponent): \(error)")
        }
        for spec in registry.backbones { try spec.validate() }
        guard Set(registry.backbones.map(\.name)).count == registry.backbones.count else {
            throw .invalid("\(url.lastPathComponent): duplicate backbone names")
        }
        guard registry.backbones.contains(where: { $0.name == registry.defaultBackbone }) else {
            throw .invalid("\(url.lastPathComponent): default backbone '\(registry.defaultBackbone)' is not listed")
        }
        return registry
    }

    /// The entry called `name`, or an error listing the known names.
    public func spec(named name: String) throws(RegistryError) -> BackboneSpec {
        guard let spec = backbones.first(where: { $0.name == name }) else {
            throw .unknownBackbone("unknown backbone '\(name)'; known: \(backbones.map(\.name).joined(separator: ", "))")
        }
        return spec
    }
}

public enum RegistryError: Error, Equatable, CustomStringConvertible {
    case unreadable(String)
    case invalid(String)
    case unknownBackbone(String)

    public var description: String {
        switch self {
        case .unreadable(let m), .invalid(let m), .unknownBackbone(let m): m
        }
    }
}
