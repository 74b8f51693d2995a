#include "influence/flagging.h"

#include "model/trainjob.h"

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

std::optional<std::string> underTrainingWarning(const ModelFitness &m)
{
    if (m.numClasses < 2)
        return std::nullopt;
    const TrainingRecord *rec = m.training && m.training->adaptive ? &*m.training : nullptr;
    double accuracy = m.epochs.empty() ? -1.0 : m.epochs.back().testAccuracy;
    const char *measured = "Test accuracy";
    if (accuracy < 0.0 && rec && rec->bestEpoch >= 1 && size_t(rec->bestEpoch) <= rec->validation.size()) {
        accuracy = rec->validation[size_t(rec->bestEpoch - 1)].accuracy;
        measured = "Validation accuracy";
    }
    if (accuracy < 0.0)
        return std::nullopt;
    const bool low = accuracy < minTestAccuracy(m.numClasses);

    // How much accuracy the last epoch added, on the curve that decided (or would have
    // decided) when to stop.
    double gain = 0.0;
    bool stoppedEarly = true; // by something else than accuracy levelling off
    if (rec) {
        gain = rec->lastValidationGain();
        stoppedEarly = rec->stop != TrainingStop::Plateau;
    } else if (m.epochs.size() >= 2 && m.epochs[m.epochs.size() - 2].testAccuracy >= 0.0) {
        gain = accuracy - m.epochs[m.epochs.size() - 2].testAccuracy;
    }
    const bool rising = stoppedEarly && gain >= kStillRisingPerEpoch;
    // The time budget or the epoch limit cut short a model that was still gaining: more
    // training gives more, whatever the level. A fixed run is judged only when its
    // accuracy is low too (its test curve is noisier, and three epochs are often enough).
    const bool cutShort = rising && rec && rec->stop != TrainingStop::FixedEpochs;
    const double chance = 1.0 / m.numClasses;
    const bool nearChance = accuracy < chance + kNearChanceShare * (1.0 - chance);
    if (!cutShort && !(low && (rising || nearChance)))
        return std::nullopt;

    char buf[700];
    int len = low ? std::snprintf(buf, sizeof buf, "Under-trained model. %s is %.1f %% (chance %.1f %%, %.1f %% wanted)",
                                  measured, 100.0 * accuracy, 100.0 * chance, 100.0 * minTestAccuracy(m.numClasses))
                  : std::snprintf(buf, sizeof buf, "Under-trained model. %s is %.1f %% (chance %.1f %%)", measured,
                                  100.0 * accuracy, 100.0 * chance);
    auto add = [&](const char *fmt, auto... args) {
        if (len >= 0 && size_t(len) < sizeof buf)
            len += std::snprintf(buf + len, sizeof buf - size_t(len), fmt, args...);
    };
    const int epochs = int(m.epochs.size());
    if (rising) {
        if (rec && rec->stop == TrainingStop::TimeBudget)
            add(" and training stopped at its time budget (%.3g min) while validation accuracy was still rising "
                "(+%.1f points an epoch at the end): an under-trained model's review queue misses many wrong labels. "
                "Raise the time budget (Project ▸ Train Model…, or the command line's train --time-budget).",
                rec->timeBudgetSeconds / 60.0, 100.0 * gain);
        else if (rec)
            add(" and training stopped at its limit of %d epochs while validation accuracy was still rising "
                "(+%.1f points an epoch at the end): an under-trained model's review queue misses many wrong labels. "
                "Allow more epochs (Project ▸ Train Model…, At most, or the command line's train --max-epochs).",
                rec->maxEpochs, 100.0 * gain);
        else
            add(" and was still rising after %d epoch%s (+%.1f points in the last): an under-trained model's review "
                "queue misses many wrong labels. Train until accuracy stops improving (Project ▸ Train Model…, or "
                "train without --epochs on the command line) or train more epochs.",
                epochs, epochs == 1 ? "" : "s", 100.0 * gain);
    } else {
        add(": near chance, the model has learned almost nothing and its review queue is close to random.");
    }
    if (nearChance)
        add(" So close to chance, a wider model (train --width, --embedding-dim) or another learning "
            "rate (--lr) may be needed besides more training.");
    return std::string(buf);
}

std::vector<std::string> modelWeaknesses(const ModelFitness &m)
{
    std::vector<std::string> out;
    char buf[400];
    const double accuracy = m.epochs.empty() ? -1.0 : m.epochs.back().testAccuracy;
    const std::optional<std::string> underTrained = underTrainingWarning(m);
    if (underTrained)
        out.push_back(*underTrained);
    else if (m.numClasses > 1 && accuracy >= 0.0 && accuracy < minTestAccuracy(m.numClasses)) {
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
    // An unreadable record only loses the under-training judgement's detail.
    if (auto record = storedTrainingRecord(db, modelId); record.ok())
        m.training = std::move(*record);
    return m;
}

} // namespace traclens
