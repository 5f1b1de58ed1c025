// Patch weights α (ALGORITHM.md §5): per-patch anomaly scores s from nearest-patch distances, turned
// into a softmax over each image's patches at temperature τ, and the image summary X = Σ α·z.
// τ is in raw distance units; τ = 0 puts all weight on the arg-max patch (ties share it equally).

import Foundation

/// Computes α (N, P) and the weighted-average image embeddings X (N, D).
public enum PatchWeights {
    /// The per-patch scores s (N, P) for `mode`; `average` gives all zeros (every patch equal).
    /// - Parameter shouldContinue: polled after each distance tile; false stops the search and throws `.cancelled`.
    /// - Throws: when the mode cannot run on these inputs (one image unsupervised, no references, …).
    /// - Parameter search: exact (the default), or the scalable mode's sampling and projection.
    /// - Parameter resumption: for an unsupervised search over all other images (exact, or projected only):
    ///   where to start (a saved state that `fits` the searched embeddings) and where to save progress.
    public static func scores(
        _ z: PatchEmbeddings, mode: PatchWeightMode, references: PatchEmbeddings? = nil,
        search: NeighbourSearch = .exact,
        tileFloats: Int = NearestPatchDistances.defaultTileFloats, progress: ((Double) -> Void)? = nil,
        shouldContinue: (() -> Bool)? = nil, resumption: SearchResumption? = nil
    ) throws(EmbeddingsError) -> [Float] {
        let scores = try uncheckedScores(
            z, mode: mode, references: references, search: search, tileFloats: tileFloats, progress: progress,
            shouldContinue: shouldContinue, resumption: resumption)
        if let shouldContinue, !shouldContinue() { throw .cancelled }
        return scores
    }

    private static func uncheckedScores(
        _ z0: PatchEmbeddings, mode: PatchWeightMode, references references0: PatchEmbeddings?,
        search: NeighbourSearch, tileFloats: Int, progress: ((Double) -> Void)?, shouldContinue: (() -> Bool)?,
        resumption: SearchResumption?
    ) throws(EmbeddingsError) -> [Float] {
        if mode == .semiSupervised, let references0, references0.dimensions != z0.dimensions {
            throw .incompatible("normal references have \(references0.dimensions) dimensions per patch; the images have \(z0.dimensions)")
        }
        // The projection, when asked for, applies to the images and their references alike (one seed).
        let project = { (x: PatchEmbeddings) in
            search.projection.map { x.projected(to: $0, seed: search.seed) } ?? x
        }
        let z = mode == .average ? z0 : project(z0)
        let references = mode == .semiSupervised ? references0.map(project) : references0
        switch mode {
        case .average:
            return [Float](repeating: 0, count: z.images * z.patches)
        case .unsupervised:
            guard z.images >= 2 else {
                throw .incompatible("unsupervised patch weights need at least 2 images; the batch has \(z.images)")
            }
            if search.references != nil {
                return NearestPatchDistances.meanOverSampledImages(
                    z, references: search.references, seed: search.seed, progress: progress,
                    shouldContinue: shouldContinue)
            }
            // A saved state that does not fit these embeddings (another batch, a corrupt file) is not used.
            return NearestPatchDistances.meanOverOtherImages(
                z, tileFloats: tileFloats, progress: progress, shouldContinue: shouldContinue,
                resumingFrom: resumption?.state.flatMap { $0.fits(images: z.images, patches: z.patches) ? $0 : nil }, checkpoint: resumption?.save)
        case .semiSupervised:
            guard let references else {
                throw .incompatible("semi-supervised patch weights need normal reference images")
            }
            return NearestPatchDistances.minimumToReferences(
                z, references: references, tileFloats: tileFloats, progress: progress,
                shouldContinue: shouldContinue)
        }
    }

    /// α = softmax over each image's P patches of s/τ, computed in Double after subtracting the max.
    /// τ = 0 gives the arg-max (ties share equally); τ = ∞ gives uniform weights.
    /// - Parameter scores: (N, P) row-major.
    public static func softmax(scores: [Float], images n: Int, patches p: Int, tau: Double) throws(EmbeddingsError) -> [Float] {
        guard tau >= 0 else { throw .incompatible("tau must be ≥ 0 (got \(tau))") }  // also rejects NaN
        precondition(scores.count == n * p, "scores do not have shape (\(n), \(p))")
        var alpha = [Float](repeating: 0, count: n * p)
        var e = [Double](repeating: 0, count: p)
        for i in 0..<n {
            let row = i * p
            var top = -Float.infinity
            for m in 0..<p { top = max(top, scores[row + m]) }
            if tau == 0 {
                var ties = 0
                for m in 0..<p where scores[row + m] == top { ties += 1 }
                let share = Float(1 / Double(ties))
                for m in 0..<p where scores[row + m] == top { alpha[row + m] = share }
                continue
            }
            var total = 0.0
            for m in 0..<p {
                e[m] = exp((Double(scores[row + m]) - Double(top)) / tau)
                total += e[m]
            }
            for m in 0..<p { alpha[row + m] = Float(e[m] / total) }
        }
        return alpha
    }

    /// X[i] = Σ_m α[i, m] · z[i, m] — one GEMV per image.
    /// - Parameter alpha: (N, P) row-major.
    public static func weightedAverage(_ z: PatchEmbeddings, alpha: [Float]) -> ImageEmbeddings {
        let n = z.images, p = z.patches, d = z.dimensions
        precondition(alpha.count == n * p, "alpha does not have shape (\(n), \(p))")
        var x = [Float](repeating: 0, count: n * d)  // (N, D)
        z.values.withUnsafeBufferPointer { zb in
            alpha.withUnsafeBufferPointer { ab in
                x.withUnsafeMutableBufferPointer { xb in
                    for i in 0..<n {
                        // x_i (D) = z_iᵀ (D×P) · α_i (P)
                        BLAS.sgemv(
                            trans: true, m: p, n: d, alpha: 1, a: zb.baseAddress! + i * p * d, lda: d,
                            x: ab.baseAddress! + i * p, beta: 0, y: xb.baseAddress! + i * d)
                    }
                }
            }
        }
        return ImageEmbeddings(unchecked: n, d, x)
    }
}
