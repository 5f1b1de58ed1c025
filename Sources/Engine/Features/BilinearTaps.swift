// The source positions and weights of PyTorch's bilinear resize along one axis, with
// `align_corners = False` (`F.interpolate(mode="bilinear")`): output o reads source
// s = (o + 0.5)·(in/out) − 0.5, clamped at 0 below, from floor(s) and the next index (the last index
// repeats at the far edge). Computed in Float as PyTorch's CPU kernel does, so the weights match its own.

/// Bilinear interpolation taps from `inputSize` to `outputSize` samples along one axis.
struct BilinearTaps: Sendable {
    /// Output o = lowerWeight·source[lower] + upperWeight·source[upper].
    struct Tap: Sendable {
        /// floor(s), at most inputSize − 1.
        let lower: Int
        /// lower + 1, or lower itself at the last input.
        let upper: Int
        /// 1 − upperWeight.
        let lowerWeight: Float
        /// s − lower.
        let upperWeight: Float
    }

    let inputSize: Int
    let outputSize: Int
    /// One tap per output; (outputSize,).
    let taps: [Tap]

    init(inputSize: Int, outputSize: Int) {
        precondition(inputSize >= 1 && outputSize >= 1, "bilinear taps \(inputSize) → \(outputSize)")
        self.inputSize = inputSize
        self.outputSize = outputSize
        // area_pixel_compute_scale with no scale_factor given: in/out, in the kernel's Float math.
        let scale = Float(inputSize) / Float(outputSize)
        taps = (0..<outputSize).map { o in
            if inputSize == outputSize {  // PyTorch copies when the sizes agree
                return Tap(lower: o, upper: o, lowerWeight: 1, upperWeight: 0)
            }
            // area_pixel_compute_source_index: positions left of the first centre clamp to it.
            let source = max(scale * (Float(o) + 0.5) - 0.5, 0)
            let lower = min(Int(source), inputSize - 1)
            let upper = lower < inputSize - 1 ? lower + 1 : lower
            let upperWeight = min(source - Float(lower), 1)
            return Tap(lower: lower, upper: upper, lowerWeight: 1 - upperWeight, upperWeight: upperWeight)
        }
    }
}
