#pragma once
// TracIn and embedding queries that stay fast at a million training examples.
//
// Below kExactSearchBelow training examples every query is exact (brute force over the
// factors). From there on an index finds candidates and every
// candidate is rescored exactly from the factors before it is shown, so the scores are
// always exact and only a true neighbour missing from the candidates can change a list
// (measured: recall@10, docs/benchmarks-index.md). Two index backends (IndexBackend):
//
// Cells (the default) — CellIndex: spherical k-means cells scanned in the order of a
// cone bound:
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
// Hnsw — hnswlib graphs (VectorIndex):
//   TracIn       the same unit vectors in norm ranges: the rows of largest gradient norm
//                (the "head") are scored exactly, the rest are split by norm into a few
//                ranges with one cosine graph each. Normalised TracIn: the union of every
//                range's best cosines (search q, and −q for opponents). Raw TracIn: the
//                same candidates, ranges in decreasing norm, stopping as soon as the k-th
//                best score beats ‖x‖max‖q‖ of the next range (exact bound).
//   embedding    one cosine graph of h at the last checkpoint, searched with q and −q.
// Graph search returns a sample of a crowd of near-duplicate gradients rather than its
// best members, so on such data (the synthetic million) its recall@10 stays below 0.99
// where the cells reach 1.00; it is kept for comparison and for users who prefer it.
//
// Persistence: the indexes live in <project>.d/index/model-<id>/ with index.json, which
// holds a fingerprint (model id, example and factor counts, checkpoints, a hash of every
// row's probabilities and embeddings, and the parameters). open() loads them when the
// fingerprint matches and otherwise rebuilds and saves them (unless told not to), so an
// index is rebuilt only when what it stores changed. index.json is written last: a build
// killed half-way leaves no index that looks fresh.
//
// Labels: a relabel changes one row's e = p − onehot(y) and so its TracIn vector, and
// nothing the embedding index stores. The cells keep the labels they were built with
// (labels.bin); rows relabelled since ("dirty" rows) are candidates of every TracIn list
// and rescored exactly, so a relabel never makes an index stale nor serves an old vector.
// The hnsw graphs are partitioned by gradient norm, which a relabel changes: their
// fingerprint covers the labels, a relabelled project reports them stale and searches
// exactly until `traclens-cli index` rebuilds them.
//
// Precision: the factors kept for rescoring and exact search are float32 unless the user
// chooses float16 (IndexParams::precision); every QueryResult says which, and whether it
// came from the index. The indexes store float16 unit vectors (cells: 2·m bytes a row for
// TracIn, 2·D for embeddings, plus 12 bytes of label and weight; graphs add 8·M bytes of
// links a row per graph).
//
// Ownership: owns its FactorStore and indexes. Thread safety: after open(), const
// methods are safe to call concurrently; updateExample() may run beside them (a
// reader-writer lock: queries share it, an update takes it alone). Failure: Status
// values; open() is cancellable (CancelFlag, checked between rows) and reports progress.

#include "influence/computejob.h"
#include "store/factorstore.h"
#include "influence/queryresult.h"
#include "index/tracinprojection.h"
#include "index/vectorindex.h"

#include <memory>
#include <string>

namespace traclens {

// Training-set size from which queries go through the index; below it they are exact.
// Measured (bench_index --sweep on the synthetic million, docs/benchmarks-index.md; K=10,
// D=64, 3 checkpoints, raw and normalised queries alternating, median CPU time per query,
// cells with default parameters, two runs): exact search 0.9–1.1 ms at 10 000 rows,
// 5.6–5.7 at 45 000, 6.5–7.4 at 65 000, 9.7–10.8 at 100 000, 18–22 at 200 000; the index
// 3.0–4.1, 8.3–8.8, 6.4–8.6, 7.0–9.2 and 7.1–9.9 ms. They cross between 65 000 and
// 100 000 rows and differ by about 1 ms at 65 000; below this threshold the exact answer
// costs no more, so it is used (Fashion-MNIST's 60 000 stay exact).
constexpr int64_t kExactSearchBelow = 65000;

enum class SearchMode { Auto, Exact, Index };

enum class IndexBackend { Cells, Hnsw };
const char *indexBackendName(IndexBackend b); // "cells", "hnsw"


struct IndexParams {
    IndexBackend backend = IndexBackend::Cells;
    // Projection of the TracIn gradient vectors; 0 = the exact vectors (C·K·(D+1));
    // −1 = the backend's default (cells 128, hnsw 64; resolvedProjectionDim()).
    // Pca (the gradients' top principal directions, pcaprojection.h) rather than a random
    // matrix: mean |cosine error| 0.006 instead of 0.094 on Fashion-MNIST at m = 64.
    // 128 rather than 64 by measurement on near-duplicate gradients (synthetic million,
    // docs/benchmarks-index.md): what separates the members of a crowd lies in the
    // directions a projection drops, and at 128 fewer candidates find them (normalised
    // proponents recall@10 0.96 with 2 000 candidates instead of 0.78; 1.00 with 5 000).
    // Gaussian and Achlioptas remain for comparison and are what exact-search opens use
    // (no index to serve). The hnsw graphs take 64: 128 doubles their distance cost and
    // memory without lifting their recall, which the graphs limit.
    int projectionDim = -1;
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
    // Hnsw: graph degree and candidate list while building.
    int M = 16;
    int efConstruction = 200;
    // Hnsw: candidates retrieved (and rescored) per list and graph: max(efSearch, 10·k).
    // 100: the smallest that met the recall target on Fashion-MNIST; 9–13 ms per query
    // (CPU) at a million training examples.
    int efSearch = 100;
    // Hnsw: TracIn rows scanned exactly (largest gradient norms): max(exactHead, rows/200).
    // Head and ranges chosen by measurement: on Fashion-MNIST 4 ranges and a head of
    // 2000 gave raw proponents recall@10 0.953 at ef 200, 8 ranges and 3000 gave 0.999.
    int64_t exactHead = 3000;
    // Hnsw: norm ranges of the other rows, one graph each.
    int normBuckets = 8;
    // Factors kept for exact search and rescoring. Auto is float32: exact means exact
    // (float16, 2⁻¹¹ relative per value, reorders near-ties); float16 halves the memory
    // (a million examples, K = 10, D = 64, 3 checkpoints: 888 MB → 444 MB) and is the
    // user's choice (`traclens-cli index --precision f16`), stated in every answer.
    enum class Precision { Auto, Float32, Float16 } precision = Precision::Auto;
    FactorPrecision resolvedPrecision() const;

    int resolvedProjectionDim() const;
    // The part of the fingerprint that the parameters contribute (the backend's own).
    std::string describe() const;
};

struct IndexOptions {
    IndexParams params;
    int64_t exactBelow = kExactSearchBelow; // use the index from this many training rows
    bool buildIfStale = true;   // false: use exact search when the index is missing or stale
    bool forceRebuild = false;
    int threads = 0;            // build threads; 0 = all cores

    // What every query front end opens with — the desktop app, `traclens-cli query`, the
    // demo and the benchmarks — so they answer with the same lists in the same order:
    // exact below exactBelow, a saved fresh index from there on, never building one (a
    // query never waits for a build; `traclens-cli index` builds).
    static IndexOptions serving();
};

struct IndexInfo {
    bool usesIndex = false;     // queries in Auto mode go through the index
    bool built = false;         // open() built (rather than loaded) the indexes
    bool stale = false;         // an index exists but does not match the project
    int64_t relabelledRows = 0; // training rows relabelled since the index was built (rescored exactly)
    std::string staleReason;    // why a saved index was not used (file and problem); kept after a rebuild
    std::string directory;      // <project>.d/index/model-<id>
    std::string fingerprint;
    double loadSeconds = 0.0;   // factors
    double buildSeconds = 0.0;  // indexes (0 when loaded)
    double indexLoadSeconds = 0.0;
    double warmSeconds = 0.0;   // one read of every factor (and cell) page before the first query
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
    // The factors. Readers on other threads than updateExample()'s must not hold a
    // reference across an update; the per-example accessors below take the lock.
    const FactorStore &store() const;
    const TracInProjection &projection() const;

    // --- per example (any loaded example; defaults when it has no factors)
    int64_t modelId() const;
    int numCheckpoints() const;
    // Training examples in row (= id) order.
    const std::vector<int64_t> &trainIds() const;
    // Row of an example (train or test), or −1.
    int64_t rowOf(int64_t exampleId) const;
    double selfInfluence(int64_t exampleId) const;        // 0 when unknown
    int predicted(int64_t exampleId) const;               // −1 when unknown
    float predictedProbability(int64_t exampleId) const;
    float lossAtLast(int64_t exampleId) const;             // with the label of labelUsed()
    int labelUsed(int64_t exampleId) const;                // −1 when unknown

    // A relabel: the example's factors as the project now stores them (every checkpoint,
    // in order, formed with `label` by ProjectDb::refreshFactorLabels()). Updates the
    // store and, for an index, the set of rows rescored exactly. Waits for running
    // queries; safe beside them.
    Status updateExample(int64_t exampleId, int label, const std::vector<FactorRow> &perCheckpoint);

    // The one query path of the app, the CLI and the benchmarks. Auto: the index when usesIndex(), else
    // exact. Index mode fails when no index is loaded.
    // A training example is left out of its own lists unless `self` is Include
    // (QueryResult::selfExcluded says which).
    Result<QueryResult> query(int64_t exampleId, int k, Scoring scoring = Scoring::Raw,
                              SearchMode mode = SearchMode::Auto, SelfMatch self = SelfMatch::Exclude) const;
    Result<QueryResult> query(const QueryFactors &factors, int k, Scoring scoring = Scoring::Raw,
                              SearchMode mode = SearchMode::Auto) const;

    // Projected TracIn gradient vector (raw, not normalised) of a stored row.
    void gradientVector(int64_t row, float *out) const;

    // Candidates per list (cells: candidates; hnsw: efSearch); changeable after open()
    // while nothing queries.
    void setCandidates(int candidates);

private:
    InfluenceIndex();
    struct Impl;
    std::unique_ptr<Impl> d;
};

} // namespace traclens
