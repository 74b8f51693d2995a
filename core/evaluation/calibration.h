#pragma once
// The review queue's default, measured per project: an evaluation (evaluation.h) run on
// the project's own dataset names the ranking that found the most injected flips, or, when
// its cleaning loop compared reviews over enough training seeds, the review that gained the
// most test accuracy; the project remembers it as its default ("calibration").
//
// Storage: the project's meta key "ranking.default" (kCalibrationMetaKey) holds a compact
// JSON object: the spec in report.json's spelling ({"kind", "selection", "weighting",
// "seed", "name"}) and the evidence (ranking name, budgets, recall per budget, AUC, the
// baseline's name and recall, noise type and rate, the report's path and the ISO date;
// "cleaning" with the gains when the cleaning loop chose).
//
// Thread safety: free functions on the caller's ProjectDb (one connection per thread,
// projectdb.h).
// Failure: Status/Result values, no exceptions. A stored entry that does not parse is
// not an error for projectDefaultRanking() (it falls back); storedCalibration() reports
// it as Corruption so that a view can say so.

#include "evaluation/evaluation.h"
#include "store/projectdb.h"
#include "influence/ranking.h"
#include "util/status.h"

#include <QJsonObject>

#include <optional>
#include <string>
#include <vector>

namespace traclens {

constexpr const char *kCalibrationMetaKey = "ranking.default";

// The fewest training seeds per review for the cleaning loop, rather than the flips found,
// to choose a calibrated default (docs/evaluation/README.md: one seed's gain is within the
// seed-to-seed spread; with 3 or more, gains are compared as means paired by seed).
constexpr int kCalibrationCleaningSeeds = 3;

// The rankings a calibration's cleaning loop reviews beside the queue when the evaluation
// cross-validates: the two the built-in default chooses between (evaluationDefaultRanking()),
// so the loop measures which of them pays on the project's data. The one that is the queue
// is not reviewed twice.
std::vector<RankingSpec> calibrationCleaningRankings();

// What the cleaning loop measured when it chose the default: the chosen review's mean gain
// in test accuracy (fractions, 0.0065 = +0.65 points), the next best review's and a random
// review's, at one budget.
struct CleaningEvidence {
    double budget = 0.0;              // fraction of the training split reviewed
    int seeds = 0;                    // training seeds behind each mean
    double gain = 0.0;
    std::string runnerUp;             // the next best review's ranking name
    double runnerUpGain = 0.0;
    std::optional<double> randomGain; // nullopt when the loop had no random review
};

// What the stored default rests on, for display (Report page, CLI).
struct CalibrationEvidence {
    RankingSpec spec;
    std::string name;                 // the ranking's name in the report
    std::vector<double> budgets;      // fractions of the training split reviewed
    std::vector<double> recall;       // one per budget
    double auc = 0.5;
    std::string baselineName;         // "" when the report had no baseline
    std::vector<double> baselineRecall;
    std::string noiseType;            // "uniform", "pair", "confusion"
    double noiseRate = 0.0;
    std::string reportPath;           // the report.json the evidence came from
    std::string date;                 // ISO 8601, UTC, when it was recorded
    std::optional<CleaningEvidence> cleaning; // set when the cleaning loop chose

    // Recall at `budget` (exact match within 1e-9); nullopt when it was not measured.
    std::optional<double> recallAt(double budget) const;
    std::optional<double> baselineRecallAt(double budget) const;
};

// The ranking a calibration would choose. When the report's cleaning loop reviewed at least
// two offered rankings (the queue and --cleaning-rankings) with kCalibrationCleaningSeeds
// seeds or more each, at 10 % when it measured that budget and else at its first: the one
// whose review gained the most test accuracy (mean over seeds; the queue wins ties), and
// `cleaning` (when given) receives the evidence. Otherwise the best offered ranking of
// report.rankings except random by mean recall over the budgets, ties by AUC (then the
// report's order), and `cleaning` is reset. nullptr when there is none.
const RankingEvaluation *bestCalibrationRanking(const EvaluationReport &report,
                                                std::optional<CleaningEvidence> *cleaning = nullptr);

// Picks bestCalibrationRanking(report) and stores it with its evidence in `db`'s meta
// (kCalibrationMetaKey). InvalidArgument when the report has no eligible ranking; the
// ProjectDb's error when writing fails (Unsupported for a read-only project).
Status recordCalibration(ProjectDb &db, const EvaluationReport &report, const std::string &reportJsonPath);

// The stored evidence; nullopt when the project has none; Corruption when the entry does
// not parse.
Result<std::optional<CalibrationEvidence>> storedCalibration(ProjectDb &db);

// Whether the project has a finished cross-validation run (all folds stored). Reads the
// run and fold rows only, not the terms, so a GUI thread may call it.
bool hasFinishedCrossValidation(ProjectDb &db);

// The review queue's default for this project: the calibrated spec when one is stored,
// parses and its inputs exist (a cross-validation kind or the ensemble needs a finished
// cross-validation run); otherwise evaluationDefaultRanking() with the run's stored noise
// estimate (storedLabelNoiseEstimate(), made once per run) or without a run.
// Never fails: a read error falls back too.
RankingSpec projectDefaultRanking(ProjectDb &db);

// A spec as report.json spells it ({"kind", "selection", "weighting", "seed", "name"}),
// and back; nullopt when the kind or the checkpoint policy does not parse.
QJsonObject rankingSpecToJson(const RankingSpec &spec);
std::optional<RankingSpec> rankingSpecFromJson(const QJsonObject &object);

} // namespace traclens
