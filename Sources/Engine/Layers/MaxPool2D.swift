// Max pooling over k×k windows (the ResNet stem's 3×3, stride 2, padding 1). Padding never wins:
// positions outside the input are skipped, as PyTorch pads with −∞. Activations are (C, B, H, W) and
// every plane is pooled independently.

/// Max pooling with a square window.
public struct MaxPool2D: Sendable {
    public let kernel: Int
    public let stride: Int
    public let padding: ConvPadding

    public init(kernel: Int, stride: Int, padding: ConvPadding) {
        (self.kernel, self.stride, self.padding) = (kernel, stride, padding)
    }

    func geometry(height: Int, width: Int) -> ConvGeometry {
        ConvGeometry(height: height, width: width, kernel: kernel, stride: stride, padding: padding)
    }

    /// out (planes, OH, OW) ← max over each window of input (planes, height, width).
    func forward(_ out: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, planes: Int, height: Int, width: Int) {
        let g = geometry(height: height, width: width)
        let ow = g.outWidth
        // Planes are independent: one block of them per core (the other core would idle through this pass).
        let workers = planes >= 2 * parallelWorkerCount ? parallelWorkerCount : 1
        parallelTasks(workers, workers: workers) { block, _ in
            for p in rowBlock(block, of: workers, rows: planes) {
                let src = input + p * height * width
                for oy in 0..<g.outHeight {
                    let o = out + (p * g.outHeight + oy) * ow
                    o.update(repeating: -Float.infinity, count: ow)
                    for ky in 0..<kernel {
                        let iy = oy * stride - g.padTop + ky
                        if iy < 0 || iy >= height { continue }
                        let shifted = src + iy * width - g.padLeft
                        for kx in 0..<kernel {
                            for ox in g.validColumns(kx: kx) { o[ox] = max(o[ox], shifted[ox * stride + kx]) }
                        }
                    }
                }
            }
        }
    }
}
