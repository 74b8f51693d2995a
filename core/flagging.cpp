#include "flagging.h"

#include <cmath>
#include <cstdio>

namespace traclens {

bool isFlaggedLoss(double lossAtLast)
{
    return !std::isnan(lossAtLast) && lossAtLast > -std::log(kFlagLabelProbability);
}

int64_t countFlagged(const std::vector<double> &losses)
{
    int64_t n = 0;
    for (double l : losses)
        n += isFlaggedLoss(l) ? 1 : 0;
    return n;
}

double minTestAccuracy(int numClasses)
{
    const double chance = numClasses > 0 ? 1.0 / numClasses : 0.0;
    return chance + 0.75 * (1.0 - chance);
}

std::vector<std::string> modelWeaknesses(const ModelFitness &m)
{
    std::vector<std::string> out;
    char buf[400];
    const double accuracy = m.epochs.empty() ? -1.0 : m.epochs.back().testAccuracy;
    if (m.numClasses > 1 && accuracy >= 0.0 && accuracy < minTestAccuracy(m.numClasses)) {
        std::snprintf(buf, sizeof buf,
                      "Test accuracy is %.1f %% (chance %.1f %%, %.1f %% wanted): the model misclassifies too many "
                      "examples for its disagreements to point at wrong labels. Train longer (Project ▸ Train "
                      "Model…) or bring a stronger model (Project ▸ Import Model…).",
                      100.0 * accuracy, 100.0 / m.numClasses, 100.0 * minTestAccuracy(m.numClasses));
        out.emplace_back(buf);
    }
    if (!m.epochs.empty() && int(m.epochs.size()) < kMinEpochs) {
        std::snprintf(buf, sizeof buf,
                      "Only %d epoch%s trained (%d or more wanted): TracIn sums over checkpoints and an undertrained "
                      "model has not yet fitted the easy examples. Train more epochs: Project ▸ Train Model….",
                      int(m.epochs.size()), m.epochs.size() == 1 ? "" : "s", kMinEpochs);
        out.emplace_back(buf);
    }
    if (m.numClasses > 0 && m.trainExamples / m.numClasses < kMinExamplesPerClass) {
        std::snprintf(buf, sizeof buf,
                      "Only %lld training examples per class on average (%lld or more wanted): too few for the "
                      "model to learn what a class looks like. Add labelled examples, or expect many flags on "
                      "correct labels.",
                      (long long)(m.trainExamples / m.numClasses), (long long)kMinExamplesPerClass);
        out.emplace_back(buf);
    }
    return out;
}

Result<ModelFitness> modelFitness(ProjectDb &db, int64_t modelId)
{
    auto models = db.models();
    if (!models.ok())
        return models.status();
    auto epochs = db.epochs(modelId);
    if (!epochs.ok())
        return epochs.status();
    auto train = db.exampleCount(Split::Train);
    if (!train.ok())
        return train.status();
    ModelFitness m;
    for (const auto &row : *models)
        if (row.id == modelId)
            m.numClasses = row.numClasses;
    m.trainExamples = *train;
    m.epochs = std::move(*epochs);
    return m;
}

} // namespace traclens
