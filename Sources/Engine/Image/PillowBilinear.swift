// Pillow's bilinear resize of 8-bit images (`ImagingResample`, src/libImaging/Resample.c) bit for
// bit: antialiased double weights, fixed point with PRECISION_BITS = 22, a horizontal and a vertical
// pass (ordered as `ResizePassOrder` says), each rounding to uint8. Only a window of the output (the
// crop) is computed, so memory follows the crop, not the resized image (a 40 000 × 1 upload at shorter
// side 256 would be a 7.9 GB intermediate); each output pixel depends only on its own taps.

/// One axis of the resampling: Pillow's `precompute_coeffs` plus `normalize_coeffs_8bpc`,
/// restricted to the output indices in `window`.
struct BilinearAxis {
    /// Slots per output index (Pillow's `ksize`); unused slots hold weight 0.
    let taps: Int
    /// First source index read by each window output (Pillow's `xmin`).
    let first: [Int]
    /// Number of source indices read by each window output (Pillow's `xmax` after `-= xmin`).
    let count: [Int]
    /// Fixed-point weights scaled by 2^22, (window.count, taps) row-major.
    let weights: [Int32]
    /// The output indices these coefficients are for.
    let window: Range<Int>

    /// Fractional bits of the fixed-point weights: 32 − 8 − 2, as in Pillow.
    static let precisionBits = 22

    init(inSize: Int, outSize: Int, window: Range<Int>) {
        // Pillow passes the box edges as C floats: (double)(in1 − in0) with in0 = 0, in1 = inSize.
        let scale = Double(Float(inSize)) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = 1.0 * filterScale  // the bilinear filter's support is 1
        let taps = Int(support.rounded(.up)) * 2 + 1
        let inverse = 1.0 / filterScale
        let one = Double(1 << Self.precisionBits)

        var first = [Int](repeating: 0, count: window.count)
        var count = [Int](repeating: 0, count: window.count)
        var weights = [Int32](repeating: 0, count: window.count * taps)
        var k = [Double](repeating: 0, count: taps)
        for (slot, xx) in window.enumerated() {
            let center = (Double(xx) + 0.5) * scale
            // C's (int) cast truncates toward zero, as Int(_: Double) does.
            var xmin = Int(center - support + 0.5)
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > inSize { xmax = inSize }
            xmax -= xmin
            xmax = min(xmax, taps)  // never binds (xmax ≤ 2·support + 1); keeps writes in bounds
            var sum = 0.0
            for x in 0..<xmax {
                let w = Self.bilinear((Double(x + xmin) - center + 0.5) * inverse)
                k[x] = w
                sum += w
            }
            for x in 0..<taps {
                var w = x < xmax ? k[x] : 0
                if x < xmax, sum != 0 { w /= sum }
                // Round half away from zero, then truncate, exactly as normalize_coeffs_8bpc.
                weights[slot * taps + x] = w < 0 ? Int32(-0.5 + w * one) : Int32(0.5 + w * one)
            }
            first[slot] = xmin
            count[slot] = max(xmax, 0)
        }
        self.taps = taps
        self.window = window
        self.first = first
        self.count = count
        self.weights = weights
    }

    /// The triangle filter, Pillow's `bilinear_filter`.
    private static func bilinear(_ x: Double) -> Double {
        let a = x < 0 ? -x : x
        return a < 1 ? 1 - a : 0
    }

    /// Source indices read by the whole window (for the vertical axis, Pillow's ybox_first ..< ybox_last).
    var sourceRange: Range<Int> {
        guard let low = first.first else { return 0..<0 }
        var high = low
        for i in 0..<first.count { high = max(high, first[i] + count[i]) }
        return low..<high
    }
}

/// A rectangle of an 8-bit RGB image: `pixels` is (rows.count, columns.count, 3) row-major, and
/// `rows` / `columns` say where the rectangle lies in the image it belongs to.
struct PixelRegion {
    var pixels: [UInt8]
    let rows: Range<Int>
    let columns: Range<Int>

    init(pixels: [UInt8], rows: Range<Int>, columns: Range<Int>) {
        self.pixels = pixels
        self.rows = rows
        self.columns = columns
    }

    /// The whole image as a region (shares its storage; nothing is copied).
    init(_ image: RGBImage) {
        self.init(pixels: image.pixels, rows: 0..<image.height, columns: 0..<image.width)
    }

    /// The sub-rectangle `rows` × `columns`, which must lie inside this region.
    func cropped(rows: Range<Int>, columns: Range<Int>) -> PixelRegion {
        if rows == self.rows && columns == self.columns { return self }
        var output = [UInt8]()
        output.reserveCapacity(rows.count * columns.count * 3)
        for y in rows {
            let start = ((y - self.rows.lowerBound) * self.columns.count + columns.lowerBound - self.columns.lowerBound) * 3
            output.append(contentsOf: pixels[start..<(start + columns.count * 3)])
        }
        return PixelRegion(pixels: output, rows: rows, columns: columns)
    }
}

/// Pillow's two-pass bilinear resampling of an `RGBImage`, for a window of the output.
enum PillowBilinear {
    /// Resizes `image` to `outWidth` × `outHeight` as Pillow's `Image.resize(size, BILINEAR)` does and
    /// returns the pixels of output `rows` × `columns` only, (rows.count, columns.count, 3) row-major.
    /// The ranges must lie inside the output.
    static func resample(
        _ image: RGBImage, outWidth: Int, outHeight: Int, columns: Range<Int>, rows: Range<Int>,
        order: ResizePassOrder
    ) -> [UInt8] {
        // Pillow's need_horizontal / need_vertical, for a box covering the whole source.
        let horizontal = outWidth != image.width ? BilinearAxis(inSize: image.width, outSize: outWidth, window: columns) : nil
        let vertical = outHeight != image.height ? BilinearAxis(inSize: image.height, outSize: outHeight, window: rows) : nil
        let verticalFirst = order.runsVerticalFirst(
            inWidth: image.width, inHeight: image.height, outWidth: outWidth, outHeight: outHeight)
        var region = PixelRegion(image)
        // Each pass computes only what the window needs: the first pass only the source rows
        // (or columns) that the second pass's taps read.
        if verticalFirst {
            if let vertical { region = resampleColumns(region, columns: horizontal?.sourceRange ?? columns, vertical) }
            if let horizontal { region = resampleRows(region, rows: rows, horizontal) }
        } else {
            if let horizontal { region = resampleRows(region, rows: vertical?.sourceRange ?? rows, horizontal) }
            if let vertical { region = resampleColumns(region, columns: columns, vertical) }
        }
        return region.cropped(rows: rows, columns: columns).pixels
    }

    /// Horizontal pass (ImagingResampleHorizontal_8bpc) for the given rows of `input`, producing the
    /// output columns of `axis`.
    private static func resampleRows(_ input: PixelRegion, rows: Range<Int>, _ axis: BilinearAxis) -> PixelRegion {
        let outWidth = axis.first.count
        let inWidth = input.columns.count
        var output = [UInt8](repeating: 0, count: rows.count * outWidth * 3)
        let half = Int32(1) << (BilinearAxis.precisionBits - 1)
        input.pixels.withUnsafeBufferPointer { source in
            axis.weights.withUnsafeBufferPointer { weights in
                output.withUnsafeMutableBufferPointer { destination in
                    var target = 0
                    for y in rows {
                        let sourceRow = (y - input.rows.lowerBound) * inWidth * 3
                        for xx in 0..<outWidth {
                            let k = xx * axis.taps
                            var p = sourceRow + (axis.first[xx] - input.columns.lowerBound) * 3
                            var r = half, g = half, b = half
                            for x in 0..<axis.count[xx] {
                                let w = weights[k + x]
                                r &+= Int32(source[p]) &* w
                                g &+= Int32(source[p + 1]) &* w
                                b &+= Int32(source[p + 2]) &* w
                                p += 3
                            }
                            destination[target] = clip8(r)
                            destination[target + 1] = clip8(g)
                            destination[target + 2] = clip8(b)
                            target += 3
                        }
                    }
                }
            }
        }
        return PixelRegion(pixels: output, rows: rows, columns: axis.window)
    }

    /// Vertical pass (ImagingResampleVertical_8bpc) for the given columns of `input`, producing the
    /// output rows of `axis`. Whole rows are accumulated at once; the integer sums equal Pillow's
    /// per-pixel sums because integer addition does not depend on order (and cannot overflow:
    /// the weights are non-negative and sum to about 2^22).
    private static func resampleColumns(_ input: PixelRegion, columns: Range<Int>, _ axis: BilinearAxis) -> PixelRegion {
        let rowBytes = columns.count * 3
        let inRowBytes = input.columns.count * 3
        let columnOffset = (columns.lowerBound - input.columns.lowerBound) * 3
        let outHeight = axis.first.count
        var output = [UInt8](repeating: 0, count: outHeight * rowBytes)
        var sums = [Int32](repeating: 0, count: rowBytes)
        let half = Int32(1) << (BilinearAxis.precisionBits - 1)
        input.pixels.withUnsafeBufferPointer { source in
            axis.weights.withUnsafeBufferPointer { weights in
                output.withUnsafeMutableBufferPointer { destination in
                    sums.withUnsafeMutableBufferPointer { sums in
                        for yy in 0..<outHeight {
                            for i in 0..<rowBytes { sums[i] = half }
                            for y in 0..<axis.count[yy] {
                                let w = weights[yy * axis.taps + y]
                                let row = (axis.first[yy] - input.rows.lowerBound + y) * inRowBytes + columnOffset
                                for i in 0..<rowBytes { sums[i] &+= Int32(source[row + i]) &* w }
                            }
                            let target = yy * rowBytes
                            for i in 0..<rowBytes { destination[target + i] = clip8(sums[i]) }
                        }
                    }
                }
            }
        }
        return PixelRegion(pixels: output, rows: axis.window, columns: columns)
    }

    /// Pillow's clip8: drop the fraction bits and clamp to 0…255.
    @inline(__always)
    private static func clip8(_ sum: Int32) -> UInt8 {
        let value = sum >> Int32(BilinearAxis.precisionBits)
        return value < 0 ? 0 : (value > 255 ? 255 : UInt8(truncatingIfNeeded: value))
    }
}
