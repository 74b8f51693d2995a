#include "labelnoise.h"

#include "detectionmetrics.h"

#include <algorithm>
#include <numeric>
#include <random>

namespace traclens {

namespace {

// Uniform in [0, bound) by rejection, so the result does not depend on the library.
uint64_t uniformBelow(std::mt19937_64 &rng, uint64_t bound)
{
    const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do {
        r = rng();
    } while (r >= limit);
    return r % bound;
}

} // namespace

std::vector<LabelFlip> planLabelNoise(const std::vector<ExampleRow> &examples, int numClasses, double rate,
                                      uint64_t seed)
{
    std::vector<LabelFlip> flips;
    if (numClasses < 2 || !(rate > 0.0))
        return flips;
    const auto n = int64_t(examples.size());
    const int64_t count = reviewCount(n, std::min(rate, 1.0));
    std::mt19937_64 rng(seed);
    // Partial Fisher–Yates: the first `count` positions end up a uniform sample.
    std::vector<size_t> order(examples.size());
    std::iota(order.begin(), order.end(), size_t(0));
    for (int64_t i = 0; i < count; ++i) {
        const auto j = size_t(i) + size_t(uniformBelow(rng, uint64_t(n - i)));
        std::swap(order[size_t(i)], order[j]);
    }
    for (int64_t i = 0; i < count; ++i) {
        const ExampleRow &e = examples[order[size_t(i)]];
        // One of the K−1 other classes, uniformly: draw from [0, K−1) and skip the true one.
        int noisy = int(uniformBelow(rng, uint64_t(numClasses - 1)));
        if (noisy >= e.currentLabel)
            ++noisy;
        flips.push_back({e.id, e.currentLabel, noisy});
    }
    std::sort(flips.begin(), flips.end(), [](const LabelFlip &a, const LabelFlip &b) { return a.exampleId < b.exampleId; });
    return flips;
}

Status applyLabelNoise(ProjectDb &db, const std::vector<LabelFlip> &flips)
{
    ProjectDb::Transaction tx(db);
    TL_RETURN_IF_ERROR(tx.status());
    for (const auto &f : flips) {
        auto e = db.example(f.exampleId);
        if (!e.ok())
            return e.status();
        if (e->currentLabel != f.trueLabel || f.noisyLabel == f.trueLabel)
            return Status::invalid(db.path() + ": example " + std::to_string(f.exampleId) + " has label "
                                   + std::to_string(e->currentLabel) + ", the noise plan expected "
                                   + std::to_string(f.trueLabel) + " (and a different noisy label)");
        auto change = db.relabel(f.exampleId, f.noisyLabel, kNoiseOrigin);
        if (!change.ok())
            return change.status();
    }
    return tx.commit();
}

Result<std::vector<LabelFlip>> recordedLabelNoise(ProjectDb &db)
{
    auto history = db.labelHistory();
    if (!history.ok())
        return history.status();
    std::vector<LabelFlip> flips;
    for (const auto &c : *history)
        if (c.origin == kNoiseOrigin)
            flips.push_back({c.exampleId, c.oldLabel, c.newLabel});
    std::stable_sort(flips.begin(), flips.end(),
                     [](const LabelFlip &a, const LabelFlip &b) { return a.exampleId < b.exampleId; });
    return flips;
}

} // namespace traclens
