// BatchNorm in inference is a per-channel affine map y = γ·(x − μ)/√(σ² + ε) + β. Following a
// convolution, it folds into the convolution at load time: each output channel's weights are scaled by
// s = γ/√(σ² + ε) and its bias becomes β − μ·s. The forward pass then never sees a BatchNorm.
// Folding is done in Double so the folded weights are the exact products rounded once.

/// A BatchNorm reduced to per-channel scale and shift.
struct BatchNormFolding {
    /// γ/√(σ² + ε), (channels).
    let scale: [Double]
    /// β − μ·scale, (channels).
    let shift: [Double]

    /// Reads `<prefix>.weight`, `.bias`, `.running_mean`, `.running_var`, each (channels).
    init(_ reader: inout WeightsReader, prefix: String, channels: Int, epsilon: Double) throws(WeightsError) {
        let gamma = try reader.take("\(prefix).weight", [channels])
        let beta = try reader.take("\(prefix).bias", [channels])
        let mean = try reader.take("\(prefix).running_mean", [channels])
        let variance = try reader.take("\(prefix).running_var", [channels])
        var scale = [Double](repeating: 0, count: channels)
        var shift = [Double](repeating: 0, count: channels)
        for c in 0..<channels {
            guard variance[c] >= 0, variance[c].isFinite else {
                throw .malformed("\(reader.file.source): '\(prefix).running_var' has \(variance[c]) at channel \(c)")
            }
            scale[c] = Double(gamma[c]) / (Double(variance[c]) + epsilon).squareRoot()
            shift[c] = Double(beta[c]) - Double(mean[c]) * scale[c]
        }
        self.scale = scale
        self.shift = shift
    }

    /// Scales each row of `weights` (channels rows of `rowLength`) by its channel's factor.
    func folded(weights: [Float], rowLength: Int) -> [Float] {
        precondition(weights.count == scale.count * rowLength, "fold: \(weights.count) weights for \(scale.count)×\(rowLength)")
        var out = weights
        for c in 0..<scale.count {
            for i in (c * rowLength)..<((c + 1) * rowLength) { out[i] = Float(Double(weights[i]) * scale[c]) }
        }
        return out
    }

    /// The folded bias, (channels).
    var bias: [Float] { shift.map { Float($0) } }
}
