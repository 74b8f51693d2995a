#pragma once
// "Retrain with my corrections": after a person has fixed labels in the review queue,
// train a new built-in CNN on the project's current labels with the previous model's
// training configuration, make it the active model and say how test accuracy moved.
//
// The configuration of a model trained by TracLens is recorded in the project (meta
// "train_config:<model id>", written by recordTrainConfig). For a model trained before
// that record existed it is reconstructed from what the project does know: width and
// embedding size from the model's manifest, epochs, learning rate and its decay from the
// stored training curve; batch size and seed take their defaults.
//
// Thread safety: call from the thread that owns `db`; training uses LibTorch's pool.
// Failure: InvalidArgument when the previous model was not trained by TracLens (an
// imported TorchScript model has no configuration to repeat) unless a config is given;
// Cancelled as in trainProjectModel.

#include "util/progress.h"
#include "store/projectdb.h"
#include "model/trainer.h"

#include <QJsonObject>

#include <optional>

namespace traclens {

// The built-in CNN's configuration as the project's record, the evaluation's fingerprint and
// its report.json write it: width, embedding_dim, epochs, batch, learning_rate, lr_schedule,
// lr_decay, lr_decay_every, checkpoint_every, seed (a string: 64 bits). Reading fills what
// `o` lacks from `defaults`, except the schedule: a record without one was written before
// schedules existed and trained with the step schedule.
QJsonObject trainConfigToJson(const TrainConfig &config);
TrainConfig trainConfigFromJson(const QJsonObject &o, const TrainConfig &defaults);

Status recordTrainConfig(ProjectDb &db, int64_t modelId, const TrainConfig &config);
Result<TrainConfig> recordedTrainConfig(ProjectDb &db, int64_t modelId);

struct RetrainResult {
    int64_t previousModel = 0;
    int64_t newModel = 0;
    TrainConfig config;
    double previousTestAccuracy = -1.0; // −1 when the project has no test split
    double newTestAccuracy = -1.0;
    int64_t labelChangesSince = 0;      // label-history rows newer than the previous model
    double seconds = 0.0;
};

// Trains "<previous name>-retrained" (or `name` when given) on the current labels.
// `config` overrides the recorded configuration when given.
Result<RetrainResult> retrainWithCorrections(ProjectDb &db, int64_t previousModelId,
                                             const std::optional<TrainConfig> &config = std::nullopt,
                                             const std::string &name = {}, const ProgressFn &progress = {},
                                             const CancelFlag *cancel = nullptr);

} // namespace traclens
