#pragma once
// Maximum-inner-product search over directions with per-row weights, by cells scanned
// exhaustively in the order of an upper bound (a cone bound), for the TracIn and
// embedding queries of InfluenceIndex.
//
// Data: rows with a unit vector x̂ (stored in float16) and a weight w ≥ 0 (the row's
// gradient norm for raw TracIn; 1 when unweighted). A query q̂ (unit) asks for the rows
// of largest w·⟨x̂, q̂⟩ (weighted) or ⟨x̂, q̂⟩ (unweighted); the smallest are the largest
// for −q̂.
//
// Cells: spherical k-means (sphericalkmeans.h) on a sample, then every row joins the
// cell of the nearest centroid μ. Each cell keeps cos θ, the smallest ⟨x̂, μ⟩ of its rows,
// and the largest and smallest weight. For a query at angle φ from μ every row of the
// cell is at least max(0, φ − θ) from q̂, so cos ≤ U = cos(max(0, φ − θ)), and the
// scores are ≤ wmax·U (U ≥ 0) or wmin·U (U < 0). search() scans cells in decreasing
// bound, every row of a scanned cell, and stops once `count` rows score at least the
// next cell's bound: no unscanned row can enter the list, so the result is the exact
// top `count` over the stored vectors — unless the row budget (maxRows) ran out first.
//
// Why cells and not a graph (HNSW, measured in docs/benchmarks-index.md): near-duplicate
// rows (planted clusters, repeated images) crowd a graph's neighbour lists, so a graph
// search returns a sample of the crowd rather than its best members, and a cosine graph
// cannot order rows by w·cos. A scanned cell holds the whole crowd, and the weights enter
// the bound.
//
// Ownership: owns its arrays. Thread safety: immutable after build()/load(); search() is
// safe to call concurrently. Failure: Status values; build() is cancellable.

#include "util/progress.h"
#include "util/status.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace traclens {

struct CellIndexParams {
    int cells = 0;                // 0: about √rows (between 8 and 4096)
    int64_t trainSample = 50000;  // rows the centroids are trained on
    int iterations = 10;          // k-means iterations on the sample
    uint64_t seed = 1;
};

class CellIndex {
public:
    ~CellIndex();
    CellIndex(const CellIndex &) = delete;
    CellIndex &operator=(const CellIndex &) = delete;

    // Indexes `labels` (the caller's row numbers). vectorOf(label, out) fills `dim` floats
    // (any length; stored normalised) and is called concurrently from `threads` threads;
    // weights[i] belongs to labels[i] (empty: all 1). Progress is reported as
    // (stage, detail, stage.done + rows done, stage.total).
    static Result<std::unique_ptr<CellIndex>> build(int dim, const std::vector<int64_t> &labels,
                                                    const std::function<void(int64_t, float *)> &vectorOf,
                                                    const std::vector<float> &weights, const CellIndexParams &params,
                                                    int threads, const Progress &stage, const ProgressFn &progress,
                                                    const CancelFlag *cancel);
    // Reads a file written by save(); Corruption when it is not one, or holds vectors of
    // another dimension.
    static Result<std::unique_ptr<CellIndex>> load(const std::string &path, int dim);
    // Writes via a temporary file and a rename.
    Status save(const std::string &path) const;

    int dim() const { return m_dim; }
    int64_t size() const { return int64_t(m_labels.size()); }
    int cells() const { return int(m_cosTheta.size()); }
    size_t memoryBytes() const;
    // True when every label is in [0, limit).
    bool labelsBelow(int64_t limit) const;
    // Reads every page of the row arrays once (see FactorStore::warm()); a checksum.
    uint64_t warm() const;

    struct Stats {
        int64_t rowsScanned = 0;
        int cellsScanned = 0;
        bool budgetHit = false; // stopped by maxRows before the bound proved the list
    };
    // The `count` labels of largest (w·)⟨x̂, q̂⟩ over the stored float16 vectors, best
    // first, with those scores. unitQ must have unit length. maxRows ≤ 0: no budget.
    std::vector<std::pair<float, int64_t>> search(const float *unitQ, int count, bool weighted, int64_t maxRows,
                                                  Stats *stats = nullptr) const;

private:
    CellIndex() = default;
    int m_dim = 0;
    // Rows in cell order; cell c holds rows [m_offset[c], m_offset[c + 1]).
    std::vector<int64_t> m_offset;
    std::vector<int64_t> m_labels;
    std::vector<uint16_t> m_vectors; // rows × dim, unit length, float16
    std::vector<float> m_weights;    // rows
    std::vector<float> m_centroids;  // cells × dim, unit length
    std::vector<float> m_cosTheta, m_maxWeight, m_minWeight; // cells
};

} // namespace traclens
