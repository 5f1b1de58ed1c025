// The patch weights α of one image drawn over the image as the backbone saw it (resized and
// centre-cropped, `Preprocessing.cropped`), so a person can see where the image is anomalous.
// α is upsampled bilinearly to the crop with PyTorch's align_corners = False geometry (each grid
// value sits at its cell's centre; the edges clamp), scaled per image by min–max, coloured with
// matplotlib's inferno, and blended over the pixels.

/// Renders α heat maps.
public enum AlphaHeatMap {
    /// Share of the image in each output pixel, in percent; the colour gets the rest. A little under
    /// half keeps the image's edges and texture readable under the colour while the colour dominates.
    static let imagePercent = 45

    /// The crop × crop view of `image` that `preprocessing` feeds the backbone, with α overlaid.
    ///
    /// - Parameters:
    ///   - alpha: (gridHeight, gridWidth) row-major patch weights, one per backbone patch; any scale,
    ///     since they are min–max normalised. Uniform α (as in `average` mode, where
    ///     max − min ≤ 1e-12 · max |α|) is drawn as all zeros: the image under inferno's darkest colour.
    ///   - gridHeight, gridWidth: the patch grid; cell (r, c) covers rows r·crop/gridHeight ..<
    ///     (r + 1)·crop/gridHeight of the crop, and likewise for columns.
    /// - Throws: `AlphaHeatMapError` for a grid side below 1, a count that is not
    ///   gridHeight × gridWidth, or a NaN or infinite α.
    public static func render(
        _ image: RGBImage, alpha: [Float], gridHeight: Int, gridWidth: Int, preprocessing: Preprocessing
    ) throws(AlphaHeatMapError) -> RGBImage {
        try validate(alpha, gridHeight: gridHeight, gridWidth: gridWidth)
        let crop = preprocessing.crop
        let view = preprocessing.cropped(image)
        let heat = upsample(normalized(alpha), gridHeight: gridHeight, gridWidth: gridWidth, size: crop)  // (crop, crop)

        let colourPercent = 100 - imagePercent
        var pixels = [UInt8](repeating: 0, count: crop * crop * 3)
        pixels.withUnsafeMutableBufferPointer { out in
            view.pixels.withUnsafeBufferPointer { source in
                InfernoColormap.rgb.withUnsafeBufferPointer { colours in
                    heat.withUnsafeBufferPointer { heat in
                        for i in 0..<(crop * crop) {
                            let entry = 3 * min(max(Int((heat[i] * 255).rounded()), 0), 255)
                            for channel in 0..<3 {
                                let blended = imagePercent * Int(source[3 * i + channel])
                                    + colourPercent * Int(colours[entry + channel])
                                out[3 * i + channel] = UInt8((blended + 50) / 100)  // rounded; at most 255
                            }
                        }
                    }
                }
            }
        }
        return RGBImage(checkedWidth: crop, height: crop, pixels: pixels)
    }

    private static func validate(_ alpha: [Float], gridHeight: Int, gridWidth: Int) throws(AlphaHeatMapError) {
        guard gridHeight >= 1, gridWidth >= 1 else { throw .emptyGrid(height: gridHeight, width: gridWidth) }
        let (cells, overflow) = gridHeight.multipliedReportingOverflow(by: gridWidth)
        guard !overflow, cells == alpha.count else {
            throw .countMismatch(count: alpha.count, gridHeight: gridHeight, gridWidth: gridWidth)
        }
        if let index = alpha.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(index: index) }
    }

    /// α scaled to 0…1 by min–max, or all zeros when it is uniform up to 1e-12 of its magnitude.
    /// Scaling the grid rather than the upsampled map gives the same picture (bilinear weights are
    /// convex, and they commute with an affine map) for gridHeight · gridWidth values instead of crop².
    static func normalized(_ alpha: [Float]) -> [Float] {
        guard let low = alpha.min(), let high = alpha.max() else { return alpha }
        let range = high - low
        if Double(range) <= 1e-12 * Double(max(abs(high), abs(low))) {
            return [Float](repeating: 0, count: alpha.count)
        }
        return alpha.map { ($0 - low) / range }
    }

    /// Bilinear upsampling (or downsampling, without antialiasing) of a (gridHeight, gridWidth)
    /// grid to (size, size), as `F.interpolate(mode="bilinear", align_corners=False)`. Each output
    /// row blends two grid rows vertically into `row`, then reads `row` through horizontal taps
    /// computed once, so memory is one grid row plus the output whatever the grid's height.
    static func upsample(_ grid: [Float], gridHeight: Int, gridWidth: Int, size: Int) -> [Float] {
        let vertical = BilinearTaps(inputSize: gridHeight, outputSize: size).taps
        let horizontal = BilinearTaps(inputSize: gridWidth, outputSize: size).taps
        var output = [Float](repeating: 0, count: size * size)
        var row = [Float](repeating: 0, count: gridWidth)
        grid.withUnsafeBufferPointer { grid in
            horizontal.withUnsafeBufferPointer { horizontal in
                output.withUnsafeMutableBufferPointer { out in
                    row.withUnsafeMutableBufferPointer { row in
                        for y in 0..<size {
                            let v = vertical[y]
                            let top = v.lower * gridWidth, bottom = v.upper * gridWidth
                            for x in 0..<gridWidth {
                                row[x] = v.lowerWeight * grid[top + x] + v.upperWeight * grid[bottom + x]
                            }
                            for x in 0..<size {
                                let h = horizontal[x]
                                out[y * size + x] = h.lowerWeight * row[h.lower] + h.upperWeight * row[h.upper]
                            }
                        }
                    }
                }
            }
        }
        return output
    }
}
