#include "model/trainingrecord.h"

#include "util/filereader.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace traclens {

const char *trainingStopName(TrainingStop stop)
{
    switch (stop) {
    case TrainingStop::FixedEpochs: return "fixed";
    case TrainingStop::Plateau: return "plateau";
    case TrainingStop::TimeBudget: return "budget";
    case TrainingStop::MaxEpochs: return "max-epochs";
    }
    return "fixed";
}

TrainingStop trainingStopFromName(const std::string &name)
{
    for (TrainingStop s : {TrainingStop::Plateau, TrainingStop::TimeBudget, TrainingStop::MaxEpochs})
        if (name == trainingStopName(s))
            return s;
    return TrainingStop::FixedEpochs;
}

double TrainingRecord::lastValidationGain() const
{
    const size_t n = validation.size();
    if (n < 2)
        return 0.0;
    // Over the stopping rule's window where the curve is that long: one epoch's change on
    // a small validation part is mostly chance.
    const size_t w = std::min(size_t(std::max(1, smoothing)), n - 1);
    return (validation[n - 1].accuracy - validation[n - 1 - w].accuracy) / double(w);
}

std::string TrainingRecord::summary() const
{
    char buf[400];
    if (!adaptive) {
        std::snprintf(buf, sizeof buf, "fixed: %d epoch%s", epochs, epochs == 1 ? "" : "s");
        return buf;
    }
    const double valAcc = validation.empty() ? 0.0 : 100.0 * validation[size_t(bestEpoch > 0 ? bestEpoch - 1 : 0)]
                                                                 .accuracy;
    const char *why = stop == TrainingStop::Plateau      ? "plateau at epoch"
                      : stop == TrainingStop::TimeBudget ? "time budget reached after epoch"
                                                         : "epoch limit reached at epoch";
    // Records made before the small-part rule have smoothing 1 and no patience.
    char best[96], rule[48] = "";
    if (smoothing > 1)
        std::snprintf(best, sizeof best, "validation accuracy %.1f %% at epoch %d, the best %d-epoch mean", valAcc,
                      bestEpoch, smoothing);
    else
        std::snprintf(best, sizeof best, "best validation accuracy %.1f %% at epoch %d", valAcc, bestEpoch);
    if (patience > 0)
        std::snprintf(rule, sizeof rule, ", patience %d", patience);
    std::snprintf(buf, sizeof buf,
                  "adaptive: %s %d of the validation run (%s; %lld held out%s), then %d epoch%s on the whole "
                  "training split",
                  why, int(validation.size()), best, (long long)validationCount, rule, epochs, epochs == 1 ? "" : "s");
    return buf;
}

std::string trainingRecordToJson(const TrainingRecord &r)
{
    QJsonArray curve;
    for (const auto &p : r.validation)
        curve.append(QJsonObject{{"epoch", p.epoch}, {"accuracy", p.accuracy}, {"loss", p.loss},
                                 {"train_accuracy", p.trainAccuracy}});
    const QJsonObject o{{"format", "traclens-training/1"},
                        {"mode", r.adaptive ? "adaptive" : "fixed"},
                        {"stop", trainingStopName(r.stop)},
                        {"epochs", r.epochs},
                        {"best_epoch", r.bestEpoch},
                        {"max_epochs", r.maxEpochs},
                        {"train_count", qint64(r.trainCount)},
                        {"validation_count", qint64(r.validationCount)},
                        {"patience", r.patience},
                        {"smoothing", r.smoothing},
                        {"time_budget_seconds", r.timeBudgetSeconds},
                        {"search_seconds", r.searchSeconds},
                        {"seconds", r.seconds},
                        {"validation", curve},
                        {"network", QString::fromStdString(r.network)},
                        {"augmentation", QString::fromStdString(r.augmentation)},
                        {"summary", QString::fromStdString(r.summary())}};
    return QJsonDocument(o).toJson().toStdString();
}

Result<TrainingRecord> parseTrainingRecord(const std::string &json)
{
    QJsonParseError err;
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(json), &err);
    if (!doc.isObject())
        return Status::invalid("not a training record: " + err.errorString().toStdString());
    const QJsonObject o = doc.object();
    if (o.value("format").toString() != "traclens-training/1")
        return Status::invalid("not a training record (format is not traclens-training/1)");
    TrainingRecord r;
    r.adaptive = o.value("mode").toString() == "adaptive";
    r.stop = trainingStopFromName(o.value("stop").toString().toStdString());
    r.epochs = o.value("epochs").toInt();
    r.bestEpoch = o.value("best_epoch").toInt();
    r.maxEpochs = o.value("max_epochs").toInt();
    r.trainCount = o.value("train_count").toInteger();
    r.validationCount = o.value("validation_count").toInteger();
    r.patience = o.value("patience").toInt(0);
    r.smoothing = std::max(1, o.value("smoothing").toInt(1));
    r.timeBudgetSeconds = o.value("time_budget_seconds").toDouble();
    r.searchSeconds = o.value("search_seconds").toDouble();
    r.seconds = o.value("seconds").toDouble();
    r.network = o.value("network").toString("builtin-cnn").toStdString();
    r.augmentation = o.value("augmentation").toString("none").toStdString();
    for (const auto &v : o.value("validation").toArray()) {
        const QJsonObject p = v.toObject();
        r.validation.push_back({p.value("epoch").toInt(), p.value("accuracy").toDouble(), p.value("loss").toDouble(),
                                p.value("train_accuracy").toDouble()});
    }
    return r;
}

Result<TrainingRecord> readTrainingRecord(const std::string &modelDir)
{
    const std::string path = (std::filesystem::path(modelDir) / kTrainingRecordName).string();
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return Status::notFound(path + ": no training record");
    Result<std::string> bytes = readFileCapped(path, kMaxJsonFileBytes, "a training record");
    if (!bytes.ok())
        return bytes.status();
    auto r = parseTrainingRecord(*bytes);
    if (!r.ok())
        return r.status().withContext(path);
    return r;
}

} // namespace traclens
