#pragma once
// IEEE 754 half precision (binary16) storage for large in-memory vector sets: the
// factors kept for exact rescoring and the vectors inside the approximate indexes.
// Half precision halves their memory (1M examples × 3 checkpoints × 74 factors is
// 888 MB in float32, 444 MB in float16) at a relative rounding error of at most 2⁻¹¹.
//
// Conversions round to nearest even; values beyond ±65504 become ±infinity, so callers
// scale vectors into range first (CellIndex and VectorIndex store unit vectors). Bulk conversions and the dot
// product use the F16C instructions when the processor has them (checked once at run
// time) and portable bit manipulation otherwise, so the package runs on any x86-64.
//
// Thread safety: pure functions.

#include <cstddef>
#include <cstdint>

namespace traclens {

uint16_t floatToHalf(float value);
float halfToFloat(uint16_t value);

void floatsToHalves(const float *in, uint16_t *out, size_t n);
void halvesToFloats(const uint16_t *in, float *out, size_t n);

// Σ a[i]·b[i] over n halves, accumulated in float32.
float dotHalves(const uint16_t *a, const uint16_t *b, size_t n);
// Σ a[i]·b[i] for halves a and floats b.
float dotHalfFloat(const uint16_t *a, const float *b, size_t n);
// out[r] = dotHalfFloat(rows + r·dim, q, dim) for r < count (one dispatch for all rows).
void dotsHalfFloat(const uint16_t *rows, size_t dim, const float *q, size_t count, float *out);

} // namespace traclens
