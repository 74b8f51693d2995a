#pragma once
// What "flagged" means on the Report page and in the CLI, and when a model is too weak
// for its review queue to mean much. Both rules are measured: docs/flagging.md.
//
// Thread safety: pure functions. Failure: none (inputs outside the domain give "not flagged"
// or no judgement).

#include "store/projectdb.h"
#include "model/trainingrecord.h"

#include <string>
#include <vector>

namespace traclens {

// The model gives the label an example carries less than this probability at its last
// checkpoint: the loss there exceeds −ln(kFlagLabelProbability) = ln 10 ≈ 2.30.
constexpr double kFlagLabelProbability = 0.1;

// True when the loss at the last checkpoint (cross-entropy with the example's label) says
// the model confidently disagrees with the label (label probability < kFlagLabelProbability).
// NaN is not flagged; an infinite loss (label probability 0) is.
bool isFlaggedLoss(double lossAtLast);

// How many of `losses` are flagged.
int64_t countFlagged(const std::vector<double> &losses);

// What a model is judged on.
struct ModelFitness {
    int numClasses = 0;
    int64_t trainExamples = 0;
    std::vector<EpochRow> epochs;  // one per checkpoint, in order; test accuracy −1 when unknown
    std::optional<TrainingRecord> training; // how it was trained, when recorded (trainer.h)
};

// Thresholds (docs/flagging.md): test accuracy below chance + 3/4 of the way to 100 %
// (77.5 % for 10 classes), fewer than 3 epochs, fewer than 100 training examples per class.
constexpr int kMinEpochs = 3;
constexpr int64_t kMinExamplesPerClass = 100;
double minTestAccuracy(int numClasses);

// The under-training rule (docs/adaptive-training.md). Accuracy is the last epoch's test
// accuracy, else the adaptive mode's best validation accuracy. A model is under-trained when
//  - the adaptive mode stopped by its time budget or epoch limit while validation accuracy
//    was still rising by kStillRisingPerEpoch or more over the last epoch (at any level), or
//  - its accuracy is below minTestAccuracy() and either it was still rising that much when
//    a fixed number of epochs ended (the test accuracy curve), or it is near chance: below
//    chance + kNearChanceShare of the way to 100 %.
// A model the adaptive mode stopped on a plateau is not "still rising". Returns the
// warning, naming what stopped training and what to do; nullopt otherwise.
constexpr double kStillRisingPerEpoch = 0.01;
constexpr double kNearChanceShare = 0.10;
std::optional<std::string> underTrainingWarning(const ModelFitness &m);

// Plain-language problems with what to do about each; empty when the model is fit to rank.
// The under-training warning, when it applies, comes first and replaces the plain
// low-accuracy one.
std::vector<std::string> modelWeaknesses(const ModelFitness &m);

// The model's classes, epochs, training record and the project's training-example count,
// from the project.
Result<ModelFitness> modelFitness(ProjectDb &db, int64_t modelId);

} // namespace traclens
