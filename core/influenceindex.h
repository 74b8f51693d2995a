#pragma once
// TracIn and embedding queries that stay fast at a million training examples.
//
// Below kExactSearchBelow training examples every query is exact (brute force over the
// factors, like InfluenceEngine). From there on, cell indexes (CellIndex: spherical
// k-means cells scanned in the order of a cone bound) find candidates and every
// candidate is rescored exactly from the factors before it is shown, so the scores are
// always exact and only a true neighbour missing from the candidates can change a list
// (measured: recall@10, docs/benchmarks-index.md):
//
//   TracIn       projected gradient vectors (TracInProjection), unit-normalised, each
//                weighted by its exact gradient norm √self. Raw TracIn = ‖x‖‖q‖cos: the
//                best rows by ‖x‖·cos (weighted search); normalised TracIn: the best by
//                cos (unweighted search) — one index for both. Opponents: search −q.
//   embedding    h at the last checkpoint, unit-normalised: nearest = search(q),
//                farthest = search(−q); exact cosine rescoring.
//
// A search scans whole cells until no unscanned cell can hold a better row than the
// `candidates`-th found, so its candidates are the exact top over the projected vectors
// (up to a row budget, scanLimit); the projection's error is what exact rescoring of
// many candidates absorbs.
//
// Persistence: the indexes live in <project>.d/index/model-<id>/ with index.json, which
// holds a fingerprint (model id, example and factor counts, checkpoints, a hash of every
// factor and label, and the parameters). open() loads them when the fingerprint matches
// and otherwise rebuilds and saves them (unless told not to), so an index is rebuilt
// only when the project changed. index.json is written last: a build killed half-way
// leaves no index that looks fresh.
//
// Memory: the factors are kept for rescoring, in float16 above kHalfFactorsAboveBytes
// (FactorStore); the indexes store float16 vectors (2·m bytes a row for TracIn, 2·D for
// embeddings, plus 12 bytes of label and weight).
//
// Ownership: owns its FactorStore and indexes. Thread safety: after open(), const
// methods are safe to call concurrently. Failure: Status values; open() is cancellable
// (CancelFlag, checked between rows) and reports progress.

#include "computejob.h"
#include "factorstore.h"
#include "influenceengine.h"
#include "tracinprojection.h"

#include <memory>
#include <string>

namespace traclens {

// Training-set size from which queries go through the index; below it they are exact.
// Measured (bench_index --sweep on a synthetic project, docs/benchmarks-index.md; K=10,
// D=64, 3 checkpoints, raw and normalised queries alternating, median CPU time per query,
// default index parameters): exact search 0.75 ms at 10 000 rows, 3.9 at 45 000, 5.8 at
// 65 000, 8.0 at 100 000, 16.2 at 200 000; the index 2.1, 5.3, 5.2, 5.5 and 6.1 ms. They
// cross near 60 000 rows and differ by under 1 ms up to 65 000; below this threshold the
// exact answer costs no more, so it is used (Fashion-MNIST's 60 000 stay exact).
constexpr int64_t kExactSearchBelow = 65000;

// Factors are kept in float16 for rescoring when float32 would take more than this.
// 1 GiB: a million examples (K = 10, D = 64, 3 checkpoints: 888 MB) keep float32, whose
// rescoring orders near-ties that float16 (2⁻¹¹ relative) reorders, and still serve in
// under 2 GB with the cell indexes (docs/benchmarks-index.md).
constexpr size_t kHalfFactorsAboveBytes = size_t(1) << 30;

enum class SearchMode { Auto, Exact, Index };

struct IndexParams {
    // Projection of the TracIn gradient vectors; 0 = the exact vectors (C·K·(D+1)).
    // Pca (the gradients' top principal directions, pcaprojection.h) rather than a random
    // matrix: mean |cosine error| 0.006 instead of 0.094 on Fashion-MNIST at m = 64.
    // 128 rather than 64 by measurement on near-duplicate gradients (synthetic million,
    // docs/benchmarks-index.md): what separates the members of a crowd lies in the
    // directions a projection drops, and at 128 fewer candidates find them (normalised
    // proponents recall@10 0.96 with 2 000 candidates instead of 0.78; 1.00 with 5 000).
    // Gaussian and Achlioptas remain for comparison and are what exact-search opens use
    // (no index to serve).
    int projectionDim = 128;
    ProjectionKind projection = ProjectionKind::Pca;
    uint64_t seed = 1;
    // Cells of each index; 0 = about √(training rows), between 8 and 4096.
    int cells = 0;
    // Rows the cells' centroids are trained on (spherical k-means on a sample).
    int64_t cellSample = 50000;
    // Candidates per TracIn list, scored exactly (float, then the best in double):
    // max(candidates, 10·k). 5 000 by measurement: raw lists and opponents reach
    // recall@10 1.00 from 1 000, normalised proponents (a crowd of near-duplicates around
    // the query) need 5 000 at a million rows; 9–13 ms of CPU per query there. Embedding
    // lists take max(100, 10·k): their vectors are not projected.
    int candidates = 5000;
    // Rows one list's search may scan before it stops without the bound's proof;
    // 0 = max(50 000, training rows / 8).
    int64_t scanLimit = 0;
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

    // Candidates per list; changeable after open() while nothing queries.
    void setCandidates(int candidates);

private:
    InfluenceIndex();
    struct Impl;
    std::unique_ptr<Impl> d;
};

} // namespace traclens
