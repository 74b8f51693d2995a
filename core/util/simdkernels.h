#pragma once
// Internal to core (never included by a public header): the float dot-product kernels
// that the exact scans (FactorStore) and spherical k-means share.
//
// Why this shape: several independent accumulators let the compiler vectorise without
// -ffast-math (so sums stay deterministic), and TL_CLONES builds each entry point for
// AVX2 and for plain x86-64, picked at load time — the package runs on any x86-64 and
// uses AVX2 where the processor has it. dotUnrolled() is inline so that it is compiled
// for the target of the cloned function that calls it; call it only from TL_CLONES
// functions, and call the out-of-line entry points below from anywhere else.
//
// Thread safety: pure functions. Failure: none (the caller passes valid ranges).

#include <cstdint>

#if defined(__x86_64__) && defined(__GNUC__)
#define TL_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define TL_CLONES
#endif

namespace traclens::simd {

inline float dotUnrolled(const float *a, const float *b, int n)
{
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; ++j)
            s[j] += a[i + j] * b[i + j];
    float t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    for (; i < n; ++i)
        t += a[i] * b[i];
    return t;
}

// ⟨a, b⟩ over n floats (float accumulation).
float dot(const float *a, const float *b, int n);

// scores[j] += eta · (e_j·eq)(h_j·hq + 1) for the `count` rows of a checkpoint block laid
// out as [e (k) | h (d)] per row (row j at rows + j·(k + d)).
void accumulateTracIn(const float *rows, int k, int d, const float *eq, const float *hq, float eta, int64_t count,
                      float *scores);

// The same for the listed rows of the block: scores[i] += … of row rows[i].
void accumulateTracInRows(const float *block, int k, int d, const int64_t *rows, int64_t count, const float *eq,
                          const float *hq, float eta, float *scores);

// out[j] = ⟨rows + j·stride, q⟩ over d floats, for j < count.
void stridedDots(const float *rows, int64_t stride, int d, const float *q, int64_t count, float *out);

} // namespace traclens::simd
