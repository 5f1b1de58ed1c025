// The AVX-512 kernels declared in CKernels.h. Every function carries its own target attribute (no flag for
// the whole file), so nothing else in the binary uses AVX-512 instructions and AVX2-only CPUs never reach
// them. The Swift twin of each kernel is named in its comment; constants and operation order are copied
// from it (Swift never fuses a·b + c by itself, so an unfused product here is `mul` then `add`, and each
// `addingProduct` there is an `fmadd` here).
#include "CKernels.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#include <math.h>

#define AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))

int ac_cpu_has_avx512(void) {
    static int cached = -1;
    if (cached >= 0) return cached;
    unsigned a, b, c, d;
    int ok = 0;
    if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 27)) && (c & (1u << 12))) {  // OSXSAVE, FMA
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        // XCR0: SSE, AVX, opmask, ZMM_Hi256 and Hi16_ZMM state saved by the OS.
        if ((lo & 0xE6u) == 0xE6u && __get_cpuid_count(7, 0, &a, &b, &c, &d)) {
            const unsigned need = (1u << 5) | (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);  // AVX2 F DQ BW VL
            ok = (b & need) == need;
        }
    }
    cached = ok;
    return ok;
}

/// Lanes 0 ..< n (n ≤ 16) set.
static inline AVX512 __mmask16 lanes(int64_t n) { return n <= 0 ? (__mmask16)0 : n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

/// Engine's fastExp (VectorMath.swift), sixteen lanes.
static inline AVX512 __m512 exp16(__m512 x0) {
    // x0 < −87.3 ? −87.3 : (x0 > 88.3 ? 88.3 : x0); max/min return their second operand for a NaN x0, as the
    // Swift comparison chain does.
    __m512 x = _mm512_min_ps(_mm512_set1_ps(88.3f), _mm512_max_ps(_mm512_set1_ps(-87.3f), x0));
    const __m512 magic = _mm512_set1_ps(12582912.0f);  // 1.5·2²³
    __m512 shifted = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504f), magic);
    __m512 n = _mm512_sub_ps(shifted, magic);
    __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-0.693359375f), x);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i bits = _mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_set1_epi32(0x4B400000));
    __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(127)), 23));
    return _mm512_mul_ps(p, scale);
}

/// Engine's fastErfcNonNegative, sixteen lanes.
static inline AVX512 __m512 erfc16(__m512 z) {
    __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(z, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.0f)));
    __m512 p = _mm512_set1_ps(1.061405429f);
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
    __m512 minusSquare = _mm512_xor_ps(_mm512_mul_ps(z, z), _mm512_set1_ps(-0.0f));
    return _mm512_mul_ps(_mm512_mul_ps(p, t), exp16(minusSquare));
}

AVX512 void ac_softmax_exponentiate_avx512(float *x, int64_t rows, int64_t columns, int64_t stride, float *sums) {
    const __m512 minusInfinity = _mm512_set1_ps(-INFINITY);
    for (int64_t r = 0; r < rows; r++) {
        float *row = x + r * stride;
        __m512 m0 = minusInfinity, m1 = minusInfinity;
        int64_t j = 0;
        for (; j + 32 <= columns; j += 32) {
            m0 = _mm512_max_ps(_mm512_loadu_ps(row + j), m0);
            m1 = _mm512_max_ps(_mm512_loadu_ps(row + j + 16), m1);
        }
        for (; j < columns; j += 16) {
            m0 = _mm512_max_ps(_mm512_mask_loadu_ps(minusInfinity, lanes(columns - j), row + j), m0);
        }
        __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(_mm512_max_ps(m0, m1)));
        // Exponentials and their sum in one pass: the sum is off the exponent's critical path here.
        __m512 s = _mm512_setzero_ps();
        for (j = 0; j < columns; j += 16) {
            __mmask16 k = lanes(columns - j);
            __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, row + j), m));
            _mm512_mask_storeu_ps(row + j, k, e);
            s = _mm512_mask_add_ps(s, k, s, e);
        }
        sums[r] = _mm512_reduce_add_ps(s);
    }
}

AVX512 void ac_gelu_avx512(float *x, int64_t count) {
    const __m512 zero = _mm512_setzero_ps();
    for (int64_t i = 0; i < count; i += 16) {
        __mmask16 k = lanes(count - i);
        __m512 v = _mm512_maskz_loadu_ps(k, x + i);
        __mmask16 negative = _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ);
        __m512 magnitude = _mm512_mask_blend_ps(negative, v, _mm512_sub_ps(zero, v));  // v < 0 ? −v : v
        __m512 e = erfc16(_mm512_mul_ps(magnitude, _mm512_set1_ps(0.7071067812f)));
        __m512 factor = _mm512_mask_blend_ps(negative, _mm512_sub_ps(_mm512_set1_ps(2.0f), e), e);
        _mm512_mask_storeu_ps(x + i, k, _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), factor));
    }
}

AVX512 void ac_layer_norm_avx512(
    float *out, const float *in, int64_t rows, int64_t channels, const float *weight, const float *bias, float eps
) {
    const float invC = 1.0f / (float)channels;
    for (int64_t r = 0; r < rows; r++) {
        const float *x = in + r * channels;
        float *y = out + r * channels;
        __m512 s = _mm512_setzero_ps();
        for (int64_t j = 0; j < channels; j += 16) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(lanes(channels - j), x + j));
        const float mean = _mm512_reduce_add_ps(s) * invC;
        const __m512 mv = _mm512_set1_ps(mean);
        __m512 q = _mm512_setzero_ps();
        for (int64_t j = 0; j < channels; j += 16) {
            __mmask16 k = lanes(channels - j);
            __m512 d = _mm512_maskz_sub_ps(k, _mm512_maskz_loadu_ps(k, x + j), mv);
            q = _mm512_fmadd_ps(d, d, q);
        }
        const float variance = _mm512_reduce_add_ps(q) * invC;
        const __m512 rstd = _mm512_set1_ps(1.0f / sqrtf(variance + eps));
        for (int64_t j = 0; j < channels; j += 16) {
            __mmask16 k = lanes(channels - j);
            __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), mv);
            __m512 v = _mm512_mul_ps(_mm512_mul_ps(d, rstd), _mm512_maskz_loadu_ps(k, weight + j));
            _mm512_mask_storeu_ps(y + j, k, _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, bias + j)));
        }
    }
}

AVX512 float ac_row_minimum_avx512(const float *g, const float *add, int64_t count) {
    const __m512 infinity = _mm512_set1_ps(INFINITY);
    __m512 b0 = infinity, b1 = infinity;
    int64_t k = 0;
    for (; k + 32 <= count; k += 32) {
        b0 = _mm512_min_ps(_mm512_add_ps(_mm512_loadu_ps(g + k), _mm512_loadu_ps(add + k)), b0);
        b1 = _mm512_min_ps(_mm512_add_ps(_mm512_loadu_ps(g + k + 16), _mm512_loadu_ps(add + k + 16)), b1);
    }
    for (; k < count; k += 16) {
        __mmask16 m = lanes(count - k);
        __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, g + k), _mm512_maskz_loadu_ps(m, add + k));
        b0 = _mm512_mask_min_ps(b0, m, v, b0);
    }
    return _mm512_reduce_min_ps(_mm512_min_ps(b0, b1));
}

/// √(s ≥ 0 ? s : 0) in double, as Swift's `Double(max(0, s).squareRoot())`.
static inline double root(float s) { return (double)sqrtf(s >= 0 ? s : 0); }

AVX512 void ac_reduce_pair_avx512(
    const float *tile, int64_t ldt, int64_t p, const float *row_norms, const float *column_norms,
    double *row_sums, double *column_sums, float *column_minima
) {
    const __m512 infinity = _mm512_set1_ps(INFINITY);
    for (int64_t k = 0; k < p; k++) column_minima[k] = INFINITY;
    for (int64_t m = 0; m < p; m++) {
        const float *g = tile + m * ldt;
        const float a = row_norms[m];
        const __m512 aa = _mm512_set1_ps(a);
        __m512 best = infinity;
        for (int64_t k = 0; k < p; k += 16) {
            __mmask16 lane = lanes(p - k);
            __m512 v = _mm512_maskz_loadu_ps(lane, g + k);
            __m512 s = _mm512_add_ps(v, _mm512_maskz_loadu_ps(lane, column_norms + k));
            best = _mm512_mask_min_ps(best, lane, s, best);  // s < best ? s : best
            __m512 c = _mm512_maskz_loadu_ps(lane, column_minima + k);
            _mm512_mask_storeu_ps(column_minima + k, lane, _mm512_min_ps(_mm512_add_ps(v, aa), c));
        }
        row_sums[m] += root(_mm512_reduce_min_ps(best) + a);
    }
    for (int64_t k = 0; k < p; k++) column_sums[k] += root(column_minima[k] + column_norms[k]);
}

AVX512 void ac_combine_avx512(float *dst, const float *a, const float *b, float sign, int64_t n) {
    const __m512 sv = _mm512_set1_ps(sign);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = lanes(n - i);
        __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(k, a + i), _mm512_mul_ps(sv, _mm512_maskz_loadu_ps(k, b + i)));
        _mm512_mask_storeu_ps(dst + i, k, v);
    }
}

/// x[0], x[2], …, x[2(count − 1)] as lanes 0 ..< count (count ≤ 16), reading nothing past x[2(count − 1)].
static inline AVX512 __m512 evens(const float *x, int64_t count) {
    const __m512i pick = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    int64_t span = 2 * count - 1;
    __m512 lo = _mm512_maskz_loadu_ps(lanes(span), x);
    __m512 hi = _mm512_maskz_loadu_ps(lanes(span > 16 ? span - 16 : 0), x + 16);
    return _mm512_permutex2var_ps(lo, pick, hi);
}

AVX512 void ac_combine_every_other_avx512(float *dst, const float *a, const float *b, float sign, int64_t n) {
    const __m512 sv = _mm512_set1_ps(sign);
    for (int64_t i = 0; i < n; i += 16) {
        int64_t count = n - i < 16 ? n - i : 16;
        __m512 v = _mm512_add_ps(evens(a + 2 * i, count), _mm512_mul_ps(sv, evens(b + 2 * i, count)));
        _mm512_mask_storeu_ps(dst + i, lanes(count), v);
    }
}

/// act(x + 0) as Engine's Activation.apply(…, bias: 0): relu is `max(x, 0)` = 0 ≥ x ? 0 : x (NaN kept),
/// relu6 then `min(·, 6)` = 6 < · ? 6 : ·.
static inline AVX512 __m512 activate(__m512 x, int32_t activation) {
    const __m512 zero = _mm512_setzero_ps();
    x = _mm512_add_ps(x, zero);
    if (activation == AC_IDENTITY) return x;
    x = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, zero, _CMP_LE_OQ), x, zero);
    if (activation == AC_RELU) return x;
    const __m512 six = _mm512_set1_ps(6.0f);
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, six, _CMP_GT_OQ), x, six);
}

/// row[2t] ← act(left[t] [+ row[2t]]), row[2t + 1] ← act(right[t] [+ row[2t + 1]]) for the 32 columns from
/// `row`, of which the first `columns` exist.
static inline AVX512 void interleave32(float *row, __m512 left, __m512 right, int64_t columns, int32_t activation, int32_t accumulate) {
    const __m512i first = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i second = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    __mmask16 k0 = lanes(columns), k1 = lanes(columns > 16 ? columns - 16 : 0);
    __m512 v0 = _mm512_permutex2var_ps(left, first, right), v1 = _mm512_permutex2var_ps(left, second, right);
    if (accumulate) {
        v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(k0, row), v0);
        v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(k1, row + 16), v1);
    }
    _mm512_mask_storeu_ps(row, k0, activate(v0, activation));
    _mm512_mask_storeu_ps(row + 16, k1, activate(v1, activation));
}

AVX512 void ac_winograd_output_row_avx512(
    float *row0, float *row1, const float *m, int64_t xi_stride, int64_t tiles, int64_t width, float bias,
    int32_t activation, int32_t accumulate
) {
    const __m512 bv = _mm512_set1_ps(bias);
    for (int64_t tx = 0; tx < tiles; tx += 16) {
        __mmask16 k = lanes(tiles - tx);
        __m512 mv[16];
        for (int xi = 0; xi < 16; xi++) mv[xi] = _mm512_maskz_loadu_ps(k, m + xi * xi_stride + tx);
        // Rows of the 4×4 tile first (s0_j = m0j + m1j + m2j, s1_j = m1j − m2j − m3j), then along j.
        __m512 s00 = _mm512_add_ps(_mm512_add_ps(mv[0], mv[4]), mv[8]), s10 = _mm512_sub_ps(_mm512_sub_ps(mv[4], mv[8]), mv[12]);
        __m512 s01 = _mm512_add_ps(_mm512_add_ps(mv[1], mv[5]), mv[9]), s11 = _mm512_sub_ps(_mm512_sub_ps(mv[5], mv[9]), mv[13]);
        __m512 s02 = _mm512_add_ps(_mm512_add_ps(mv[2], mv[6]), mv[10]), s12 = _mm512_sub_ps(_mm512_sub_ps(mv[6], mv[10]), mv[14]);
        __m512 s03 = _mm512_add_ps(_mm512_add_ps(mv[3], mv[7]), mv[11]), s13 = _mm512_sub_ps(_mm512_sub_ps(mv[7], mv[11]), mv[15]);
        __m512 y00 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s00, s01), s02), bv);
        __m512 y01 = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s01, s02), s03), bv);
        int64_t columns = width - 2 * tx;
        if (columns > 32) columns = 32;
        interleave32(row0 + 2 * tx, y00, y01, columns, activation, accumulate);
        if (row1) {
            __m512 y10 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s10, s11), s12), bv);
            __m512 y11 = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s11, s12), s13), bv);
            interleave32(row1 + 2 * tx, y10, y11, columns, activation, accumulate);
        }
    }
}

AVX512 void ac_depthwise_accumulate_avx512(float *wide, const float *q, int64_t n, const float *taps, int32_t tap_count) {
    const __m512 t0 = _mm512_set1_ps(taps[0]);
    const __m512 t1 = _mm512_set1_ps(tap_count > 1 ? taps[1] : 0), t2 = _mm512_set1_ps(tap_count > 2 ? taps[2] : 0);
    const __m512 t3 = _mm512_set1_ps(tap_count > 3 ? taps[3] : 0), t4 = _mm512_set1_ps(tap_count > 4 ? taps[4] : 0);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = lanes(n - i);
        // Left to right as the Swift expression t.0·q[i] + t.1·q[i + 1] + …, each product rounded on its own.
        __m512 s = _mm512_mul_ps(t0, _mm512_maskz_loadu_ps(k, q + i));
        if (tap_count > 1) s = _mm512_add_ps(s, _mm512_mul_ps(t1, _mm512_maskz_loadu_ps(k, q + i + 1)));
        if (tap_count > 2) s = _mm512_add_ps(s, _mm512_mul_ps(t2, _mm512_maskz_loadu_ps(k, q + i + 2)));
        if (tap_count > 3) s = _mm512_add_ps(s, _mm512_mul_ps(t3, _mm512_maskz_loadu_ps(k, q + i + 3)));
        if (tap_count > 4) s = _mm512_add_ps(s, _mm512_mul_ps(t4, _mm512_maskz_loadu_ps(k, q + i + 4)));
        _mm512_mask_storeu_ps(wide + i, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, wide + i), s));
    }
}

#else  // not x86-64: no AVX-512; Engine never calls the kernels below.
#include <stdlib.h>
int ac_cpu_has_avx512(void) { return 0; }
void ac_softmax_exponentiate_avx512(float *x, int64_t rows, int64_t columns, int64_t stride, float *sums) { abort(); }
void ac_gelu_avx512(float *x, int64_t count) { abort(); }
void ac_layer_norm_avx512(float *out, const float *in, int64_t rows, int64_t channels, const float *weight, const float *bias, float eps) { abort(); }
float ac_row_minimum_avx512(const float *g, const float *add, int64_t count) { abort(); }
void ac_reduce_pair_avx512(const float *tile, int64_t ldt, int64_t p, const float *row_norms, const float *column_norms,
                           double *row_sums, double *column_sums, float *column_minima) { abort(); }
void ac_combine_avx512(float *dst, const float *a, const float *b, float sign, int64_t n) { abort(); }
void ac_combine_every_other_avx512(float *dst, const float *a, const float *b, float sign, int64_t n) { abort(); }
void ac_winograd_output_row_avx512(float *row0, float *row1, const float *m, int64_t xi_stride, int64_t tiles, int64_t width,
                                   float bias, int32_t activation, int32_t accumulate) { abort(); }
void ac_depthwise_accumulate_avx512(float *wide, const float *q, int64_t n, const float *taps, int32_t tap_count) { abort(); }
#endif
