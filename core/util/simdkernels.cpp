#include "util/simdkernels.h"

namespace traclens::simd {

TL_CLONES float dot(const float *a, const float *b, int n)
{
    return dotUnrolled(a, b, n);
}

TL_CLONES void accumulateTracIn(const float *rows, int k, int d, const float *eq, const float *hq, float eta,
                                int64_t count, float *scores)
{
    const int64_t stride = k + d;
    for (int64_t j = 0; j < count; ++j) {
        const float *row = rows + j * stride;
        scores[j] += eta * dotUnrolled(row, eq, k) * (dotUnrolled(row + k, hq, d) + 1.0f);
    }
}

TL_CLONES void accumulateTracInRows(const float *block, int k, int d, const int64_t *rows, int64_t count,
                                    const float *eq, const float *hq, float eta, float *scores)
{
    const int64_t stride = k + d;
    for (int64_t i = 0; i < count; ++i) {
        const float *row = block + rows[i] * stride;
        scores[i] += eta * dotUnrolled(row, eq, k) * (dotUnrolled(row + k, hq, d) + 1.0f);
    }
}

TL_CLONES void stridedDots(const float *rows, int64_t stride, int d, const float *q, int64_t count, float *out)
{
    for (int64_t j = 0; j < count; ++j)
        out[j] = dotUnrolled(rows + j * stride, q, d);
}

} // namespace traclens::simd
