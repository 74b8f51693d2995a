#pragma once
// The TracIn factors of every live example of one model, held compactly in memory for
// the approximate index, the clusters and exact rescoring.
//
// Rows: training examples first, then test examples, each part in id order (the same
// order the queries list them). Per row and checkpoint the store keeps e (K) and h (D) in
// float32 or float16 (FactorPrecision); per row self-influence (double, from the stored
// factors in full precision), the current label, and the last checkpoint's prediction,
// its probability and the loss.
//
// Exact scores (tracin(), embeddingCosine()) are computed in double precision from the
// stored values: with Float32 storage they are the project's numbers; with Float16 each
// factor carries a relative rounding error ≤ 2⁻¹¹ (see docs/benchmarks-index.md for its
// measured effect on rankings).
//
// contentHash() is a 64-bit hash of the row ids, the probabilities and h of every row
// and checkpoint as read from the project: it changes when an example comes or goes or a
// checkpoint's outputs change, and not with a relabel (e = p − onehot(label) follows the
// label; labelUsed() says which one each row's e was formed with). It is the index
// fingerprint's factor part. classHash() covers what one class's cluster set reads.
//
// Ownership: owns its arrays. Thread safety: const methods are safe to call
// concurrently; updateRow() is not, its caller excludes readers (InfluenceIndex holds a
// lock). Failure: load() fails when factors are incomplete or have the wrong shape
// (message names the project file), or is cancelled between checkpoints.

#include "store/projectdb.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace traclens {

enum class FactorPrecision { Float32, Float16 };

// Factors of one query: per checkpoint pointers to e (K floats) and h (D floats).
struct FactorView {
    std::vector<const float *> e, h;
    double self = 0.0;
};

class FactorStore {
public:
    ~FactorStore();

    static Result<std::unique_ptr<FactorStore>> load(ProjectDb &db, int64_t modelId, FactorPrecision precision,
                                                     const ProgressFn &progress = {},
                                                     const CancelFlag *cancel = nullptr);

    // In-memory construction (tests, synthetic benchmarks). `e[c]` holds rows × K and
    // `h[c]` rows × D floats for checkpoint c; the first nTrain rows are training rows.
    static std::unique_ptr<FactorStore> fromArrays(std::vector<int64_t> ids, int64_t nTrain, std::vector<int> labels,
                                                   int k, int d, std::vector<double> eta,
                                                   const std::vector<std::vector<float>> &e,
                                                   const std::vector<std::vector<float>> &h,
                                                   FactorPrecision precision);

    int64_t modelId() const { return m_modelId; }
    int numClasses() const { return m_k; }
    int embeddingDim() const { return m_d; }
    int numCheckpoints() const { return int(m_eta.size()); }
    double eta(int c) const { return m_eta[size_t(c)]; }
    const std::vector<double> &etas() const { return m_eta; }
    FactorPrecision precision() const { return m_precision; }
    int64_t rows() const { return int64_t(m_ids.size()); }
    int64_t trainRows() const { return m_nTrain; }
    int64_t idOf(int64_t row) const { return m_ids[size_t(row)]; }
    const std::vector<int64_t> &ids() const { return m_ids; }
    // Row of an example, or −1 (binary search: no hash map at a million rows).
    int64_t rowOf(int64_t exampleId) const;
    uint64_t contentHash() const { return m_hash; }
    // Bytes held by the factor arrays.
    size_t factorBytes() const;
    // Reads every page of the factor arrays once and returns a checksum (so the reads are
    // not optimised away). Measured at a million rows (docs/benchmarks-index.md): right
    // after load() the first ~20 index queries, which read scattered rows, cost 60–225 ms
    // of CPU instead of 10 ms, without a page fault counted; one pass (0.15–1.1 s for
    // 855 MiB) ends that. Thread safety: const, safe alongside queries.
    double warm() const;

    double selfInfluence(int64_t row) const { return m_self[size_t(row)]; }
    int label(int64_t row) const { return m_label[size_t(row)]; }          // current label
    int labelUsed(int64_t row) const { return m_labelUsed[size_t(row)]; }  // e's label, last checkpoint
    int predicted(int64_t row) const { return m_pred[size_t(row)]; }
    float predictedProbability(int64_t row) const { return m_prob[size_t(row)]; }
    float loss(int64_t row) const { return m_loss[size_t(row)]; }

    // Replaces a row's factors after a relabel: e, h and loss of every checkpoint (in
    // checkpoint order, as ProjectDb::factor() returns them once refreshFactorLabels()
    // formed them with `label`), the current label and self-influence. Not thread-safe.
    Status updateRow(int64_t row, int label, const std::vector<FactorRow> &perCheckpoint);
    // Hash of what a cluster set of `classIdx` reads: the ids of the training rows with
    // that current label and their stored values (every checkpoint's e and h when
    // `allCheckpoints`, the TracIn space; else h at the last checkpoint, the embedding
    // space). A relabel changes the sets of the two classes involved and no other.
    uint64_t classHash(int classIdx, bool allCheckpoints) const;

    // Decodes e (K floats) and h (D floats) of `row` at checkpoint c.
    void factors(int64_t row, int c, float *e, float *h) const;

    // Exact TracIn between a query and a stored row, in double precision.
    double tracin(const FactorView &q, int64_t row) const;
    // Cosine of h at the last checkpoint between a query (its last h) and a stored row.
    double embeddingCosine(const float *hq, double hqNorm, int64_t row) const;
    // Scores for rows [begin, end) into out[row − begin] (float accumulation, SIMD).
    void tracinScores(const FactorView &q, int64_t begin, int64_t end, float *out) const;
    void embeddingCosines(const float *unitHq, int64_t begin, int64_t end, float *out) const;
    // tracinScores() for the given rows: out[i] is the score of rows[i].
    void tracinScoresOf(const FactorView &q, const int64_t *rows, size_t count, float *out) const;

private:
    FactorStore() = default;
    void allocate(int64_t rows);
    void setRow(int c, int64_t row, const float *e, const float *h);
    void finishRows();

    int64_t m_modelId = 0;
    int m_k = 0, m_d = 0;
    FactorPrecision m_precision = FactorPrecision::Float32;
    std::vector<double> m_eta;
    std::vector<int64_t> m_ids;
    int64_t m_nTrain = 0;
    // Per checkpoint, rows × (K + D): e then h. One of the two is used.
    std::vector<std::vector<float>> m_f32;
    std::vector<std::vector<uint16_t>> m_f16;
    std::vector<float> m_lastHNorm; // ‖h‖ at the last checkpoint
    std::vector<double> m_self;
    std::vector<int> m_label, m_labelUsed, m_pred;
    std::vector<float> m_prob, m_loss;
    uint64_t m_hash = 0;
};

} // namespace traclens
