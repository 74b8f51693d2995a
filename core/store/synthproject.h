#pragma once
// Synthetic projects with planted structure, for benchmarks at any size and for tests
// whose right answer is known: examples, a model row with checkpoints, TracIn factors
// and self-influence are written straight into a project file (no images, no LibTorch).
//
// Planting: every class has `clustersPerClass` centres. A centre has an embedding
// centre μ (D non-negative values, like ReLU outputs) and a logit centre z: the class's
// own logit is high and one other class, different for each centre of the class, is
// its "confuser". An example of class y and centre q draws
//   h = relu(μ + σ·ε)·(1 + 0.15·c)           (checkpoint c = 0..C−1: features sharpen)
//   logits = (0.5 + c / C)·(z + σ_z·ε′)       (training makes the model more confident)
// and gets e = softmax(logits) − onehot(y). Examples of one centre therefore have
// similar gradient directions e ⊗ [h, 1] and the centres of a class are separated both
// in TracIn space and in embedding space.
//
// The planted centre of each example is recorded in its source path,
// "<split>/<class>/<centre>/<number>", which plantedCentre() parses.
//
// Speed: examples and their factors for every checkpoint are written one chunk per
// transaction; generation is deterministic per example (seeded by seed and the
// example's number), so the output does not depend on the chunk size.
//
// Failure: Status values (an existing file is refused unless `overwrite`);
// cancellable between chunks, leaving a partial project that is not usable.

#include "util/progress.h"
#include "util/status.h"

#include <cstdint>
#include <string>

namespace traclens {

struct SynthOptions {
    int64_t train = 10000;
    int64_t test = 1000;
    int classes = 10;
    int dim = 64;
    int checkpoints = 3;
    int clustersPerClass = 3;
    uint64_t seed = 1;
    double noise = 0.35;        // σ of h around its centre, relative to the centre's scale
    int64_t chunk = 20000;      // examples per transaction
    bool overwrite = false;
};

struct SynthSummary {
    int64_t modelId = 0;
    int64_t examples = 0;
    int64_t factorRows = 0;
    double seconds = 0.0;
};

Result<SynthSummary> writeSyntheticProject(const std::string &path, const SynthOptions &options,
                                           const ProgressFn &progress = {}, const CancelFlag *cancel = nullptr);

// The planted centre of a synthetic example from its source path, or −1.
int plantedCentre(const std::string &source);

} // namespace traclens
