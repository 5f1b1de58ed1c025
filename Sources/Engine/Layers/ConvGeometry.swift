// Output size and padding of a sliding-window layer (convolution, depthwise convolution, pooling).
// Two padding rules occur in our backbones: PyTorch's symmetric padding (torchvision ResNets) and
// TensorFlow's "SAME" padding (EfficientNet-Lite), which is asymmetric for even totals — the smaller half
// goes before, the larger after (TF `nn.conv2d` docs; WEIGHTS.md).

/// How a sliding-window layer pads its input.
public enum ConvPadding: Sendable, Equatable {
    /// `p` zeros on every side (PyTorch's `padding=p`).
    case symmetric(Int)
    /// TensorFlow "SAME": output = ⌈input / stride⌉, total padding max((out − 1)·stride + kernel − input, 0),
    /// ⌊total/2⌋ before and the rest after.
    case tfSame
}

/// The geometry of one sliding-window pass over an H×W plane: output size and the padding before
/// (top, left). Padding after is implied by the output size.
struct ConvGeometry: Equatable {
    let inHeight: Int, inWidth: Int
    let outHeight: Int, outWidth: Int
    let padTop: Int, padLeft: Int
    let kernel: Int, stride: Int

    init(height: Int, width: Int, kernel: Int, stride: Int, padding: ConvPadding) {
        precondition(height >= 1 && width >= 1 && kernel >= 1 && stride >= 1, "bad window geometry")
        (inHeight, inWidth, self.kernel, self.stride) = (height, width, kernel, stride)
        func along(_ size: Int) -> (out: Int, before: Int) {
            switch padding {
            case .symmetric(let p):
                precondition(size + 2 * p >= kernel, "input \(size) + padding \(2 * p) is smaller than kernel \(kernel)")
                return ((size + 2 * p - kernel) / stride + 1, p)
            case .tfSame:
                let out = (size + stride - 1) / stride
                let total = max((out - 1) * stride + kernel - size, 0)
                return (out, total / 2)
            }
        }
        (outHeight, padTop) = along(height)
        (outWidth, padLeft) = along(width)
    }

    /// Output columns `ox` whose input column `ox·stride − padLeft + kx` lies inside the row.
    @inline(__always)
    func validColumns(kx: Int) -> Range<Int> {
        let first = padLeft - kx  // ox·stride ≥ first
        let lo = first <= 0 ? 0 : (first + stride - 1) / stride
        let last = inWidth - 1 + padLeft - kx  // ox·stride ≤ last
        let hi = last < 0 ? 0 : min(outWidth, last / stride + 1)
        return lo..<max(lo, hi)
    }
}
