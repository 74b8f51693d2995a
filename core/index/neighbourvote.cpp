#include "index/neighbourvote.h"

#include "util/parallelrows.h"
#include "util/simdkernels.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <utility>

namespace traclens {

namespace {

// Queries per block: the block's candidate lists stay in cache while every row is
// scanned once for the whole block.
constexpr int64_t kBlock = 256;

} // namespace

Result<NeighbourLists> nearestNeighbours(const std::vector<float> &vectors, int64_t n, int dim, int k, int threads,
                                         const CancelFlag *cancel)
{
    NeighbourLists out;
    if (n <= 1 || dim <= 0 || k <= 0 || int64_t(vectors.size()) < n * dim)
        return out;
    k = int(std::min<int64_t>(k, n - 1));
    out.k = k;
    out.index.assign(size_t(n) * size_t(k), 0);
    out.weight.assign(size_t(n) * size_t(k), 0.0f);

    // Unit rows, so a dot product is the cosine.
    std::vector<float> unit(vectors.begin(), vectors.begin() + n * dim);
    for (int64_t i = 0; i < n; ++i) {
        float *v = unit.data() + i * dim;
        const float norm = std::sqrt(simd::dot(v, v, dim));
        for (int j = 0; j < dim; ++j)
            v[j] = norm > 0.0f ? v[j] / norm : 0.0f;
    }

    const int64_t blocks = (n + kBlock - 1) / kBlock;
    std::atomic<bool> stopped{false};
    parallelRows(blocks, std::max(1, threads), 2, [&](int64_t b0, int64_t b1) {
        std::vector<float> dots(size_t(kBlock) * size_t(n));
        std::vector<std::pair<float, int32_t>> cand;
        for (int64_t b = b0; b < b1; ++b) {
            if (stopped || isCancelled(cancel)) {
                stopped = true;
                return;
            }
            const int64_t q0 = b * kBlock, q1 = std::min(n, q0 + kBlock);
            for (int64_t q = q0; q < q1; ++q)
                simd::stridedDots(unit.data(), dim, dim, unit.data() + q * dim, n, dots.data() + (q - q0) * n);
            for (int64_t q = q0; q < q1; ++q) {
                const float *row = dots.data() + (q - q0) * n;
                cand.clear();
                cand.reserve(size_t(n));
                for (int64_t j = 0; j < n; ++j)
                    if (j != q)
                        cand.emplace_back(row[j], int32_t(j));
                // Most similar first; equal similarity goes to the lower row, so the lists
                // do not depend on the thread split.
                auto better = [](const std::pair<float, int32_t> &a, const std::pair<float, int32_t> &c) {
                    return a.first > c.first || (a.first == c.first && a.second < c.second);
                };
                std::partial_sort(cand.begin(), cand.begin() + k, cand.end(), better);
                for (int j = 0; j < k; ++j) {
                    out.index[size_t(q) * size_t(k) + size_t(j)] = cand[size_t(j)].second;
                    out.weight[size_t(q) * size_t(k) + size_t(j)] = std::max(0.0f, cand[size_t(j)].first);
                }
            }
        }
    });
    if (stopped)
        return Status::cancelled();
    return out;
}

std::vector<double> neighbourAgreement(const NeighbourLists &lists, const std::vector<int> &labels)
{
    const int64_t n = lists.rows();
    std::vector<double> agree(size_t(n), 1.0);
    for (int64_t i = 0; i < n; ++i) {
        double same = 0.0, all = 0.0;
        for (int j = 0; j < lists.k; ++j) {
            const size_t at = size_t(i) * size_t(lists.k) + size_t(j);
            const double w = lists.weight[at];
            all += w;
            if (labels[size_t(lists.index[at])] == labels[size_t(i)])
                same += w;
        }
        if (all > 0.0)
            agree[size_t(i)] = same / all;
    }
    return agree;
}

} // namespace traclens
