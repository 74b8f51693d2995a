#pragma once
// Injected label noise for measuring mislabel detection: a seeded choice of training
// examples, each moved to a *different* class. Applied to a project as ordinary relabels
// with origin "noise", so the truth stays recoverable from the project itself (the label
// history keeps every example's imported label and each flip).
//
// Noise types (NoiseModel):
//   uniform    each flipped example goes to a uniformly chosen other class;
//   pair       class c always goes to one fixed other class, by default (c+1) mod K in
//              the project's class order (an explicit map: a confusion matrix with one-hot rows);
//   confusion  the new class of an example of class c is drawn from row c of a K×K
//              confusion matrix (row = true class, column = class assigned; any non-negative
//              weights, e.g. counts), diagonal ignored, the off-diagonal normalised — so
//              flips follow the classes people (and models) actually confuse.
// How many, and which: exactly reviewCount(n, rate) = ⌊rate·n + ½⌋ of the n examples,
// drawn uniformly without replacement from the *eligible* examples, so each class's share
// of the flips follows its size; the structure lies only in the target class. Every
// example is eligible for uniform and pair; for confusion, examples of a class whose row
// has no off-diagonal weight are never flipped (and the plan fails when fewer eligible
// examples than flips remain).
//
// Reproducibility: the plan depends only on (example ids and labels, class count, rate,
// seed, noise model), through mt19937_64 (whose output the standard fixes) and hand-written
// draws, not on the standard library's distributions. Uniform plans are the same as before
// noise types existed; pair plans pick the same examples as uniform plans with the same seed.
// Thread safety: planning and parsing are pure; the others use the caller's ProjectDb.
// Failure: Status/Result; file errors name the file and line.

#include "store/projectdb.h"
#include "util/status.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace traclens {

constexpr const char *kNoiseOrigin = "noise";

struct LabelFlip {
    int64_t exampleId = 0;
    int trueLabel = 0;   // the label before the flip (for known errors: the correct label, −1 when unknown)
    int noisyLabel = 0;  // never equal to trueLabel
};

enum class NoiseType { Uniform, Pair, Confusion };

// "uniform", "pair", "confusion" (the CLI's spelling).
const char *noiseTypeName(NoiseType type);
std::optional<NoiseType> parseNoiseType(const std::string &name);

struct NoiseModel {
    NoiseType type = NoiseType::Uniform;
    // Pair: the target of class c; empty = cyclicPairMap(K).
    std::vector<int> pairTarget;
    // Confusion: K rows of K non-negative weights (row = true class). Required for Confusion.
    std::vector<std::vector<double>> confusion;
};

// c → (c+1) mod K.
std::vector<int> cyclicPairMap(int numClasses);

// The flips; sorted by example id. Empty when rate ≤ 0 or numClasses < 2; rate is clamped
// to 1. InvalidArgument when the model does not fit numClasses (a pair target out of range
// or equal to its class; a matrix not K×K or with a negative or non-finite weight) or when
// too few examples are eligible for the requested count.
Result<std::vector<LabelFlip>> planLabelNoise(const std::vector<ExampleRow> &examples, int numClasses, double rate,
                                              uint64_t seed, const NoiseModel &model);

// Uniform noise (never fails).
std::vector<LabelFlip> planLabelNoise(const std::vector<ExampleRow> &examples, int numClasses, double rate,
                                      uint64_t seed);

// Reads a K×K confusion matrix: one row per line (true class, in the project's class
// order), K non-negative numbers separated by commas, tabs or spaces; blank lines and
// lines starting with '#' are skipped. Errors name the file and line ("m.csv:3: 9 numbers,
// the dataset has 10 classes").
Result<std::vector<std::vector<double>>> readConfusionMatrix(const std::string &path, int numClasses);

// Relabels every flip (origin kNoiseOrigin) in one transaction; all or nothing.
// Fails (InvalidArgument) when an example's current label is not the flip's trueLabel.
Status applyLabelNoise(ProjectDb &db, const std::vector<LabelFlip> &flips);

// The flips recorded in the label history (origin kNoiseOrigin), sorted by example id.
Result<std::vector<LabelFlip>> recordedLabelNoise(ProjectDb &db);

} // namespace traclens
