#include "evaluation/retrain.h"

#include "model/modelspec.h"
#include "model/trainjob.h"

#include <QJsonDocument>
#include <QJsonObject>

#include <chrono>
#include <cmath>

namespace traclens {

namespace {

std::string configKey(int64_t modelId)
{
    return "train_config:" + std::to_string(modelId);
}

} // namespace

QJsonObject trainConfigToJson(const TrainConfig &c)
{
    QJsonObject o{{"width", c.width},
            {"embedding_dim", c.embeddingDim},
            {"epochs", c.epochs},
            {"batch", c.batchSize},
            {"learning_rate", c.learningRate},
            {"lr_schedule", lrScheduleName(c.schedule)},
            {"lr_decay", c.lrDecay},
            {"lr_decay_every", c.lrDecayEvery},
            {"checkpoint_every", c.checkpointEvery},
            {"seed", QString::number(qulonglong(c.seed))}};
    // Only when not the small CNN's plain recipe, so that configurations recorded before
    // the batch-norm network existed (and the stages keyed on them) read the same.
    if (!c.isPlainRecipe()) {
        o.insert("network", builtinNetworkName(c.network));
        o.insert("momentum", c.momentum);
        o.insert("weight_decay", c.weightDecay);
        o.insert("augmentation", augmentationName(c.augmentation));
    }
    return o;
}

TrainConfig trainConfigFromJson(const QJsonObject &o, const TrainConfig &defaults)
{
    TrainConfig c = defaults;
    c.width = o.value("width").toInt(c.width);
    c.embeddingDim = o.value("embedding_dim").toInt(c.embeddingDim);
    c.epochs = o.value("epochs").toInt(c.epochs);
    c.batchSize = o.value("batch").toInt(c.batchSize);
    c.learningRate = o.value("learning_rate").toDouble(c.learningRate);
    if (!parseLrSchedule(o.value("lr_schedule").toString("step").toStdString(), &c.schedule))
        c.schedule = LrSchedule::Step;
    c.lrDecay = o.value("lr_decay").toDouble(c.lrDecay);
    c.lrDecayEvery = o.value("lr_decay_every").toInt(c.lrDecayEvery);
    c.checkpointEvery = o.value("checkpoint_every").toInt(c.checkpointEvery);
    c.seed = o.value("seed").toString().toULongLong();
    if (o.contains("network")) {
        if (!parseBuiltinNetwork(o.value("network").toString().toStdString(), &c.network))
            c.network = BuiltinNetwork::Cnn;
        c.momentum = o.value("momentum").toDouble(0.0);
        c.weightDecay = o.value("weight_decay").toDouble(0.0);
        if (!parseAugmentation(o.value("augmentation").toString().toStdString(), &c.augmentation))
            c.augmentation = Augmentation::None;
    }
    return c;
}

Status recordTrainConfig(ProjectDb &db, int64_t modelId, const TrainConfig &c)
{
    const QJsonObject o = trainConfigToJson(c);
    return db.setMeta(configKey(modelId), QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString());
}

Result<TrainConfig> recordedTrainConfig(ProjectDb &db, int64_t modelId)
{
    auto model = db.model(modelId);
    if (!model.ok())
        return model.status();
    TrainConfig c;
    auto stored = db.meta(configKey(modelId));
    if (!stored.ok())
        return stored.status();
    if (stored->has_value()) {
        return trainConfigFromJson(QJsonDocument::fromJson(QByteArray::fromStdString(**stored)).object(), c);
    }
    // No record: rebuild what the manifest and the training curve say.
    auto spec = readModelSpec(model->directory);
    if (!spec.ok())
        return spec.status();
    if (!isBuiltinArchitecture(spec->architecture))
        return Status::invalid(model->directory + ": model '" + model->name
                               + "' was not trained by TracLens, so there is no configuration to repeat");
    BuiltinNetwork network = BuiltinNetwork::Cnn;
    if (parseBuiltinNetwork(spec->architecture, &network))
        c.useNetwork(network);
    c.width = spec->width > 0 ? spec->width : c.width;
    c.embeddingDim = spec->embeddingDim > 0 ? spec->embeddingDim : (model->embeddingDim > 0 ? model->embeddingDim : c.embeddingDim);
    auto epochs = db.epochs(modelId);
    if (!epochs.ok())
        return epochs.status();
    if (!epochs->empty()) {
        c.epochs = int(epochs->size());
        // A cosine run: every rate is the cosine schedule's for the same η and length.
        c.schedule = LrSchedule::Cosine;
        c.learningRate = 1.0; // the schedule's shape, to scale by the first epoch's rate
        c.learningRate = epochs->front().learningRate / learningRateForEpoch(c, 1, c.epochs);
        for (const auto &e : *epochs) {
            const double expected = learningRateForEpoch(c, e.epoch, c.epochs);
            if (std::abs(e.learningRate - expected) > 1e-9 * c.learningRate) {
                c.schedule = LrSchedule::Step;
                break;
            }
        }
        // One epoch fits either schedule; the step one says what it is.
        if (c.schedule != LrSchedule::Cosine || c.epochs < 2) {
            c.schedule = LrSchedule::Step;
            c.learningRate = epochs->front().learningRate;
            // The first epoch whose rate differs gives the decay step and factor.
            c.lrDecayEvery = 0;
            for (size_t i = 1; i < epochs->size(); ++i) {
                if (std::abs((*epochs)[i].learningRate - c.learningRate) > 1e-12 * c.learningRate) {
                    c.lrDecayEvery = int(i);
                    c.lrDecay = (*epochs)[i].learningRate / c.learningRate;
                    break;
                }
            }
            if (c.lrDecayEvery == 0) {
                c.lrDecayEvery = c.epochs + 1;
                c.lrDecay = 1.0;
            }
        }
        auto cps = db.checkpoints(modelId);
        if (!cps.ok())
            return cps.status();
        if (cps->size() > 1)
            c.checkpointEvery = std::max(1, c.epochs / int(cps->size()));
        else
            c.checkpointEvery = c.epochs;
    }
    return c;
}

Result<RetrainResult> retrainWithCorrections(ProjectDb &db, int64_t previousModelId,
                                             const std::optional<TrainConfig> &config, const std::string &name,
                                             const ProgressFn &progress, const CancelFlag *cancel)
{
    const auto started = std::chrono::steady_clock::now();
    auto previous = db.model(previousModelId);
    if (!previous.ok())
        return previous.status();
    RetrainResult r;
    r.previousModel = previousModelId;
    if (config) {
        r.config = *config;
    } else {
        auto recorded = recordedTrainConfig(db, previousModelId);
        if (!recorded.ok())
            return recorded.status();
        r.config = *recorded;
    }
    auto before = db.epochs(previousModelId);
    if (!before.ok())
        return before.status();
    if (!before->empty())
        r.previousTestAccuracy = before->back().testAccuracy;
    auto history = db.labelHistory();
    if (!history.ok())
        return history.status();
    for (const auto &c : *history)
        if (c.timeMs >= previous->createdMs)
            ++r.labelChangesSince;

    const std::string modelName = name.empty() ? previous->name + "-retrained" : name;
    auto id = trainProjectModel(db, r.config, modelName, progress, cancel);
    if (!id.ok())
        return id.status();
    r.newModel = *id;
    TL_RETURN_IF_ERROR(recordTrainConfig(db, r.newModel, r.config));
    auto after = db.epochs(r.newModel);
    if (!after.ok())
        return after.status();
    if (!after->empty())
        r.newTestAccuracy = after->back().testAccuracy;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return r;
}

} // namespace traclens
