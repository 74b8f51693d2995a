#pragma once
// A data-adapted projection for TracIn gradient vectors: their top principal directions.
//
// The gradient vectors of a model span far fewer than C·K·(D+1) directions (e has K−1
// degrees of freedom, h a few dozen active features, and examples of a class share
// both), so projecting onto the top m eigenvectors of their second-moment matrix
// keeps much more of each cosine than a random projection of the same size: the error
// of ⟨Px, Pq⟩ is ⟨x⊥, q⊥⟩, the part outside the subspace, instead of a random
// O(‖x‖‖q‖/√m).
//
// Computed from `sample` unit-normalised training gradient vectors (seeded choice):
// M = Σ ggᵀ (F × F), then subspace iteration (Q ← orth(MQ), 25 rounds) for the top m
// eigenvectors; cost ≈ sample·F²/2 + 25·F²·m multiply-adds (F = 1950, m = 64: ~25 G).
//
// Thread safety: reads the store only. Returns m × F floats, row-major (empty when
// m ≥ F or the store has no training rows).

#include "store/factorstore.h"

#include <cstdint>
#include <vector>

namespace traclens {

std::vector<float> principalDirections(const FactorStore &store, int m, uint64_t seed, int64_t sample = 10000,
                                       const CancelFlag *cancel = nullptr);

} // namespace traclens
