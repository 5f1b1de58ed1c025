// AVX-512 twins of the engine's own hot loops (the AVX2 originals are the Swift loops in Sources/Engine,
// compiled for Haswell). Swift has no per-function target attributes, and an AVX-512 build of the whole
// engine would not run on AVX2-only servers, so these are C with intrinsics, each function compiled for
// AVX-512 alone and called only when `ac_cpu_has_avx512()` says the CPU and the OS support it
// (Sources/Engine/Layers/VectorKernels.swift decides). Masked loads and stores cover every tail, so no
// function reads or writes outside the ranges its comment names.
//
// Elementwise kernels compute exactly what their Swift twin computes, operation for operation (same FMAs,
// same unfused products, same order), so their results are bit-identical; the reductions (sums) use
// 16-lane partial sums and differ from the Swift order by rounding only (tests: AVX512KernelTests).
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stdint.h>

/// 1 when this CPU has AVX-512 F, DQ, BW and VL plus FMA (CPUID) and the OS saves the zmm and mask
/// registers (XCR0), else 0; cheap after the first call.
int ac_cpu_has_avx512(void);

/// Softmax's first half on each of `rows` rows of `columns` floats, `stride` apart:
/// x ← exp(x − row max) (Engine's fastExp), sums[r] ← Σ of row r's exponentials.
void ac_softmax_exponentiate_avx512(float *x, int64_t rows, int64_t columns, int64_t stride, float *sums);

/// x ← ½·x·(1 + erf(x/√2)) for `count` floats (Engine's GELU.forward).
void ac_gelu_avx512(float *x, int64_t count);

/// out (rows, channels) ← (x − mean)·rstd·weight + bias per row, rstd = 1/√(biased variance + eps)
/// (Engine's LayerNorm.forward). `out` may equal `in`.
void ac_layer_norm_avx512(
    float *out, const float *in, int64_t rows, int64_t channels, const float *weight, const float *bias, float eps);

/// min over k < count of (g[k] + add[k]); +∞ when count is 0.
float ac_row_minimum_avx512(const float *g, const float *add, int64_t count);

/// One P×P block of a distance tile holding −2·z_i·z_jᵀ (rows `ldt` floats apart): row_sums[m] +=
/// √max(0, min_k(tile[m][k] + column_norms[k]) + row_norms[m]), column_sums[k] += √max(0, min_m(tile[m][k] +
/// row_norms[m]) + column_norms[k]). `column_minima` is scratch of P floats (Engine's reducePair).
void ac_reduce_pair_avx512(
    const float *tile, int64_t ldt, int64_t patches, const float *row_norms, const float *column_norms,
    double *row_sums, double *column_sums, float *column_minima);

/// dst[i] = a[i] + sign·b[i] for i < n (Winograd input transform, vertical half).
void ac_combine_avx512(float *dst, const float *a, const float *b, float sign, int64_t n);

/// dst[i] = a[2i] + sign·b[2i] for i < n (Winograd input transform, horizontal half).
void ac_combine_every_other_avx512(float *dst, const float *a, const float *b, float sign, int64_t n);

/// Activation codes shared with Engine's `Activation`.
enum { AC_IDENTITY = 0, AC_RELU = 1, AC_RELU6 = 2 };

/// One tile row of Winograd F(2×2, 3×3)'s output transform for one channel: m points at M_0 for this tile
/// row (M_ξ = m + ξ·xi_stride, `tiles` floats each); row0 (and row1 unless NULL) are the two output rows of
/// `width` floats ← act(Aᵀ M A + bias [+ row]) (Engine's WinogradF2x3.outputTransform and interleave).
void ac_winograd_output_row_avx512(
    float *row0, float *row1, const float *m, int64_t xi_stride, int64_t tiles, int64_t width, float bias,
    int32_t activation, int32_t accumulate);

/// wide[i] += Σ_j taps[j]·q[i + j] over j < tap_count (1…5), i < n — one filter row of a depthwise
/// convolution (Engine's DepthwiseConv2D.accumulate). Reads q[0 ..< n + tap_count − 1].
void ac_depthwise_accumulate_avx512(float *wide, const float *q, int64_t n, const float *taps, int32_t tap_count);

#endif
