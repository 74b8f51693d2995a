#pragma once
// Project-level model jobs: train the built-in CNN on the project's current labels,
// or register an imported traclens-model/1 directory.
//
// Thread safety: call from the thread that owns `db`.

#include "store/projectdb.h"
#include "model/trainer.h"

namespace traclens {

// Sets data->input's per-channel mean and standard deviation to those of all its pixels
// (the normalisation trainProjectModel gives the built-in CNN; the spread is floored at
// 1e-3). Pixels carry no label, so models trained on parts of a split may share them.
void setPixelStatistics(TrainData *data);

// Loads the training split (current labels) and the test split, trains into
// "<project>.d/models/<name>", and registers the model, its checkpoints and curves.
// Returns the new model id. `config.epochs`, the adaptive mode etc. as in trainer.h;
// input size 28×28 grey unless the dataset's first image says otherwise (then its size,
// capped at 64, and its channel count). Progress details name the phase, the epoch and
// the estimated time left. How the training stopped (trainingrecord.h) is recorded for
// the model (storedTrainingRecord).
Result<int64_t> trainProjectModel(ProjectDb &db, const TrainConfig &config, const std::string &name,
                                  const ProgressFn &progress = {}, const CancelFlag *cancel = nullptr);

struct ModelImportOptions {
    // Copy the manifest and the checkpoint files it lists (nothing else) into
    // "<project>.d/models/<name>" (a free name: "-2", "-3"… appended) and register the
    // copy, so the project keeps working when the original folder is moved or deleted.
    // The copy lies inside the project's side directory, so it runs without a trust
    // record (modeltrust.h), and it is registered with the content hashes the original
    // files had (a file whose copy hashes differently fails the import). Checkpoint files
    // outside the model directory ("../x.pt") cannot be copied and fail the import.
    bool copyIntoProject = false;
};

// How the model was trained, as recorded by trainProjectModel; nullopt for a model
// trained before the record existed, or imported.
Result<std::optional<TrainingRecord>> storedTrainingRecord(ProjectDb &db, int64_t modelId);
Status storeTrainingRecord(ProjectDb &db, int64_t modelId, const TrainingRecord &record);

// Validates every checkpoint of the directory (ModelRunner::load) and that its classes
// match the project's, then registers it with its checkpoints' identities
// (checkpointcheck.h). Importing is the user's choice of the directory, so it also records
// trust in it for this project (modeltrust.h). Returns the model id.
// With options.copyIntoProject the copy is validated and registered instead (see above);
// on failure the partial copy is removed and nothing is registered.
Result<int64_t> importModel(ProjectDb &db, const std::string &directory, const ProgressFn &progress = {},
                            const ModelImportOptions &options = {});

// Reads the pixels of the given examples, converted to the spec's size and channels,
// into `data` (labels: current labels). Used by training and evaluation.
Status loadTrainData(ProjectDb &db, const std::vector<ExampleRow> &examples, const InputSpec &spec,
                     TrainData *data, const ProgressFn &progress = {}, const CancelFlag *cancel = nullptr);

} // namespace traclens
