// EfficientNet's inverted-residual block (MBConv) in its "Lite" form: no squeeze-excitation, ReLU6.
// expand 1×1 (+BN, ReLU6; absent when the expansion is 1) → depthwise k×k (+BN, ReLU6) →
// project 1×1 (+BN, no activation) → add the input when stride is 1 and channels are unchanged.
// Tensor names follow lukemelas' EfficientNet-PyTorch (`_blocks.{i}.…`).

/// One MBConv block with BatchNorm folded into its three convolutions.
struct MBConvBlock: Sendable {
    let inChannels: Int
    let outChannels: Int
    let stride: Int
    /// `_blocks.{i}._expand_conv` + `_bn0`; nil when the expansion is 1.
    let expand: Conv2D?
    /// `_blocks.{i}._depthwise_conv` + `_bn1`.
    let depthwise: DepthwiseConv2D
    /// `_blocks.{i}._project_conv` + `_bn2`.
    let project: Conv2D

    /// The identity shortcut exists only where shapes allow it (the reference's `id_skip` rule).
    var hasResidual: Bool { stride == 1 && inChannels == outChannels }

    init(
        _ reader: inout WeightsReader, index i: Int, inChannels: Int, outChannels: Int,
        kernel: Int, stride: Int, expansion: Int, epsilon: Double
    ) throws(WeightsError) {
        let p = "_blocks.\(i)"
        let mid = inChannels * expansion
        (self.inChannels, self.outChannels, self.stride) = (inChannels, outChannels, stride)
        expand = expansion == 1 ? nil : try Conv2D(
            &reader, weight: "\(p)._expand_conv.weight", batchNorm: "\(p)._bn0", epsilon: epsilon,
            inChannels: inChannels, outChannels: mid, kernel: 1, stride: 1, padding: .tfSame, activation: .relu6)
        depthwise = try DepthwiseConv2D(
            &reader, weight: "\(p)._depthwise_conv.weight", batchNorm: "\(p)._bn1", epsilon: epsilon,
            channels: mid, kernel: kernel, stride: stride, padding: .tfSame, activation: .relu6)
        project = try Conv2D(
            &reader, weight: "\(p)._project_conv.weight", batchNorm: "\(p)._bn2", epsilon: epsilon,
            inChannels: mid, outChannels: outChannels, kernel: 1, stride: 1, padding: .tfSame, activation: .identity)
    }

    /// Output height and width for an input of `height`×`width`.
    func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        let g = depthwise.geometry(height: height, width: width)
        return (g.outHeight, g.outWidth)
    }

    /// out (outChannels, B, OH, OW) ← block(input (inChannels, B, H, W)). Uses workspace slots `.inner1`
    /// (expanded, (mid, B, H, W)) and `.inner2` (after the depthwise, (mid, B, OH, OW)).
    func forward(
        _ out: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>,
        batch: Int, height: Int, width: Int, workspace: ConvWorkspace
    ) {
        let mid = depthwise.channels
        let (oh, ow) = outputSize(height: height, width: width)
        // expand
        var expanded = input
        if let expand {
            let e = workspace.buffer(.inner1, count: mid * batch * height * width)  // (mid, B, H, W)
            expand.forward(e, input, batch: batch, height: height, width: width, workspace: workspace)
            expanded = UnsafePointer(e)
        }
        // depthwise
        let d = workspace.buffer(.inner2, count: mid * batch * oh * ow)  // (mid, B, OH, OW)
        depthwise.forward(d, expanded, batch: batch, height: height, width: width, workspace: workspace)
        // project (+ residual)
        if hasResidual { out.update(from: input, count: outChannels * batch * oh * ow) }
        project.forward(out, d, batch: batch, height: oh, width: ow, accumulate: hasResidual, workspace: workspace)
    }
}
