#pragma once
// Injected label noise for measuring mislabel detection: a seeded choice of training
// examples, each moved to a uniformly chosen *different* class. Applied to a project as
// ordinary relabels with origin "noise", so the truth stays recoverable from the project
// itself (the label history keeps every example's imported label and each flip).
//
// Reproducibility: the plan depends only on (example ids and labels, class count, rate,
// seed), through a hand-written generator, not on the standard library's distributions.
// Thread safety: planLabelNoise is pure; the others use the caller's ProjectDb.

#include "projectdb.h"

#include <cstdint>
#include <vector>

namespace traclens {

constexpr const char *kNoiseOrigin = "noise";

struct LabelFlip {
    int64_t exampleId = 0;
    int trueLabel = 0;   // the label before the flip
    int noisyLabel = 0;  // never equal to trueLabel
};

// Picks exactly reviewCount(n, rate) = ⌊rate·n + ½⌋ of `examples` uniformly without
// replacement and a different class for each. Sorted by example id. Empty when rate ≤ 0
// or numClasses < 2; rate is clamped to 1.
std::vector<LabelFlip> planLabelNoise(const std::vector<ExampleRow> &examples, int numClasses, double rate,
                                      uint64_t seed);

// Relabels every flip (origin kNoiseOrigin) in one transaction; all or nothing.
// Fails (InvalidArgument) when an example's current label is not the flip's trueLabel.
Status applyLabelNoise(ProjectDb &db, const std::vector<LabelFlip> &flips);

// The flips recorded in the label history (origin kNoiseOrigin), sorted by example id.
Result<std::vector<LabelFlip>> recordedLabelNoise(ProjectDb &db);

} // namespace traclens
