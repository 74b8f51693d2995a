#pragma once
// How a built-in CNN was trained: a fixed number of epochs, or adaptive training that
// stopped on a validation plateau, on its time budget or at its epoch limit, with the
// validation accuracy curve that decided it. Written beside the checkpoints as
// "training.json" (trainer.h) and into the project (trainjob.h, meta "training:<model
// id>"), read by the under-training rule (flagging.h). docs/adaptive-training.md.
//
// Thread safety: values and pure functions. Failure: parseTrainingRecord returns
// InvalidArgument for text that is not a record; readTrainingRecord names the file.

#include "util/status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace traclens {

enum class TrainingStop {
    FixedEpochs,  // the fixed-epoch mode: as many epochs as asked for
    Plateau,      // validation accuracy stopped improving (patience exhausted)
    TimeBudget,   // the time budget left no room for another epoch
    MaxEpochs,    // the adaptive mode's epoch limit
};

// "fixed", "plateau", "budget", "max-epochs"; and back (unknown text → FixedEpochs).
const char *trainingStopName(TrainingStop stop);
TrainingStop trainingStopFromName(const std::string &name);

// One epoch of the adaptive mode's first phase (trained on the training split minus the
// validation part, measured on the validation part).
struct ValidationPoint {
    int epoch = 0;              // 1-based
    double accuracy = 0.0;      // on the validation part, against its (possibly noisy) labels
    double loss = 0.0;
    double trainAccuracy = 0.0; // on the rest, during the epoch
};

struct TrainingRecord {
    bool adaptive = false;
    TrainingStop stop = TrainingStop::FixedEpochs;
    int epochs = 0;             // epochs (and checkpoints' span) of the model that is scored
    int bestEpoch = 0;          // adaptive: the first-phase epoch whose count was chosen
    int maxEpochs = 0;          // adaptive: the limit in force
    int64_t trainCount = 0;     // the whole training split, all of it scored
    int64_t validationCount = 0;// adaptive: held out in the first phase only
    int patience = 0;           // adaptive: the patience in force on that part (0: not recorded)
    int smoothing = 1;          // adaptive: epochs averaged by the stopping rule
    double timeBudgetSeconds = 0.0; // 0 = none
    double searchSeconds = 0.0; // the first phase
    double seconds = 0.0;       // both phases (across interruptions)
    std::vector<ValidationPoint> validation;
    // Which built-in network and augmentation (trainer.h names; absent from records
    // written before the batch-norm network existed: the small CNN, none).
    std::string network = "builtin-cnn";
    std::string augmentation = "none";

    // How much validation accuracy rose per epoch at the end of the first phase: the last
    // point minus the one `smoothing` epochs before, divided by that many (fewer where the
    // curve is shorter); 0 with fewer than two points.
    double lastValidationGain() const;
    // One line for people, e.g. "adaptive: plateau at epoch 5 of the validation run
    // (validation accuracy 84.2 %), 5 epochs on the whole training split".
    std::string summary() const;
};

std::string trainingRecordToJson(const TrainingRecord &record);
Result<TrainingRecord> parseTrainingRecord(const std::string &json);
// <modelDir>/training.json; NotFound when the directory has none (older models,
// imported models).
Result<TrainingRecord> readTrainingRecord(const std::string &modelDir);
constexpr const char *kTrainingRecordName = "training.json";

} // namespace traclens
