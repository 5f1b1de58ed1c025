// The CNN layers compute in (C, B, H, W) order — channel-major across the whole batch — so that every
// convolution is one GEMM for all images at once. The backbones' inputs (B, 3, H, W) and outputs (one
// (C, H, W) `FeatureMap` per image and tap) are batch-first; these two copies convert at the edges.

/// Copies images (B, C, H, W) into (C, B, H, W).
func reorderToChannelMajor(_ out: UnsafeMutablePointer<Float>, _ images: UnsafePointer<Float>, batch: Int, channels: Int, plane: Int) {
    for b in 0..<batch {
        for c in 0..<channels {
            (out + (c * batch + b) * plane).update(from: images + (b * channels + c) * plane, count: plane)
        }
    }
}

/// Checks a batch of RGB images (B, 3, H, W) and copies it into the workspace's input buffer as (3, B, H, W).
func channelMajorInput(
    _ images: [Float], batch: Int, height: Int, width: Int, workspace: ConvWorkspace
) -> UnsafeMutablePointer<Float> {
    precondition(batch >= 1 && height >= 1 && width >= 1, "empty input")
    precondition(images.count == batch * 3 * height * width, "images: \(images.count) values for (\(batch), 3, \(height), \(width))")
    let x = workspace.buffer(.input, count: images.count)  // (3, B, H, W)
    images.withUnsafeBufferPointer { reorderToChannelMajor(x, $0.baseAddress!, batch: batch, channels: 3, plane: height * width) }
    return x
}

/// Splits a (C, B, H, W) activation into one (C, H, W) feature map per image.
func featureMaps(channelMajor source: UnsafePointer<Float>, batch: Int, shape: FeatureShape) -> [FeatureMap] {
    let plane = shape.height * shape.width
    return (0..<batch).map { b in
        let values = [Float](unsafeUninitializedCapacity: shape.channels * plane) { out, initialized in
            for c in 0..<shape.channels {
                (out.baseAddress! + c * plane).initialize(from: source + (c * batch + b) * plane, count: plane)
            }
            initialized = shape.channels * plane
        }
        return FeatureMap(unchecked: shape, values)
    }
}
