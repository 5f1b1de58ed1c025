// Which of the two resampling passes Pillow runs first. Each pass rounds to uint8, so the order
// changes results by ±1 on some pixels. Pillow up to 12.x always ran the horizontal pass first;
// Pillow 13.0 runs the vertical pass first when the height shrinks by more than twice as many
// pixels as the width (for Resize(int), a downscale of an image more than twice as tall as wide).

/// The order of Pillow's horizontal and vertical resampling passes, by Pillow version.
public enum ResizePassOrder: Sendable, Equatable {
    /// Pillow 13.0 and later (`ImagingResampleInner`): vertical first iff
    /// inHeight − outHeight > 0 and inHeight − outHeight > 2 · (inWidth − outWidth).
    case pillow13
    /// Pillow 12.x and earlier: always horizontal first.
    case horizontalFirst

    /// Whether the vertical pass runs first for this resize.
    func runsVerticalFirst(inWidth: Int, inHeight: Int, outWidth: Int, outHeight: Int) -> Bool {
        switch self {
        case .pillow13:
            let heightShrink = inHeight - outHeight
            return heightShrink > 0 && heightShrink > (inWidth - outWidth) * 2
        case .horizontalFirst:
            return false
        }
    }
}
