#include "evaluation/labelnoise.h"

#include "evaluation/detectionmetrics.h"
#include "util/filereader.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <random>
#include <sstream>

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

// Uniform in [0, 1) from the top 53 bits.
double unitDraw(std::mt19937_64 &rng)
{
    return double(rng() >> 11) * 0x1.0p-53;
}

// The column drawn from `row` without its diagonal entry `skip`; the row has positive
// off-diagonal weight.
int drawFromRow(std::mt19937_64 &rng, const std::vector<double> &row, int skip)
{
    double total = 0.0;
    for (size_t j = 0; j < row.size(); ++j)
        if (int(j) != skip)
            total += row[j];
    const double u = unitDraw(rng) * total;
    double cumulative = 0.0;
    int last = -1;
    for (size_t j = 0; j < row.size(); ++j) {
        if (int(j) == skip || !(row[j] > 0.0))
            continue;
        cumulative += row[j];
        last = int(j);
        if (u < cumulative)
            return int(j);
    }
    return last; // u landed on the total through rounding
}

Status checkModel(const NoiseModel &model, int numClasses)
{
    if (model.type == NoiseType::Pair && !model.pairTarget.empty()) {
        if (int(model.pairTarget.size()) != numClasses)
            return Status::invalid("label noise: the pair map has " + std::to_string(model.pairTarget.size())
                                   + " entries for " + std::to_string(numClasses) + " classes");
        for (int c = 0; c < numClasses; ++c) {
            const int t = model.pairTarget[size_t(c)];
            if (t < 0 || t >= numClasses || t == c)
                return Status::invalid("label noise: the pair map sends class " + std::to_string(c) + " to "
                                       + std::to_string(t) + ", which is not another class");
        }
    }
    if (model.type == NoiseType::Confusion) {
        if (int(model.confusion.size()) != numClasses)
            return Status::invalid("label noise: the confusion matrix has " + std::to_string(model.confusion.size())
                                   + " rows for " + std::to_string(numClasses) + " classes");
        for (int c = 0; c < numClasses; ++c) {
            const auto &row = model.confusion[size_t(c)];
            if (int(row.size()) != numClasses)
                return Status::invalid("label noise: row " + std::to_string(c) + " of the confusion matrix has "
                                       + std::to_string(row.size()) + " entries for " + std::to_string(numClasses)
                                       + " classes");
            for (double w : row)
                if (!(w >= 0.0) || !std::isfinite(w))
                    return Status::invalid("label noise: row " + std::to_string(c)
                                           + " of the confusion matrix holds a negative or non-finite weight");
        }
    }
    return Status::ok();
}

} // namespace

const char *noiseTypeName(NoiseType type)
{
    switch (type) {
    case NoiseType::Uniform:
        return "uniform";
    case NoiseType::Pair:
        return "pair";
    case NoiseType::Confusion:
        return "confusion";
    }
    return "uniform";
}

std::optional<NoiseType> parseNoiseType(const std::string &name)
{
    for (NoiseType t : {NoiseType::Uniform, NoiseType::Pair, NoiseType::Confusion})
        if (name == noiseTypeName(t))
            return t;
    return std::nullopt;
}

std::vector<int> cyclicPairMap(int numClasses)
{
    std::vector<int> map(size_t(std::max(0, numClasses)));
    for (int c = 0; c < numClasses; ++c)
        map[size_t(c)] = (c + 1) % numClasses;
    return map;
}

Result<std::vector<LabelFlip>> planLabelNoise(const std::vector<ExampleRow> &examples, int numClasses, double rate,
                                              uint64_t seed, const NoiseModel &model)
{
    std::vector<LabelFlip> flips;
    if (numClasses < 2 || !(rate > 0.0))
        return flips;
    TL_RETURN_IF_ERROR(checkModel(model, numClasses));
    const int64_t count = reviewCount(int64_t(examples.size()), std::min(rate, 1.0));
    // Which examples may flip: all but, for confusion noise, those of a class whose row
    // moves nowhere. Kept in input order, so uniform and pair plans draw the same sample.
    std::vector<size_t> order;
    order.reserve(examples.size());
    for (size_t i = 0; i < examples.size(); ++i) {
        const int label = examples[i].currentLabel;
        if (label < 0 || label >= numClasses)
            return Status::invalid("label noise: example " + std::to_string(examples[i].id) + " has label "
                                   + std::to_string(label) + " outside the " + std::to_string(numClasses)
                                   + " classes");
        if (model.type == NoiseType::Confusion) {
            const auto &row = model.confusion[size_t(label)];
            double off = 0.0;
            for (int j = 0; j < numClasses; ++j)
                if (j != label)
                    off += row[size_t(j)];
            if (!(off > 0.0))
                continue;
        }
        order.push_back(i);
    }
    const auto eligible = int64_t(order.size());
    if (eligible < count)
        return Status::invalid("label noise: " + std::to_string(count) + " flips requested, but only "
                               + std::to_string(eligible) + " training examples belong to classes the confusion "
                               + "matrix moves to another class");
    std::mt19937_64 rng(seed);
    // Partial Fisher–Yates: the first `count` positions end up a uniform sample.
    for (int64_t i = 0; i < count; ++i) {
        const auto j = size_t(i) + size_t(uniformBelow(rng, uint64_t(eligible - i)));
        std::swap(order[size_t(i)], order[j]);
    }
    const std::vector<int> pair = model.pairTarget.empty() ? cyclicPairMap(numClasses) : model.pairTarget;
    for (int64_t i = 0; i < count; ++i) {
        const ExampleRow &e = examples[order[size_t(i)]];
        int noisy = 0;
        switch (model.type) {
        case NoiseType::Uniform:
            // One of the K−1 other classes, uniformly: draw from [0, K−1) and skip the true one.
            noisy = int(uniformBelow(rng, uint64_t(numClasses - 1)));
            if (noisy >= e.currentLabel)
                ++noisy;
            break;
        case NoiseType::Pair:
            noisy = pair[size_t(e.currentLabel)];
            break;
        case NoiseType::Confusion:
            noisy = drawFromRow(rng, model.confusion[size_t(e.currentLabel)], e.currentLabel);
            break;
        }
        flips.push_back({e.id, e.currentLabel, noisy});
    }
    std::sort(flips.begin(), flips.end(), [](const LabelFlip &a, const LabelFlip &b) { return a.exampleId < b.exampleId; });
    return flips;
}

std::vector<LabelFlip> planLabelNoise(const std::vector<ExampleRow> &examples, int numClasses, double rate,
                                      uint64_t seed)
{
    auto flips = planLabelNoise(examples, numClasses, rate, seed, NoiseModel{});
    return flips.ok() ? std::move(flips).value() : std::vector<LabelFlip>{};
}

Result<std::vector<std::vector<double>>> readConfusionMatrix(const std::string &path, int numClasses)
{
    Result<std::string> bytes = readFileCapped(path, kMaxJsonFileBytes, "a confusion matrix");
    if (!bytes.ok())
        return bytes.status();
    std::vector<std::vector<double>> rows;
    std::istringstream in(*bytes);
    std::string line;
    int lineNumber = 0;
    while (std::getline(in, line)) {
        ++lineNumber;
        const std::string where = path + ":" + std::to_string(lineNumber) + ": ";
        const size_t first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#')
            continue;
        std::vector<double> row;
        for (char &ch : line)
            if (ch == ',' || ch == '\t' || ch == '\r' || ch == ';')
                ch = ' ';
        std::istringstream fields(line);
        std::string field;
        while (fields >> field) {
            char *end = nullptr;
            const double v = std::strtod(field.c_str(), &end);
            if (end == field.c_str() || *end != '\0' || !std::isfinite(v) || v < 0.0)
                return Status::invalid(where + "'" + field + "' is not a non-negative number");
            row.push_back(v);
        }
        if (int(row.size()) != numClasses)
            return Status::invalid(where + std::to_string(row.size()) + " numbers, the dataset has "
                                   + std::to_string(numClasses) + " classes");
        if (int(rows.size()) == numClasses)
            return Status::invalid(where + "more than " + std::to_string(numClasses)
                                   + " rows (one per class is expected)");
        rows.push_back(std::move(row));
    }
    if (int(rows.size()) != numClasses)
        return Status::invalid(path + ": " + std::to_string(rows.size()) + " rows, the dataset has "
                               + std::to_string(numClasses) + " classes (one row per true class)");
    return rows;
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
