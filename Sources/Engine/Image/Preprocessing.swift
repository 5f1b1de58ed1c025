// The input pipeline of every backbone (ALGORITHM.md §1), equal to torchvision on PIL images:
// Resize(resize) with an int (shorter side → resize, bilinear with PIL's antialiasing),
// CenterCrop(crop), ToTensor, then Normalize (ImageNet) or EfficientNet-Lite's (v − 127)/128.
// Resizing is Pillow's arithmetic bit for bit (`PillowBilinear`), in the pass order of Pillow 13
// or of Pillow ≤ 12 (`ResizePassOrder`), and only the pixels inside the crop are computed.

/// How a backbone expects its input scaled.
public enum Normalization: Sendable, Equatable {
    /// torchvision ToTensor + Normalize(mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225)), in float32.
    case imageNet
    /// EfficientNet-Lite's (x·255 − 127)/128, computed on the 8-bit value v as (v − 127)/128,
    /// which is exact in float32 (x·255 after x = v/255 would not always give back v).
    case efficientNetLite
}

/// Resize, centre crop and normalisation settings; construction checks the sizes.
public struct Preprocessing: Sendable, Equatable {
    /// Target length of the shorter side after resizing, in pixels.
    public let resize: Int
    /// Side of the square centre crop, in pixels; the output is (3, crop, crop).
    public let crop: Int
    public let normalization: Normalization
    /// Which Pillow version's pass order to reproduce; only matters when downscaling images more
    /// than twice as tall as wide (see `ResizePassOrder`).
    public let passOrder: ResizePassOrder

    /// Largest accepted `resize` and `crop`: bounds the tensor (3 · 4096² floats = 192 MiB).
    public static let maxSize = 4096

    /// - Throws: `PreprocessingError.invalidSize` unless 1 ≤ resize, crop ≤ `maxSize`. A crop larger
    ///   than the resized image is allowed and zero-padded, as torchvision does.
    public init(
        resize: Int = 256, crop: Int = 224, normalization: Normalization = .imageNet,
        passOrder: ResizePassOrder = .pillow13
    ) throws(PreprocessingError) {
        guard (1...Self.maxSize).contains(resize) else {
            throw .invalidSize(name: "resize", value: resize, limit: Self.maxSize)
        }
        guard (1...Self.maxSize).contains(crop) else {
            throw .invalidSize(name: "crop", value: crop, limit: Self.maxSize)
        }
        self.resize = resize
        self.crop = crop
        self.normalization = normalization
        self.passOrder = passOrder
    }

    /// The image as the backbone takes it: (3, crop, crop) float32, channel-major (CHW) row-major.
    /// Normalises `cropped(image)`, so the tensor and the view heat maps are drawn on cannot disagree.
    public func apply(_ image: RGBImage) -> [Float] {
        let view = cropped(image)
        let table = normalizationTable()  // (3, 256): the normalised value of each byte per channel
        let plane = crop * crop
        var tensor = [Float](repeating: 0, count: 3 * plane)
        tensor.withUnsafeMutableBufferPointer { out in
            view.pixels.withUnsafeBufferPointer { pixels in
                for i in 0..<plane {
                    out[i] = table[Int(pixels[3 * i])]
                    out[plane + i] = table[256 + Int(pixels[3 * i + 1])]
                    out[2 * plane + i] = table[512 + Int(pixels[3 * i + 2])]
                }
            }
        }
        return tensor
    }

    /// The crop × crop RGB image the backbone sees before normalisation: resized, centre-cropped,
    /// and padded with byte 0 where the crop is larger than the resized image (as torchvision pads
    /// the PIL image). `apply` normalises exactly these bytes, so overlays drawn on it line up
    /// with the patches. Only the pixels inside the crop are resampled.
    public func cropped(_ image: RGBImage) -> RGBImage {
        let size = resizedSize(width: image.width, height: image.height)
        let left = Self.cropOffset(length: size.width, crop: crop)
        let top = Self.cropOffset(length: size.height, crop: crop)
        // The part of the crop that lies inside the resized image; the rest is zero padding.
        let columns = max(left, 0)..<min(left + crop, size.width)
        let rows = max(top, 0)..<min(top + crop, size.height)
        let window = PillowBilinear.resample(
            image, outWidth: size.width, outHeight: size.height, columns: columns, rows: rows, order: passOrder)
        if rows.count == crop && columns.count == crop {
            return RGBImage(checkedWidth: crop, height: crop, pixels: window)
        }

        var pixels = [UInt8](repeating: 0, count: crop * crop * 3)
        let rowBytes = columns.count * 3
        for (wy, y) in rows.enumerated() {
            let target = ((y - top) * crop + (columns.lowerBound - left)) * 3
            pixels[target..<(target + rowBytes)] = window[(wy * rowBytes)..<((wy + 1) * rowBytes)]
        }
        return RGBImage(checkedWidth: crop, height: crop, pixels: pixels)
    }

    /// The whole resized image, before cropping (for tests and inspection).
    ///
    /// - Throws: `PreprocessingError.outputTooLarge` when the resized image would have more than
    ///   `maxPixels` pixels (a 40 000 × 1 strip resized to a shorter side of 256 is 2.6 gigapixels).
    public func resized(_ image: RGBImage, maxPixels: Int = ImageDecoder.defaultMaxPixels) throws(PreprocessingError) -> RGBImage {
        let size = resizedSize(width: image.width, height: image.height)
        let (pixels, overflow) = size.width.multipliedReportingOverflow(by: size.height)
        guard !overflow, pixels <= maxPixels else {
            throw .outputTooLarge(width: size.width, height: size.height, limit: maxPixels)
        }
        let bytes = PillowBilinear.resample(
            image, outWidth: size.width, outHeight: size.height, columns: 0..<size.width, rows: 0..<size.height,
            order: passOrder)
        return RGBImage(checkedWidth: size.width, height: size.height, pixels: bytes)
    }

    /// Size after `Resize(resize)`: torchvision's `_compute_resized_output_size` for an int size.
    /// The shorter side becomes `resize` and the longer one `int(resize * long / short)`, truncated.
    public func resizedSize(width: Int, height: Int) -> (width: Int, height: Int) {
        let short = min(width, height)
        let long = max(width, height)
        // Python divides the exact integer product; both operands convert to Double exactly while
        // the product is below 2^53 (any image that fits in memory), so the quotient is the same.
        let newLong = Int(Double(resize) * Double(long) / Double(short))
        return width <= height ? (resize, newLong) : (newLong, resize)
    }

    /// Offset of the crop along one side, as torchvision's `center_crop`: int(round((length − crop) / 2))
    /// with Python's round-half-to-even; when the crop is longer, the side is first zero-padded by
    /// (crop − length) // 2 before and the rest after, so the crop starts that far before the image.
    public static func cropOffset(length: Int, crop: Int) -> Int {
        if crop > length { return -((crop - length) / 2) }
        let twice = length - crop
        let half = twice / 2
        if twice % 2 == 0 { return half }
        return half % 2 == 0 ? half : half + 1  // x.5 rounds to the even neighbour
    }

    /// The normalised value of every byte for each channel, (3, 256), computed in float32 with the
    /// same operations and order as torchvision: (v / 255 − mean) / std. Internal for the tests.
    func normalizationTable() -> [Float] {
        var table = [Float](repeating: 0, count: 3 * 256)
        switch normalization {
        case .imageNet:
            // torch.tensor([0.485, …]) rounds Python doubles to float32; do the same.
            let mean: [Float] = [Float(0.485 as Double), Float(0.456 as Double), Float(0.406 as Double)]
            let std: [Float] = [Float(0.229 as Double), Float(0.224 as Double), Float(0.225 as Double)]
            for c in 0..<3 {
                for v in 0..<256 { table[c * 256 + v] = (Float(v) / 255 - mean[c]) / std[c] }
            }
        case .efficientNetLite:
            for c in 0..<3 {
                for v in 0..<256 { table[c * 256 + v] = (Float(v) - 127) / 128 }
            }
        }
        return table
    }
}
