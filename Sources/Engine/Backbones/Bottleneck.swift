// torchvision's ResNet Bottleneck (v1.5: the stride sits in the 3×3 convolution):
// conv1 1×1 (+BN, ReLU) → conv2 3×3 stride s (+BN, ReLU) → conv3 1×1 (+BN) → + shortcut → ReLU,
// where the shortcut is the input, or `downsample` (1×1 stride s + BN) when the shape changes.
// The residual add is fused into conv3's GEMM: the shortcut is written to the output first and conv3
// accumulates onto it (β = 1), then bias and ReLU run in the same epilogue pass.

/// One Bottleneck block with BatchNorm folded into every convolution.
struct Bottleneck: Sendable {
    /// `layer{s}.{j}.conv1` + `bn1`: in → width, 1×1, ReLU.
    let conv1: Conv2D
    /// `layer{s}.{j}.conv2` + `bn2`: width → width, 3×3, stride, padding 1, ReLU.
    let conv2: Conv2D
    /// `layer{s}.{j}.conv3` + `bn3`: width → out, 1×1; ReLU after the residual add.
    let conv3: Conv2D
    /// `layer{s}.{j}.downsample.0` + `downsample.1`: in → out, 1×1, stride; nil for an identity shortcut.
    let downsample: Conv2D?

    init(
        _ reader: inout WeightsReader, prefix p: String, inChannels: Int, width: Int, outChannels: Int,
        stride: Int, epsilon: Double
    ) throws(WeightsError) {
        conv1 = try Conv2D(
            &reader, weight: "\(p).conv1.weight", batchNorm: "\(p).bn1", epsilon: epsilon,
            inChannels: inChannels, outChannels: width, kernel: 1, stride: 1, padding: .symmetric(0), activation: .relu)
        conv2 = try Conv2D(
            &reader, weight: "\(p).conv2.weight", batchNorm: "\(p).bn2", epsilon: epsilon,
            inChannels: width, outChannels: width, kernel: 3, stride: stride, padding: .symmetric(1), activation: .relu)
        conv3 = try Conv2D(
            &reader, weight: "\(p).conv3.weight", batchNorm: "\(p).bn3", epsilon: epsilon,
            inChannels: width, outChannels: outChannels, kernel: 1, stride: 1, padding: .symmetric(0), activation: .relu)
        // torchvision's rule (`_make_layer`): a projection shortcut when the stride or the width changes.
        downsample = stride != 1 || inChannels != outChannels ? try Conv2D(
            &reader, weight: "\(p).downsample.0.weight", batchNorm: "\(p).downsample.1", epsilon: epsilon,
            inChannels: inChannels, outChannels: outChannels, kernel: 1, stride: stride, padding: .symmetric(0),
            activation: .identity) : nil
    }

    var outChannels: Int { conv3.outChannels }

    func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        let g = conv2.geometry(height: height, width: width)
        return (g.outHeight, g.outWidth)
    }

    /// out (outChannels, B, OH, OW) ← block(input (inChannels, B, H, W)). Uses workspace slots `.inner1`
    /// ((width, B, H, W)) and `.inner2` ((width, B, OH, OW)).
    func forward(
        _ out: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>,
        batch: Int, height: Int, width: Int, workspace: ConvWorkspace
    ) {
        let (oh, ow) = outputSize(height: height, width: width)
        let t1 = workspace.buffer(.inner1, count: conv1.outChannels * batch * height * width)  // (width, B, H, W)
        conv1.forward(t1, input, batch: batch, height: height, width: width, workspace: workspace)
        let t2 = workspace.buffer(.inner2, count: conv2.outChannels * batch * oh * ow)  // (width, B, OH, OW)
        conv2.forward(t2, t1, batch: batch, height: height, width: width, workspace: workspace)
        // shortcut, then conv3 accumulates onto it
        if let downsample {
            downsample.forward(out, input, batch: batch, height: height, width: width, workspace: workspace)
        } else {
            // the identity shortcut, copied in one block per core
            let count = outChannels * batch * oh * ow, workers = parallelWorkerCount
            parallelTasks(workers, workers: workers) { block, _ in
                let r = rowBlock(block, of: workers, rows: count)
                (out + r.lowerBound).update(from: input + r.lowerBound, count: r.count)
            }
        }
        conv3.forward(out, t2, batch: batch, height: oh, width: ow, accumulate: true, workspace: workspace)
    }
}
