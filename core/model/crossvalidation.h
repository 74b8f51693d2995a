#pragma once
// K-fold cross-validation of the built-in CNN: out-of-sample scores for every training
// example, from a fold model that never trained on it. This is the confident-learning
// baseline (Cleanlab's self-confidence from K-fold cross-validated out-of-sample
// probabilities), beside TracIn's in-sample self-influence.
//
// runCrossValidation() splits the live training examples into K folds, stratified by
// current label; for each fold k it trains the built-in CNN (trainer.h; a fixed epoch
// count, or the one fold 1 chose by adaptive training) on the other K−1 folds into "<project>.d/crossval/fold-<k>" and runs every
// checkpoint of that model on fold k's examples. Per (example, checkpoint) it stores the
// softmax probabilities and ‖h‖² (h: the embedding fed to fc), not scores: a held-out
// example's probabilities do not depend on its own label, so every score below follows a
// relabel exactly, without inference.
//
// Storage (ProjectDb, schema 4): one run at a time, with a fingerprint of the
// configuration and of the training ids and the labels they had when the run started.
// A fold's terms are written in one transaction with its "finished" mark.
//
// Resume: a rerun with the same configuration and training set skips finished folds and
// resumes an unfinished fold's training where it stopped (TrainConfig::resume); with the
// same thread count the stored terms are bit-identical to an uninterrupted run's. A
// different configuration or training set (ids or their current labels) starts afresh,
// deleting the old run's rows and fold directories — except the fold models a changed
// scoring option (mirroredViews) can use as they are: those are scored again, not trained.
//
// Thread safety: call from the thread that owns `db`; opens nothing itself. Training and
// inference use LibTorch's intra-op pool (ModelRunner::setThreads, set by the caller).
// Failure: Status values, no exceptions. Cancelled (checked between batches and between
// folds) keeps the finished folds; a model or file error names the file.

#include "util/progress.h"
#include "store/projectdb.h"
#include "util/status.h"
#include "model/trainer.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace traclens {

struct CrossValidationConfig {
    int folds = 5;               // K ≥ 2, at most the number of training examples (5: docs/cross-validation.md)
    // The built-in CNN's configuration: train.epochs fixed epochs per fold, or, with
    // train.adaptive.enabled, fold 1 trains until held-out accuracy stops improving
    // (trainer.h) and every other fold takes the count it chose (its training record,
    // "<crossval>/fold-0/training.json"); when fold 1 trains on fewer than
    // kMinAdaptiveTrainExamples, train.epochs after all. Fold k trains with seed train.seed + k.
    TrainConfig train;
    uint64_t seed = 1;           // fold assignment
    // Scoring only: each held-out image is also run mirrored left–right and the stored
    // probabilities are the mean of the two softmax outputs (‖h‖² stays the image's own).
    // Meant for fold models trained with mirroring (Augmentation::ShiftFlip), which have
    // seen both; mirroredViewsByDefault() says when it is the default. A rerun that
    // changes only this re-scores the trained fold models instead of training them again.
    bool mirroredViews = false;

    // The configuration as stored with the run (and hashed into its fingerprint).
    std::string toJson() const;
};

// Whether the fold models of `train` are scored with mirrored views by default: true exactly
// for a training that mirrors its images (Augmentation::ShiftFlip); measured in
// docs/evaluation/README.md, "Mirrored views". Pure; callable from any thread.
bool mirroredViewsByDefault(const TrainConfig &train);

// Whether a stored run (ProjectDb::crossValidationRun()) scored mirrored views: its
// configuration as CrossValidationConfig::toJson() wrote it. Pure.
bool scoredMirroredViews(const CrossValidationRunRow &run);

// Per live training example, from the fold model that did not train on it, at each of
// that fold model's checkpoints.
struct OutOfSampleTerms {
    std::vector<int64_t> ids;             // ascending id
    std::vector<int> fold;                // 0-based fold of each example
    int numClasses = 0;
    std::vector<double> learningRates;    // per checkpoint (same schedule in every fold)
    std::vector<float> probs;             // [example][checkpoint][class] softmax probabilities
    std::vector<float> featureNorm;       // [example][checkpoint] ‖h‖²
    int numCheckpoints() const { return int(learningRates.size()); }
};

enum class OutOfSampleScore { SelfConfidence, Margin, SelfInfluence, NoiseRate, Boundary };

// "cv-self-confidence", "cv-margin", "cv-self-influence", "cv-noise-rate", "cv-boundary".
const char *outOfSampleScoreName(OutOfSampleScore kind);
// The inverse of outOfSampleScoreName(); also accepts the names without "cv-".
// False for an unknown name.
bool parseOutOfSampleScore(const std::string &name, OutOfSampleScore *kind);

// The fold of each example: stratified by label (each class's examples, shuffled with
// `seed`, dealt round-robin, continuing where the previous class stopped), so per-class
// counts and fold sizes differ by at most one. Deterministic for the same ids, labels and
// seed; independent of the input order (examples are taken in ascending id). Returns one
// fold in [0, folds) per input position; empty when folds < 1.
std::vector<int> assignFolds(const std::vector<int64_t> &ids, const std::vector<int> &labels, int folds,
                             uint64_t seed);

// Runs (or resumes) the cross-validation described above. Progress: stage
// "cross-validate", detail "fold 2 of 4: training epoch 3 of 5" / "fold 2 of 4: scoring
// checkpoint 1 of 5", done/total over every fold's training examples × epochs plus the
// scoring of every example at every checkpoint. InvalidArgument for a bad configuration,
// a project without dataset, fewer than two classes or fewer training examples than folds.
Status runCrossValidation(ProjectDb &db, const CrossValidationConfig &config, const ProgressFn &progress = {},
                          const CancelFlag *cancel = nullptr);

// The stored run's terms of the live training examples it covers. NotFound when there is
// no complete run (none, or one with unfinished folds); Corruption when stored values are
// inconsistent (class counts, checkpoint counts, learning-rate schedules).
Result<OutOfSampleTerms> loadOutOfSampleTerms(ProjectDb &db);

// One score per id (higher = review first) with the given labels — the examples' current
// labels, so a relabel changes the score at once. With p_c the probabilities at
// checkpoint c, p = p_last, η_c the learning rates and y the label:
//   SelfConfidence: 1 − p[y]                            (Cleanlab's self-confidence, reversed)
//   Margin:         −(p[y] − max_{j≠y} p[j])
//   SelfInfluence:  Σ_c η_c ‖p_c − onehot(y)‖² (‖h_c‖² + 1)   (TracIn, last layer)
//   NoiseRate:      confident learning's prune-by-noise-rate (Northcutt et al. 2021) as an
//                   order: the calibrated confident joint of the given labels estimates
//                   Q[i][j], how many examples labelled i belong to class j; the examples
//                   labelled i are ranked, for each j with Q[i][j] ≥ ½, by p[j] − p[i]
//                   (r = 1, 2, …); an example in the first Q[i][j] of some cell (the set
//                   confident learning prunes) scores max over those cells of Q[i][j] / r ≥ 1,
//                   so a review of that set is shared among the (label, class) cells in
//                   proportion to their estimated noise. Every other example scores
//                   −(1 − m)/2 ∈ [−1, 0] with m the Margin score: after the pruned set, by
//                   margin. Depends on the whole set: a relabel can move other examples.
//   Boundary:       the same pruned set, reordered for a review that should improve the
//                   model: each pruned example belongs to the cell where it scored highest;
//                   within a cell of s pruned examples the one with the r-th smallest |m|
//                   scores 1 + s / r, so the cells share the review in proportion to their
//                   size and each starts with its least certain labels. The rest as
//                   NoiseRate. Measured in docs/evaluation/README.md ("The cleaning loop").
// `window` (SelfConfidence and Margin only): p is the mean of the fold model's probabilities
// over its last `window` checkpoints (clamped to [1, C]) instead of the last one's; the
// ensemble (ranking.h) uses lateCheckpointWindow() below.
// An id without terms, or a label outside [0, K), scores NaN.
std::vector<double> outOfSampleScores(const OutOfSampleTerms &terms, const std::vector<int64_t> &ids,
                                      const std::vector<int> &labels, OutOfSampleScore kind, int window = 1);

// The later half of C checkpoints, ⌈C/2⌉: the window over which the ensemble averages the
// fold models' probabilities (docs/evaluation/README.md, "The fold models' later
// checkpoints"). 1 for C ≤ 2.
inline int lateCheckpointWindow(int checkpoints) { return checkpoints < 1 ? 1 : (checkpoints + 1) / 2; }

// Confident learning's estimate of how many of the given labels are wrong: the pruned set
// (NoiseRate scores ≥ 1) among the examples the run covers. docs/evaluation/README.md
// compares it with the injected noise.
struct LabelNoiseEstimate {
    int64_t pruned = 0;
    int64_t covered = 0;
    // Covered examples whose most probable class at the fold model's last checkpoint is the
    // label (outOfFoldAgreement() as a count): how far the estimate can be trusted, since a
    // weak fold model's mistakes count as wrong labels too. −1 when unknown (an estimate kept
    // before it was).
    int64_t agreeing = -1;
    double share() const { return covered > 0 ? double(pruned) / double(covered) : 0.0; }
    double agreement() const { return covered > 0 && agreeing >= 0 ? double(agreeing) / double(covered) : -1.0; }
};
LabelNoiseEstimate estimateLabelNoise(const OutOfSampleTerms &terms, const std::vector<int64_t> &ids,
                                      const std::vector<int> &labels);

// How good the fold models are, in the terms the estimate above depends on: the share of
// the covered examples whose most probable class at the last checkpoint is the label given
// (the current one, so a relabel moves it). Out-of-fold accuracy against labels that may be
// wrong: each wrong label the models see through lowers it as much as a mistake does. NaN
// when no example is covered.
double outOfFoldAgreement(const OutOfSampleTerms &terms, const std::vector<int64_t> &ids,
                          const std::vector<int> &labels);

// The estimate for the project's finished cross-validation run, with the training labels of
// the moment it was first made, kept in the project's meta (kLabelNoiseMetaKey: the run's id,
// pruned, covered) so that choosing the review queue's default never reads the terms again.
// runCrossValidation() makes it when its last fold is stored; a run from before the key is
// estimated on first use (and stored when the project is writable). Relabels do not move it:
// the default order must not change under a person who is working through it. NotFound
// without a finished run; the store's error otherwise.
inline constexpr const char *kLabelNoiseMetaKey = "label-noise-estimate";
Result<LabelNoiseEstimate> storedLabelNoiseEstimate(ProjectDb &db);

// The fold models' default epoch count: the epochs of the active model's training record
// (a built-in CNN trained in the project), else 0: no count to copy (an imported model, or
// none yet), so fold 1 chooses it by adaptive training (runCrossValidation). Five fixed
// epochs, the earlier default, left the fold models of small projects weak:
// docs/cross-validation.md, "Fold models of imported-model projects".
int defaultCrossValidationEpochs(ProjectDb &db);
// While fold 1 has not chosen, progress assumes this many epochs per fold.
constexpr int kProvisionalCrossValidationEpochs = 5;
// The fold models' configuration by default: the active model's network, its recipe and
// augmentation (from its training record) and defaultCrossValidationEpochs; without a
// record the small CNN, adaptive (trainer.h's defaults, no time budget: the plateau or the
// epoch limit decides, so a resumed run replays the same choice).
TrainConfig defaultCrossValidationTrainConfig(ProjectDb &db);

// "<project>.d/crossval": where the fold models are trained.
std::string crossValidationDirectory(const ProjectDb &db);

// How fold 1 of the project's cross-validation chose the fold models' epoch count, when
// the run was adaptive and the fold's training record is there; nullopt otherwise (a fixed
// count, no run, or its folder gone). Reads one small file.
std::optional<TrainingRecord> adaptiveFoldRecord(const ProjectDb &db);

} // namespace traclens
