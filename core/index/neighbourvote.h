#pragma once
// Label agreement among an example's nearest neighbours in the model's embedding space:
// what the examples that look like it are labelled. A wrong label disagrees with the
// neighbours of its image, since they carry mostly its true class; a rare but correct
// example is protected by the few neighbours that share its class.
//
// nearestNeighbours() is an exact search (every pair's cosine, in blocks, on `threads`
// threads): deterministic, and for 60,000 examples of 64 dimensions a few seconds.
// neighbourAgreement() turns the lists into a score with the examples' current labels, so
// it follows relabels without a new search.
//
// Thread safety: plain functions over caller-owned data. Failure: Cancelled only.

#include "util/progress.h"
#include "util/status.h"

#include <cstdint>
#include <vector>

namespace traclens {

struct NeighbourLists {
    int k = 0;
    std::vector<int32_t> index;  // [row][k] rows of the neighbours, most similar first
    std::vector<float> weight;   // [row][k] max(cosine, 0): an opposite-looking neighbour does not vote
    int64_t rows() const { return k > 0 ? int64_t(index.size()) / k : 0; }
};

// The k most similar other rows of each of the n rows of `vectors` (n × dim, any length;
// compared by cosine, zero rows match nothing). k is capped at n − 1. Ties go to the
// lower row. Checks `cancel` between blocks.
Result<NeighbourLists> nearestNeighbours(const std::vector<float> &vectors, int64_t n, int dim, int k, int threads,
                                         const CancelFlag *cancel = nullptr);

// For each row i: Σ w [label_j = label_i] / Σ w over its neighbours j, in [0, 1]; 1 when
// every neighbour weight is zero (no evidence against the label).
std::vector<double> neighbourAgreement(const NeighbourLists &lists, const std::vector<int> &labels);

} // namespace traclens
