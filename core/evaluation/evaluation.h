#pragma once
// The mislabel-detection evaluation: how many wrong labels each review-queue ranking
// finds, measured on a dataset with known, injected label noise.
//
// runEvaluation():
//  1. imports the dataset into a fresh project in the work directory (optionally a
//     seeded subset, for quick runs),
//  2. flips a seeded `noiseRate` of the training labels to other classes (labelnoise.h:
//     uniform, pair or confusion noise; the flips stay in the project's label history and
//     go into the report). Confusion noise without a matrix file first trains the built-in
//     CNN on the clean labels (same configuration and seed as below) and draws the flips
//     from its confusion on the test split — out of sample, and reproducible from the
//     seeds (and thread count, see trainer.h). That model is also the cleaning loop's
//     "every flip fixed" run, which is therefore not trained twice.
//     Or, with `truthFile` and noise rate 0: no noise; the known errors listed in the file
//     (evaluationtruth.h) are what the rankings are scored against,
//  3. trains the built-in CNN on the noisy labels and computes TracIn factors,
//  4. cross-validates the built-in CNN (K folds, crossvalidation.h) for the out-of-sample
//     rankings, among them the confident-learning baseline (self-confidence),
//  5. ranks the training examples by self-influence, loss, margin, neighbour agreement,
//     the out-of-sample scores, the ensemble and at random (ranking.h) and measures recall
//     of the flipped labels in the top 1/5/10/20/30 % and the ROC AUC (detectionmetrics.h),
//     and lists the first examples of the default queue whose labels were not flipped
//     (UnflippedSuspect),
//  6. compares checkpoint policies (which checkpoints, which weights) from the stored
//     factors alone — no retraining,
//  7. runs the cleaning loop: a simulated person reviews the top X % of the default
//     queue (or a random X %), restores the true label of every flip found there, and
//     the model is retrained with the same configuration, once per cleaning seed; test
//     accuracy against the noisy-label model of the same seed, for each X.
//     With a truth file that gives no correct labels the loop is skipped (and the report
//     says so): nothing could be restored.
// writeEvaluationReport() writes report.json, report.md and PNG recall curves; both name
// the machine (machineinfo.h) with its load at the start and the end of the run.
//
// Resuming: the work directory keeps the project, the models and each finished
// cleaning run; a second call with the same configuration reuses them (import, noise,
// training, factors and finished retrainings are not redone). A different
// configuration starts afresh: the files this evaluation made there are deleted (and
// only those). The configuration's resume key covers the dataset, subset, noise (rate,
// seed, type, matrix file contents) and training; a changed truth file keeps the model and
// factors but discards the finished cleaning runs.
//
// Thread safety: runEvaluation opens its own ProjectDb; run one evaluation per work
// directory at a time. Uses LibTorch's intra-op pool (config.compute.threads).
// Failure: Status/Result; Cancelled between steps and chunks, with finished work kept.

#include "evaluation/chartimage.h"
#include "influence/computejob.h"
#include "evaluation/labelnoise.h"
#include "model/crossvalidation.h"
#include "model/machineinfo.h"
#include "util/progress.h"
#include "store/projectdb.h"
#include "influence/ranking.h"
#include "model/trainer.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace traclens {

struct EvaluationConfig {
    std::string dataset;                 // a path importDataset accepts
    std::string workDirectory;           // project, models, finished cleaning runs
    double noiseRate = 0.1;              // in (0, 1); 0 only with truthFile
    uint64_t noiseSeed = 1;
    NoiseType noiseType = NoiseType::Uniform;
    // Confusion noise: a K×K matrix file (readConfusionMatrix); empty = the confusion of
    // the built-in CNN trained on the clean labels, measured on the test split.
    std::string confusionFile;
    // Known errors (evaluationtruth.h) to score against instead of injected noise.
    std::string truthFile;
    int64_t trainLimit = 0;              // 0 = the whole training split, else a seeded subset
    int64_t testLimit = 0;               // 0 = the whole test split
    TrainConfig train;
    ComputeOptions compute;
    // Cross-validation for the out-of-sample rankings and the confident-learning baseline
    // (crossvalidation.h): K folds, each trained like the evaluated model with its epoch
    // count; 0 = none (the report then has no baseline).
    int folds = 5; // CrossValidationConfig{}.folds
    // How the fold models score their held-out images (CrossValidationConfig::mirroredViews);
    // nullopt: mirroredViewsByDefault() of the training. Not part of the resume key: a
    // change re-scores the kept fold models (crossvalidation.h) and ranks again.
    std::optional<bool> mirroredViews;
    std::vector<double> budgets{0.01, 0.05, 0.10, 0.20, 0.30};
    std::vector<double> cleaningBudgets{0.10}; // empty: no cleaning loop
    // Rankings also reviewed in the cleaning loop, beside the default queue and a random
    // review: each budget × seed cell once more per ranking (CleaningRun::strategy is the
    // ranking's name). Out-of-sample kinds need folds.
    std::vector<RankingSpec> cleaningRankings;
    bool cleaningUpperBound = true;      // also retrain with every flip fixed
    // Extra trainings on the noisy labels with seeds train.seed+1, +2, …: the spread of
    // test accuracy between seeds, against which the cleaning loop's changes are read.
    int seedReplicates = 2;
    // Trainings per cleaning cell (queue or random review at one budget), with seeds
    // train.seed, +1, …; each is compared with the noisy-label model of its own seed (so
    // seedReplicates is raised to at least cleaningSeeds − 1).
    int cleaningSeeds = 3;
    std::string command;                 // how the run was started, quoted in the report
};

struct RankingEvaluation {
    std::string name;                    // RankingSpec::toString(), or a study label
    RankingSpec spec;
    bool offered = true;                 // false for study-only variants (one early checkpoint)
    std::vector<double> recall;          // one per budget
    double auc = 0.5;
    std::vector<std::pair<double, double>> curve; // (fraction reviewed, recall); headline rankings only
    double meanRecall() const;
};

struct CheckpointStudyRow {
    int checkpoint = 0;                  // 1-based
    double learningRate = 0.0;
    double trainAccuracy = -1.0, testAccuracy = -1.0;
    double meanSelfTermFlipped = 0.0, meanSelfTermClean = 0.0;
    double shareOfSelfInfluence = 0.0;   // this checkpoint's share of Σ ηᵢ sᵢ over all examples
};

struct CleaningRun {
    // "queue", "random", "all flips fixed", "seed" or a cleaningRankings entry's name.
    std::string strategy;
    uint64_t seed = 0;                   // training seed
    double budget = 0.0;                 // fraction of the training split reviewed
    int64_t reviewed = 0;
    int64_t fixed = 0;                   // flips found and restored
    double testAccuracy = -1.0;
    double seconds = 0.0;
};

// An example the default queue puts among the wrong labels although its label was not
// flipped (with a truth file: is not listed). On real data these are often errors of the
// dataset itself, which the injected noise cannot count: every one costs the queue a
// flip found at its budget, and every one is worth a look (docs/evaluation/README.md).
struct UnflippedSuspect {
    int64_t id = 0;
    std::string source;
    int64_t rank = 0;                 // 1-based position in the default queue
    int label = 0;                    // its label, as given (never flipped)
    int modelClass = -1;              // the class the model gives it (out of sample with folds)
    double labelProbability = -1.0;   // that model's p[label]
    bool outOfSample = false;         // modelClass and labelProbability come from the fold model
    QImage image;                     // its pixels for the report's picture (at most 224 px a side); not in report.json
};
// How many of them a report lists: the first ones in queue order.
constexpr int kUnflippedSuspectsShown = 24;

struct EvaluationReport {
    EvaluationConfig config;
    std::vector<std::string> classes;
    int64_t trainCount = 0, testCount = 0;
    // The injected flips, or with a truth file the known errors (trueLabel −1 when the file
    // gives no correct label).
    std::vector<LabelFlip> flips;
    std::vector<std::string> flipSources;  // source of each flip's example, same order
    // Confusion noise: the matrix the flips were drawn from (row = true class; counts when
    // measured) and where it came from.
    std::vector<std::vector<double>> confusion;
    std::string confusionSource;
    bool truthLabelled = false;            // the truth file gives every correct label
    int64_t truthNotInSubset = 0;          // truth entries a seeded subset left out
    std::string cleaningSkipped;           // why the cleaning loop did not run ("" when it ran or was not asked for)
    MachineInfo machine;                   // where this run was measured
    int64_t modelId = 0;
    std::vector<EpochRow> epochs;          // the model trained on noisy labels
    std::vector<double> learningRates;     // per checkpoint
    RankingSpec defaultSpec;               // the queue's default for this evaluation (evaluationDefaultRanking)
    // The ensemble's formula the rankings were made with (kEnsembleFormulaVersion, ranking.h);
    // 0 in a report written before the field existed (formula 2 or older).
    int ensembleFormula = 0;
    // Whether the fold models scored each held-out image mirrored as well (the mean of the
    // two views' probabilities); false without folds and in reports from before the option.
    bool mirroredViews = false;
    // Confident learning's estimate of the wrong labels (the noisy ones), from the cross-
    // validation; covered 0 without folds. It picks defaultSpec.
    LabelNoiseEstimate labelNoise;
    std::string baselineName;              // the confident-learning baseline's ranking name ("" without folds)
    // Headline: default, TracIn as published, loss, margin, neighbours, the out-of-sample
    // rankings (with folds), random.
    std::vector<RankingEvaluation> rankings;
    std::vector<RankingEvaluation> policies; // the checkpoint-policy study
    std::string bestPolicy;                // name of the best offered entry of the study (mean recall)
    std::vector<CheckpointStudyRow> checkpoints;
    // Default-ranking scores of clean and flipped examples, binned for a histogram.
    std::vector<double> histogramEdges, histogramClean, histogramFlipped;
    bool histogramLog = true;
    // The first kUnflippedSuspectsShown examples of the default queue whose labels are not
    // among the wrong ones, in queue order (fewer when the split has fewer).
    std::vector<UnflippedSuspect> unflippedAtTop;
    double testAccuracyBefore = -1.0;
    std::vector<CleaningRun> cleaning;
    std::vector<CleaningRun> seedRuns;     // the noisy-label model with other seeds
    std::vector<std::pair<std::string, double>> seconds; // per stage, in order
    double totalSeconds = 0.0;
};

// The cleaning loop's results as the report and the app show them: one row per budget and
// review (the default queue, each of config.cleaningRankings, random), each run's test
// accuracy paired with the noisy-label model of the same seed.
struct CleaningRow {
    double budget = 0.0;
    std::string strategy;                // CleaningRun::strategy
    std::string title;                   // "queue (ensemble)", "cv-noise-rate", "random"
    int64_t reviewed = 0;
    int64_t fixedMin = -1, fixedMax = -1; // over the seeds; −1 without runs
    std::vector<double> gains;           // test accuracy − the same seed's noisy-label model
    double meanGain() const;             // NaN without gains
    double ratioToRandom = 0.0;          // mean gain / random review's mean gain; NaN when undefined
                                         // (no random review, or its mean below kMinRandomGainForRatio)
};
// The smallest mean gain of a random review that a ratio is taken to: half of the hundredth
// of a point the gains are shown to (accuracies are fractions, so 0.005 points = 5e-5).
constexpr double kMinRandomGainForRatio = 5e-5;
std::vector<CleaningRow> cleaningRows(const EvaluationReport &report);

// Recall at each budget and the ROC AUC of one ranking against known wrong labels, as
// runEvaluation reports them: `scores[i]` belongs to `ids[i]` (higher = reviewed first;
// ties in ascending id order, sortRanking), `errors` are the wrong labels (ids not in `ids`
// are ignored). With `withCurve`, also the recall curve (200 steps).
RankingEvaluation scoreRanking(const std::string &name, const RankingSpec &spec, const std::vector<int64_t> &ids,
                               const std::vector<double> &scores, const std::vector<LabelFlip> &errors,
                               const std::vector<double> &budgets, bool withCurve = false);

Result<EvaluationReport> runEvaluation(const EvaluationConfig &config, const ProgressFn &progress = {},
                                       const CancelFlag *cancel = nullptr);

// Reads a report.json written by writeEvaluationReport (format "traclens-evaluation/1").
// The flip list, curves, study and cleaning runs come back; errors name the file.
Result<EvaluationReport> readEvaluationReport(const std::string &jsonFile);

// The charts of the report, the same in the PNG files and in the app's report view:
// recall against the fraction reviewed for the headline rankings, for the self-influence
// checkpoint policies, and the default ranking's score distribution (clean vs flipped).
LineChart recallChart(const EvaluationReport &report);
LineChart checkpointPolicyChart(const EvaluationReport &report);
HistogramChart scoreHistogram(const EvaluationReport &report);

// Writes <outDir>/report.json, report.md, recall-rankings.png, recall-checkpoints.png,
// score-histogram.png and unflipped-at-top.png (the PNGs only when canRenderCharts(), the
// last only when the report holds the suspects' images; the Markdown says when the charts
// are missing). Creates outDir. Errors name the file. Also records the report's path in
// the evaluation's project (meta "evaluation_report"), where the app's report view looks.
Status writeEvaluationReport(const EvaluationReport &report, const std::string &outDir);

} // namespace traclens
