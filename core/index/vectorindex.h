#pragma once
// An approximate maximum-inner-product index: hnswlib's HNSW graph over vectors stored
// in half precision (float16.h), distance 1 − ⟨x, q⟩. With unit vectors this is cosine
// nearest-neighbour search; with raw vectors it is inner-product search (as in hnswlib's
// "ip" space). Vectors must lie within the half range (±65504); callers scale them.
//
// Half storage halves the index's vector memory; its rounding (≤ 2⁻¹¹ relative) is far
// below the error of the random projection the TracIn vectors already went through, and
// every candidate is rescored exactly by the caller anyway.
//
// hnswlib throws; this class catches at its boundary and returns Status.
// Ownership: owns the graph. Thread safety: add() may be called from several threads at
// once while nothing searches; after building, search() is safe to call concurrently
// (hnswlib's visited-list pool is locked); setEf() must not race with search().

#include "util/progress.h"
#include "util/status.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace traclens {

struct VectorIndexParams {
    int M = 16;               // graph degree (2M on the bottom layer)
    int efConstruction = 200; // candidate list while inserting
    uint64_t seed = 100;      // level generator
};

class VectorIndex {
public:
    ~VectorIndex();
    VectorIndex(const VectorIndex &) = delete;
    VectorIndex &operator=(const VectorIndex &) = delete;

    static Result<std::unique_ptr<VectorIndex>> create(int dim, int64_t capacity, const VectorIndexParams &params);
    // Reads a file written by save(); fails when it does not hold `dim`-sized vectors.
    static Result<std::unique_ptr<VectorIndex>> load(const std::string &path, int dim);

    int dim() const { return m_dim; }
    int64_t size() const;

    // Inserts vector v (dim floats) with a label (the caller's row number).
    Status add(const float *v, int64_t label);
    // Inserts one vector per label in parallel on `threads` threads; vectorOf(label, out)
    // fills the dim floats of a label (called concurrently). Checks `cancel` every few
    // hundred vectors; reports progress as (stage, detail, stage.done + done, stage.total).
    Status addAll(const std::vector<int64_t> &labels, int threads,
                  const std::function<void(int64_t, float *)> &vectorOf, const Progress &stage,
                  const ProgressFn &progress, const CancelFlag *cancel);

    // Writes the graph to `path` (via a temporary file and a rename).
    Status save(const std::string &path) const;

    void setEf(int ef);
    // The `count` labels of largest ⟨x, q⟩ (approximately), best first, with the inner
    // product as the index sees it (half-precision vectors).
    std::vector<std::pair<float, int64_t>> search(const float *q, int count) const;

    // Bytes of the graph and its vectors (hnswlib's allocations, estimated).
    size_t memoryBytes() const;
    // Reads every page of the bottom layer once (see FactorStore::warm()); a checksum.
    uint64_t warm() const;

private:
    VectorIndex() = default;
    struct Impl;
    std::unique_ptr<Impl> d;
    int m_dim = 0;
};

} // namespace traclens
