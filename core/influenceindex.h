#pragma once
// TracIn and embedding queries that stay fast at a million training examples.
//
// Below kExactSearchBelow training examples every query is exact (brute force over the
// factors, like InfluenceEngine). From there on, HNSW graphs (VectorIndex) find
// candidates and every candidate is rescored exactly from the factors before it is
// shown, so the scores are always exact and only a true neighbour missing from the
// candidates can change a list (measured: recall@10, docs/benchmarks-index.md):
//
//   TracIn       projected gradient vectors (TracInProjection), unit-normalised, in
//                norm ranges: the training rows of largest gradient norm (the "head")
//                are scored exactly, the rest are split by norm into a few ranges with
//                one cosine graph each. Normalised TracIn: the union of every range's
//                best cosines (search q, and −q for opponents). Raw TracIn = ‖x‖‖q‖cos:
//                the same candidates, ranges in decreasing norm, stopping as soon as
//                the k-th best score beats ‖x‖max‖q‖ of the next range (exact bound).
//   embedding    h at the last checkpoint, unit-normalised: nearest = search(q),
//                farthest = search(−q); exact cosine rescoring.
//
// Persistence: the indexes live in <project>.d/index/model-<id>/ with index.json, which
// holds a fingerprint (model id, example and factor counts, checkpoints, a hash of every
// factor and label, and the parameters). open() loads them when the fingerprint matches
// and otherwise rebuilds and saves them (unless told not to), so an index is rebuilt
// only when the project changed. index.json is written last: a build killed half-way
// leaves no index that looks fresh.
//
// Memory: the factors are kept for rescoring, in float16 above kHalfFactorsAboveBytes
// (FactorStore); the indexes store float16 vectors.
//
// Ownership: owns its FactorStore and indexes. Thread safety: after open(), const
// methods are safe to call concurrently. Failure: Status values; open() is cancellable
// (CancelFlag, checked between rows) and reports progress.

#include "computejob.h"
#include "factorstore.h"
#include "influenceengine.h"
#include "tracinprojection.h"
#include "vectorindex.h"

#include <memory>
#include <string>

namespace traclens {

// Training-set size from which queries go through the index; below it they are exact.
// Measured (bench_index --sweep, docs/benchmarks-index.md; K=10, D=64, 3 checkpoints,
// raw and normalised queries, CPU time per query, ef 100): exact search costs 0.10 ms
// per 1 000 training rows (3.9 ms at 30 000, 6.2 at 60 000, 10.0 at 100 000, 20.6 at
// 200 000, 129 at 1 000 000); the index 6.7, 6.4, 7.7, 10.1 and 17.5 ms. The two cross
// at about 66 000 rows; below that exact answers cost no more, so they are used.
constexpr int64_t kExactSearchBelow = 65000;

// Factors are kept in float16 for rescoring when float32 would take more than this.
constexpr size_t kHalfFactorsAboveBytes = size_t(256) << 20;

enum class SearchMode { Auto, Exact, Index };

struct IndexParams {
    // Projection of the TracIn gradient vectors; 0 = the exact vectors (C·K·(D+1)).
    // 64 by measurement: on Fashion-MNIST it meets recall@10 ≥ 0.99 for raw and
    // normalised proponents and opponents at ef 100, and a million examples fit in
    // 1.6 GB. Pca (the gradients' top principal directions, pcaProjection.h) rather than
    // a random matrix: mean |cosine error| 0.006 instead of 0.094 on Fashion-MNIST, and
    // on planted synthetic clusters (near-duplicate gradients) opponents recall@10 at
    // ef 200 0.97 instead of 0.80 (docs/benchmarks-index.md). Gaussian and Achlioptas
    // remain for comparison and are what exact-search opens use (no index to serve).
    int projectionDim = 64;
    ProjectionKind projection = ProjectionKind::Pca;
    uint64_t seed = 1;
    int M = 16;
    int efConstruction = 200;
    // Candidates retrieved (and rescored) per list and graph: max(efSearch, 10·k).
    // 100: the smallest that met the recall target on Fashion-MNIST; 17.5 ms per query
    // (CPU) at a million training examples, 23 ms at 200.
    int efSearch = 100;
    // TracIn rows scanned exactly (largest gradient norms): max(exactHead, rows/200).
    // Head and ranges chosen by measurement: on Fashion-MNIST 4 ranges and a head of
    // 2000 gave raw proponents recall@10 0.953 at ef 200, 8 ranges and 3000 gave 0.999.
    int64_t exactHead = 3000;
    // Norm ranges of the other rows, one graph each.
    int normBuckets = 8;
    // std::nullopt-like: Auto picks float16 above kHalfFactorsAboveBytes.
    enum class Precision { Auto, Float32, Float16 } precision = Precision::Auto;

    // The part of the fingerprint that the parameters contribute.
    std::string describe() const;
};

struct IndexOptions {
    IndexParams params;
    int64_t exactBelow = kExactSearchBelow; // use the index from this many training rows
    bool buildIfStale = true;   // false: use exact search when the index is missing or stale
    bool forceRebuild = false;
    int threads = 0;            // build threads; 0 = all cores
};

struct IndexInfo {
    bool usesIndex = false;     // queries in Auto mode go through the index
    bool built = false;         // open() built (rather than loaded) the indexes
    bool stale = false;         // an index exists but does not match the project
    std::string directory;      // <project>.d/index/model-<id>
    std::string fingerprint;
    double loadSeconds = 0.0;   // factors
    double buildSeconds = 0.0;  // indexes (0 when loaded)
    double indexLoadSeconds = 0.0;
    size_t factorBytes = 0, indexBytes = 0;
    int projectionDim = 0;      // of the TracIn vectors in the index
};

class InfluenceIndex {
public:
    ~InfluenceIndex();

    static Result<std::unique_ptr<InfluenceIndex>> open(ProjectDb &db, int64_t modelId,
                                                        const IndexOptions &options = {},
                                                        const ProgressFn &progress = {},
                                                        const CancelFlag *cancel = nullptr);
    // Over an in-memory store (tests, synthetic benchmarks): builds the indexes when
    // store rows ≥ options.exactBelow, persists nothing.
    static Result<std::unique_ptr<InfluenceIndex>> fromStore(std::unique_ptr<FactorStore> store,
                                                             const IndexOptions &options = {},
                                                             const ProgressFn &progress = {},
                                                             const CancelFlag *cancel = nullptr);

    // The index directory of a model of a project.
    static std::string directoryFor(const ProjectDb &db, int64_t modelId);
    // The fingerprint the index of `store` built with `params` must carry.
    static std::string fingerprint(const FactorStore &store, const IndexParams &params);

    const IndexInfo &info() const;
    bool usesIndex() const { return info().usesIndex; }
    const FactorStore &store() const;
    const TracInProjection &projection() const;

    // Same results as InfluenceEngine::query. Auto: the index when usesIndex(), else
    // exact. Index mode fails when no index is loaded.
    Result<QueryResult> query(int64_t exampleId, int k, Scoring scoring = Scoring::Raw,
                              SearchMode mode = SearchMode::Auto) const;
    Result<QueryResult> query(const QueryFactors &factors, int k, Scoring scoring = Scoring::Raw,
                              SearchMode mode = SearchMode::Auto) const;

    // Projected TracIn gradient vector (raw, not normalised) of a stored row.
    void gradientVector(int64_t row, float *out) const;

    // Candidates per list (efSearch); changeable after open() while nothing queries.
    void setEfSearch(int ef);

private:
    InfluenceIndex();
    struct Impl;
    std::unique_ptr<Impl> d;
};

} // namespace traclens
