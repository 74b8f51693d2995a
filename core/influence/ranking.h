#pragma once
// Orders a model's training examples by how likely their label is wrong: the review
// queue, `traclens-cli rank`, and the rankings the evaluation compares.
//
// Every ranking is built from per-checkpoint quantities of the stored factors, read
// once into CheckpointTerms:
//   self term  sᵢ = ‖eᵢ‖²(‖hᵢ‖² + 1)     (checkpoint i's share of self-influence)
//   loss       ℓᵢ = −log pᵢ[y]
//   margin     mᵢ = pᵢ[y] − max_{j≠y} pᵢ[j]
// where y is the label the factors were formed with. A CheckpointPolicy picks the
// checkpoints and their weights wᵢ; then (higher score = review first)
//   SelfInfluence  Σ wᵢ sᵢ                  (TracIn self-influence when all, wᵢ = ηᵢ)
//   Loss           Σ wᵢ ℓᵢ / Σ wᵢ
//   Margin         −Σ wᵢ mᵢ / Σ wᵢ          (smallest margin first)
//   Random         a seeded hash of the example id (a baseline)
// so changing the policy never needs new factors. Rankings beyond the factors (their
// inputs are attached to the terms by prepareRankingTerms()):
//   Neighbours        1 − the label agreement of the example's nearest neighbours in the
//                     embedding space of the last checkpoint (neighbourvote.h)
//   CvSelfConfidence  1 − p[y] from the fold model that never trained on the example
//                     (crossvalidation.h): the confident-learning baseline
//   CvMargin          −(p[y] − max_{j≠y} p[j]), out of sample
//   CvSelfInfluence   TracIn self-influence on the fold model's checkpoints
//   CvNoiseRate       confident learning's prune-by-noise-rate as an order: the review is
//                     shared among the (label, likely class) pairs as the estimated noise
//                     is (crossvalidation.h, OutOfSampleScore::NoiseRate)
//   CvBoundary        the same pruned set, each pair's least certain labels first: the
//                     order whose review raised test accuracy most (OutOfSampleScore::Boundary)
//   Ensemble          the mean of four estimates of "the label is wrong": 1 − the
//                     out-of-sample p[y], 1 − the neighbours' agreement, 1 − the in-sample
//                     p[y] at the last checkpoint, and the rank fraction of the
//                     out-of-sample margin (chosen by measurement, docs/evaluation); its
//                     out-of-sample p is the fold model's mean over the later half of its
//                     checkpoints (lateCheckpointWindow() in crossvalidation.h). The
//                     score is that mean's rank plus the rank of CvSelfConfidence, each a
//                     fraction of the examples both cover (so 0 to 2, highest first; ties
//                     in id order); an example either one misses scores NaN and goes last.
// The checkpoint policy applies to the factor rankings only. Every score uses the
// examples' current labels, so a relabel changes it at once.
//
// Thread safety: plain values and free functions; the loaders use the caller's ProjectDb
// (one per thread, see projectdb.h).
// Failure: loading fails (NotFound) when a training example lacks factors at some
// checkpoint: run computeFactors first.

#include "util/progress.h"
#include "store/projectdb.h"
#include "util/status.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace traclens {

class InfluenceIndex;
struct NeighbourLists;
struct OutOfSampleTerms;

// Bumped whenever the Ensemble's formula changes, so that stored results which depend on
// its order (the evaluation's cleaning-loop runs) are not reused across formulas.
// 1: three estimates; 2: four, with the out-of-sample margin's rank; 3: the out-of-sample
// terms from the fold model's later checkpoints' mean; 4: the rank of that mean plus the
// rank of the out-of-sample self-confidence.
constexpr int kEnsembleFormulaVersion = 4;

enum class RankingKind {
    SelfInfluence,
    Loss,
    Margin,
    Random,
    Neighbours,
    CvSelfConfidence,
    CvMargin,
    CvSelfInfluence,
    Ensemble,
    CvNoiseRate,
    CvBoundary,
};

// "self-influence", "loss", "margin", "random", "neighbours", "cv-self-confidence",
// "cv-margin", "cv-self-influence", "ensemble", "cv-noise-rate", "cv-boundary" (the CLI's
// spelling).
const char *rankingKindName(RankingKind kind);
std::optional<RankingKind> parseRankingKind(const std::string &name);
std::vector<RankingKind> allRankingKinds();
// Whether the kind needs a finished cross-validation run (crossvalidation.h).
bool needsCrossValidation(RankingKind kind);
// Whether the kind needs the nearest-neighbour lists (a search over every training
// example's embedding: seconds for 60k examples, so not on the GUI thread).
bool needsNeighbours(RankingKind kind);

// Which checkpoints enter a ranking and how they are weighted. The selection first drops
// `skipFirst` of the earliest checkpoints, then keeps the last `lastCount` of the rest
// (0 = all of them). It never comes out empty: when it would, the last checkpoint is used.
struct CheckpointPolicy {
    enum class Weighting { LearningRate, Uniform };

    int skipFirst = 0;
    int lastCount = 0;
    Weighting weighting = Weighting::LearningRate;

    static CheckpointPolicy all() { return {}; }
    static CheckpointPolicy lastOnly() { return {0, 1, Weighting::LearningRate}; }

    // Indices (0-based, ascending) of the checkpoints used out of `numCheckpoints`.
    std::vector<int> select(int numCheckpoints) const;
    // "all", "skip-1", "last-2", "skip-1,last-2"; weighting "lr" or "uniform".
    std::string selectionName() const;
    const char *weightingName() const;
    // "all, η" / "skip-1, uniform": for tables.
    std::string toString() const;
    // Parses selectionName() / weightingName() spellings; nullopt when malformed.
    static std::optional<CheckpointPolicy> parse(const std::string &selection, const std::string &weighting);

    bool operator==(const CheckpointPolicy &o) const
    {
        return skipFirst == o.skipFirst && lastCount == o.lastCount && weighting == o.weighting;
    }
};

struct RankingSpec {
    RankingKind kind = RankingKind::SelfInfluence;
    CheckpointPolicy checkpoints;
    uint64_t seed = 1; // Random only

    // "self-influence (skip-1, η)", "loss (last-1, η)", "random".
    std::string toString() const;
};

// The built-in default ranking: the best one measured by the mislabel-detection
// evaluation (docs/evaluation/report.md). The reasoning is at its definition. A project's
// own default (measured on its data, else this or the ensemble) is projectDefaultRanking()
// in calibration.h.
RankingSpec defaultRanking();
// Where confident learning estimates at least this share of the training labels wrong
// (storedLabelNoiseEstimate() in crossvalidation.h), the queue's default is cv-boundary.
// Measured with the cleaning loop (a review of 10 %) on two datasets and three kinds of
// noise, docs/evaluation/README.md ("Which review pays depends on how much of the data is
// wrong"): at estimates up to 17 % the ensemble's review paid as much or more, from 19.5 % on
// cv-boundary's did; there a review reaches only part of the wrong labels, and which ones it
// fixes decides what the model gains.
inline constexpr double kBoundaryReviewNoiseShare = 0.18;
// The review queue's default from what a project has, measured in docs/evaluation: without
// out-of-sample scores (`estimatedWrongShare` is nullopt: no finished cross-validation)
// defaultRanking(); with them the ensemble, which finds the most wrong labels, or
// cv-boundary, whose review improves the model most, when the estimated share of wrong
// labels is kBoundaryReviewNoiseShare or more.
RankingSpec evaluationDefaultRanking(std::optional<double> estimatedWrongShare);
// The checkpoint policy each kind starts with when a person picks it: self-influence as
// TracIn defines it (every checkpoint, weighted by η: the values compute stores), loss and
// margin at the last checkpoint; the default kind gets defaultRanking().
RankingSpec defaultRankingFor(RankingKind kind);

// Per training example and checkpoint, what every ranking is built from.
struct CheckpointTerms {
    int64_t modelId = 0;
    std::vector<int64_t> ids;            // live training examples, ascending id
    std::vector<int> labels;             // the label each example's factors were formed with
    std::vector<int> predictedLast;      // predicted class at the last checkpoint
    std::vector<double> learningRates;   // one per checkpoint, in training order
    // Row-major [example][checkpoint].
    std::vector<double> selfTerm;
    std::vector<float> errorNorm;        // ‖eᵢ‖², so selfTerm / errorNorm = ‖hᵢ‖² + 1
    std::vector<float> loss;
    std::vector<float> margin;
    std::vector<float> labelProbLast;    // p[y] at the last checkpoint, per example
    // Attached by prepareRankingTerms() when a ranking needs them; shared, read-only.
    std::shared_ptr<const NeighbourLists> neighbours;   // rows in ids order
    std::shared_ptr<const OutOfSampleTerms> outOfSample;

    int numCheckpoints() const { return int(learningRates.size()); }
    int64_t count() const { return int64_t(ids.size()); }
    size_t at(size_t example, int checkpoint) const { return example * learningRates.size() + size_t(checkpoint); }
};

// Reads the factors of every live training example at every checkpoint of the model.
Result<CheckpointTerms> loadCheckpointTerms(ProjectDb &db, int64_t modelId, const ProgressFn &progress = {},
                                            const CancelFlag *cancel = nullptr);

// The neighbour lists' size: measured in docs/evaluation (k = 20).
constexpr int kRankingNeighbours = 20;

// Attaches what `spec` needs beyond the factors: the nearest-neighbour lists (read from
// the last checkpoint's embeddings and searched on `threads` threads) and/or the stored
// cross-validation terms. Already attached parts are kept. NotFound, with what to run,
// when the project has no finished cross-validation; Cancelled.
Status prepareRankingTerms(ProjectDb &db, CheckpointTerms *terms, const RankingSpec &spec, int threads = 0,
                           const ProgressFn &progress = {}, const CancelFlag *cancel = nullptr);

// One score per example of `terms`, in terms.ids order; higher = review first. A kind
// whose inputs are not attached (prepareRankingTerms) scores NaN everywhere; an example
// the cross-validation did not cover (added since) scores NaN and sorts last.
std::vector<double> rankingScores(const CheckpointTerms &terms, const RankingSpec &spec);

struct RankedExample {
    int64_t exampleId = 0;
    double score = 0.0;
};

// Sorts by score, highest first; equal scores by ascending id, so orders are reproducible.
// NaN scores go last.
std::vector<RankedExample> sortRanking(const std::vector<int64_t> &ids, const std::vector<double> &scores);

// loadCheckpointTerms + prepareRankingTerms + rankingScores + sortRanking.
Result<std::vector<RankedExample>> rankTrainingExamples(ProjectDb &db, int64_t modelId, const RankingSpec &spec,
                                                        const ProgressFn &progress = {},
                                                        const CancelFlag *cancel = nullptr);

// The same order as rankTrainingExamples() from a loaded index's in-memory values,
// without reading the factors again (milliseconds for 60k examples, so the GUI thread may
// call it): only for specs whose scores the index holds — the loss at the last checkpoint,
// with each example's current label (it follows relabels, InfluenceIndex::updateExample()).
// nullopt for any other spec; use rankTrainingExamples() on a worker thread for those.
std::optional<std::vector<RankedExample>> rankFromIndex(const InfluenceIndex &engine, const RankingSpec &spec);

} // namespace traclens
