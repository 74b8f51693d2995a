#include "util/float16.h"

#include <cstring>

// gcc only: clang 14's __builtin_cpu_supports does not know "f16c" (clang builds, such as
// the fuzz targets, take the portable path).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define TL_HAVE_F16C_PATH 1
#endif

namespace traclens {

uint16_t floatToHalf(float value)
{
    uint32_t x;
    std::memcpy(&x, &value, 4);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) // inf or NaN
        return uint16_t(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0u));
    if (absx >= 0x477ff000u) // rounds to ≥ 65520: overflow
        return uint16_t(sign | 0x7c00u);
    if (absx < 0x38800000u) { // below the smallest normal half: subnormal or zero
        if (absx < 0x33000000u)
            return uint16_t(sign);
        const uint32_t mant = (absx & 0x7fffffu) | 0x800000u;
        const int shift = 126 - int(absx >> 23); // 14..24
        uint32_t half = mant >> shift;
        const uint32_t rest = mant & ((1u << shift) - 1u);
        const uint32_t halfway = 1u << (shift - 1);
        if (rest > halfway || (rest == halfway && (half & 1u)))
            ++half;
        return uint16_t(sign | half);
    }
    // Normal: rebias the exponent and round the mantissa to 10 bits, nearest even.
    uint32_t half = ((absx >> 13) - (112u << 10));
    const uint32_t rest = absx & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u)))
        ++half;
    return uint16_t(sign | half);
}

float halfToFloat(uint16_t h)
{
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { // subnormal: normalise
            int e = -1;
            do {
                ++e;
                mant <<= 1;
            } while (!(mant & 0x400u));
            bits = sign | (uint32_t(112 - e) << 23) | ((mant & 0x3ffu) << 13);
        }
    } else if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 112u) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

namespace {

#ifdef TL_HAVE_F16C_PATH
__attribute__((target("avx2,f16c,fma"))) void toHalvesF16c(const float *in, uint16_t *out, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i *>(out + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; ++i)
        out[i] = floatToHalf(in[i]);
}

__attribute__((target("avx2,f16c,fma"))) void toFloatsF16c(const uint16_t *in, float *out, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(in + i))));
    for (; i < n; ++i)
        out[i] = halfToFloat(in[i]);
}

__attribute__((target("avx2,f16c,fma"))) float hsum(__m256 v)
{
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    __m128 sh = _mm_movehdup_ps(lo);
    lo = _mm_add_ps(lo, sh);
    sh = _mm_movehl_ps(sh, lo);
    return _mm_cvtss_f32(_mm_add_ss(lo, sh));
}

__attribute__((target("avx2,f16c,fma"))) float dotHalvesF16c(const uint16_t *a, const uint16_t *b, size_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(a + i))),
                             _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(b + i))), s0);
        s1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(a + i + 8))),
                             _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(b + i + 8))), s1);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(a + i))),
                             _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(b + i))), s0);
    float t = hsum(_mm256_add_ps(s0, s1));
    for (; i < n; ++i)
        t += halfToFloat(a[i]) * halfToFloat(b[i]);
    return t;
}

__attribute__((target("avx2,f16c,fma"))) float dotHalfFloatF16c(const uint16_t *a, const float *b, size_t n)
{
    __m256 s0 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(a + i))),
                             _mm256_loadu_ps(b + i), s0);
    float t = hsum(s0);
    for (; i < n; ++i)
        t += halfToFloat(a[i]) * b[i];
    return t;
}

__attribute__((target("avx2,f16c,fma"))) void dotsHalfFloatF16c(const uint16_t *rows, size_t dim, const float *q,
                                                                  size_t count, float *out)
{
    for (size_t r = 0; r < count; ++r) {
        const uint16_t *a = rows + r * dim;
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        size_t i = 0;
        for (; i + 16 <= dim; i += 16) {
            s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(a + i))),
                                 _mm256_loadu_ps(q + i), s0);
            s1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(a + i + 8))),
                                 _mm256_loadu_ps(q + i + 8), s1);
        }
        for (; i + 8 <= dim; i += 8)
            s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(a + i))),
                                 _mm256_loadu_ps(q + i), s0);
        float t = hsum(_mm256_add_ps(s0, s1));
        for (; i < dim; ++i)
            t += halfToFloat(a[i]) * q[i];
        out[r] = t;
    }
}

bool hasF16c()
{
    static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c")
                            && __builtin_cpu_supports("fma");
    return yes;
}
#else
bool hasF16c() { return false; }
#endif

} // namespace

void floatsToHalves(const float *in, uint16_t *out, size_t n)
{
#ifdef TL_HAVE_F16C_PATH
    if (hasF16c())
        return toHalvesF16c(in, out, n);
#endif
    for (size_t i = 0; i < n; ++i)
        out[i] = floatToHalf(in[i]);
}

void halvesToFloats(const uint16_t *in, float *out, size_t n)
{
#ifdef TL_HAVE_F16C_PATH
    if (hasF16c())
        return toFloatsF16c(in, out, n);
#endif
    for (size_t i = 0; i < n; ++i)
        out[i] = halfToFloat(in[i]);
}

float dotHalves(const uint16_t *a, const uint16_t *b, size_t n)
{
#ifdef TL_HAVE_F16C_PATH
    if (hasF16c())
        return dotHalvesF16c(a, b, n);
#endif
    float t = 0;
    for (size_t i = 0; i < n; ++i)
        t += halfToFloat(a[i]) * halfToFloat(b[i]);
    return t;
}

float dotHalfFloat(const uint16_t *a, const float *b, size_t n)
{
#ifdef TL_HAVE_F16C_PATH
    if (hasF16c())
        return dotHalfFloatF16c(a, b, n);
#endif
    float t = 0;
    for (size_t i = 0; i < n; ++i)
        t += halfToFloat(a[i]) * b[i];
    return t;
}

void dotsHalfFloat(const uint16_t *rows, size_t dim, const float *q, size_t count, float *out)
{
#ifdef TL_HAVE_F16C_PATH
    if (hasF16c())
        return dotsHalfFloatF16c(rows, dim, q, count, out);
#endif
    for (size_t r = 0; r < count; ++r)
        out[r] = dotHalfFloat(rows + r * dim, q, dim);
}

} // namespace traclens
