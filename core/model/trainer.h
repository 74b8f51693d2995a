#pragma once
// Trains a built-in network, saving a checkpoint every `checkpointEvery` epochs with
// the learning rate in force, and writing a traclens-model/1 directory.
//
// Two networks (TrainConfig::network):
//  - "builtin-cnn" (the default, width w): conv3×3(C→w) ReLU maxpool2 → conv3×3(w→2w)
//    ReLU maxpool2 → flatten → linear(→ embeddingDim) ReLU → fc(embeddingDim → K), trained
//    with plain SGD (no momentum, so TracIn's first-order account of training holds).
//  - "builtin-vgg": the batch-norm network with two convolutions per block (VGG-style,
//    about 4× its multiply-adds), the same recipe. The strongest and slowest.
//  - "builtin-bn-cnn" (width w, default 32): three blocks conv3×3 batch-norm ReLU maxpool2
//    of w, 2w, 4w channels → dropout → linear(→ embeddingDim, default 256) ReLU → dropout
//    → fc, trained with Nesterov momentum 0.9, weight decay 5e-4, batch 128 and random
//    shifts of up to 2 pixels (useBatchNormNetwork). About 7× the multiply-adds of the
//    small CNN and several times its training time; on Fashion-MNIST's full split its
//    cross-validated scores find more of the wrong labels (docs/evaluation/README.md).
//    With momentum a checkpoint's learning_rate is the rate the optimizer was given; the
//    step it took is that rate over (1 − momentum) in the steady state, the same factor
//    for every checkpoint, so TracIn's ranking is unchanged.
// The embedding h is the (eval-mode) ReLU output feeding fc.
//
// The first convolution runs through ATen's im2col kernel rather than oneDNN (much
// faster for 1–3 input channels in Debian's LibTorch); see builtincnn.h.
//
// Reproducibility: the same data, config and thread count give bit-identical
// checkpoints. Weights are initialised from LibTorch's global generator after
// torch::manual_seed(seed), so do not draw random numbers from LibTorch on another
// thread while training starts; the shuffle uses its own generator.
//
// How many epochs: a fixed count (`TrainConfig::epochs`), or — adaptive training, the
// default of `traclens-cli train`, `demo` and the app's Train Model — until held-out
// accuracy stops improving, in two phases:
//  1. the validation run: a seeded validation part of the training split (10 %, at least
//     min(100, a fifth), at most 5 000 examples) is held out; the rest is trained epoch by
//     epoch with the step schedule, and the validation accuracy measured
//     after each. The rule reads the curve smoothed over the last `smoothing` epochs. It
//     stops when `patience` epochs in a row have not beaten the best by `minDelta`
//     (plateau; a longer wait on a validation part under `patienceReference` examples, see
//     adaptivePatience()), at its epoch limit (adaptiveMaxEpochs()), or when the time budget has no room for
//     another validation epoch plus the scored run. A plateau is judged against the best
//     epoch so far, each later improvement having to beat it by `minDelta`; the chosen
//     count E is the epoch of the highest smoothed validation accuracy (raised to
//     `minEpochs` where the budget allows). No checkpoint is kept.
//  2. the scored run: the whole training split, validation part included, is trained for
//     E epochs under `schedule` (the cosine anneals over those E) from the same initial
//     weights and shuffle as `epochs = E` in the fixed mode would use (identical
//     checkpoints). Every training example is trained on
//     equally often, so self-influence, loss and margin compare across all of them; the
//     validation part is only ever held out from the run that picks E. The cost is the
//     validation run's epochs on top (docs/adaptive-training.md measures it).
// The time budget covers both phases (and time spent before an interruption).
// How the training stopped and the validation curve go into "training.json" beside the
// checkpoints (trainingrecord.h) and into TrainOutcome::record.
//
// Thread safety: trainBuiltinCnn() may run on any thread; it uses LibTorch's
// intra-op pool (see ModelRunner::setThreads).
// Failure: returns Status::cancelled() when *cancel becomes true (checked between
// batches; checkpoints already written stay valid and are listed in the directory's
// manifest; a run cancelled before its first checkpoint leaves no manifest). Bad
// data or config is InvalidArgument before any work; I/O errors name the file; a
// diverging run (non-finite loss) stops with a message suggesting a lower rate.

#include "data/imagedecoder.h"
#include "model/modelspec.h"
#include "util/status.h"
#include "model/trainingrecord.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace traclens {

// Images already decoded to 8-bit at the model's input size: n × channels × height × width.
struct TrainData {
    InputSpec input;            // size, channels, mean, std
    std::vector<uint8_t> pixels;
    std::vector<int> labels;    // n labels in [0, K)
    int64_t count() const { return int64_t(labels.size()); }
};

// The adaptive mode's settings (see the top of this file). Defaults measured in
// docs/adaptive-training.md.
struct AdaptiveTraining {
    bool enabled = false;
    double validationFraction = 0.1;
    int64_t minValidation = 100;     // but never more than a fifth of the split
    int64_t maxValidation = 5000;
    int patience = 4;                // epochs without an improvement of minDelta (one lrDecayEvery step)
                                     // on a validation part of patienceReference or more examples
    int64_t patienceReference = 1000; // a smaller part waits longer: patience·√(reference / n),
                                     // rounded up (0: never longer); its epoch limit and the
                                     // validation run's decay period grow alike
    int smoothing = 3;               // the rule reads the mean accuracy of the last `smoothing`
                                     // epochs (1: each epoch's own)
    double minDelta = 0.005;         // validation accuracy, absolute (0.5 points)
    int minEpochs = 3;               // the scored run's floor (flagging.h: kMinEpochs)
    int maxEpochs = 0;               // the validation run's limit; 0: automatic (adaptiveMaxEpochs)
    double timeBudgetSeconds = 0.0;  // both phases; 0 = no budget
};

// The validation part adaptive training holds out of a split of n examples (the top of
// this file), and the patience in force on it: `patience`, or on a part smaller than
// `patienceReference` patience·√(patienceReference / part), rounded up. Accuracy on a small
// part moves by several points between epochs by chance (a standard error of 3.5 points on
// 100 examples at 85 %), so a chance high would otherwise end a run that is still learning;
// the wait grows as that noise does (docs/adaptive-training.md, "Small validation parts").
int64_t adaptiveValidationCount(int64_t n, const AdaptiveTraining &a);
int adaptivePatience(int64_t validationCount, const AdaptiveTraining &a);

// The validation run's epoch limit: `maxEpochs` when given (above 0), else automatic —
// kDefaultMaxEpochs, or on a part smaller than `patienceReference` kDefaultMaxEpochs·√(
// patienceReference / part), rounded up (64 at 100 held out). An epoch of a small data set is
// a few SGD steps, and 20 of them left the small sets of docs/adaptive-training.md ("Small
// validation parts") 3–4 points short of 40.
constexpr int kDefaultMaxEpochs = 20;
int adaptiveMaxEpochs(int64_t validationCount, const AdaptiveTraining &a);
// The same for the training split of n examples (its validation part).
int adaptiveMaxEpochsFor(int64_t n, const AdaptiveTraining &a);

// The fewest training examples adaptive training takes: fewer leave too few to hold out a
// validation part.
constexpr int64_t kMinAdaptiveTrainExamples = 50;

// The time budget of the product's adaptive default, minutes.
constexpr double kDefaultTimeBudgetMinutes = 60.0;

// How the learning rate falls over a run of E epochs (docs/adaptive-training.md, "The
// learning-rate schedule"). The rate is constant within an epoch, so every checkpoint's
// η is the one rate its epoch trained with, as TracIn's sum needs.
enum class LrSchedule {
    // learningRate · lrDecay^⌊(epoch−1)/lrDecayEvery⌋ (no decay when lrDecayEvery ≤ 0).
    Step,
    // learningRate · ½(1 + cos(π(epoch − ½)/E)): about η in the first epoch, about
    // η·(π/4E)² in the last (0.6 % of η at E = 10), so the final weights have settled
    // and retrainings differ less from seed to seed.
    Cosine,
};
const char *lrScheduleName(LrSchedule s);                 // "step", "cosine"
bool parseLrSchedule(const std::string &name, LrSchedule *out); // false for an unknown name

enum class BuiltinNetwork { Cnn, BnCnn, Vgg };
const char *builtinNetworkName(BuiltinNetwork n);              // "builtin-cnn", "builtin-bn-cnn", "builtin-vgg"
bool parseBuiltinNetwork(const std::string &name, BuiltinNetwork *out); // also "cnn", "bn-cnn", "vgg"

// Random transformations of each training image, drawn per image and epoch from the
// run's seed (so a resumed run sees the same ones). Never applied to validation, test or
// scored images.
enum class Augmentation {
    None,
    Shift,      // translate by up to ±2 pixels each way, filling with black (pixel value 0)
    ShiftFlip,  // the same, and mirror left–right half the time (for data where a mirrored
                // image keeps its class: clothes, animals; not digits or text)
};
const char *augmentationName(Augmentation a);                     // "none", "shift", "flip"
bool parseAugmentation(const std::string &name, Augmentation *out);

struct TrainConfig {
    BuiltinNetwork network = BuiltinNetwork::Cnn;
    int width = 16;
    int embeddingDim = 64;
    int epochs = 3;
    int batchSize = 64;
    double learningRate = 0.05;
    // The scored run's schedule. The adaptive mode's validation run always uses the step
    // schedule (its length is not known in advance), so lrDecay and lrDecayEvery set
    // that run's rates as well (lrDecayEvery scaled on a small validation part:
    // validationDecayEvery).
    LrSchedule schedule = LrSchedule::Cosine;
    double lrDecay = 0.5;         // step: multiply the rate by this every `lrDecayEvery` epochs
    int lrDecayEvery = 4;
    int checkpointEvery = 1;
    uint64_t seed = 1;
    // Continue an unfinished run: when `outDir` holds the resume state (train-state.json)
    // of a run with the same data and config, training goes on after its last complete
    // epoch instead of starting over. Otherwise (or when false) the run starts afresh.
    bool resume = false;
    // SGD's momentum (Nesterov when > 0) and L2 weight decay. With momentum the optimizer
    // has state, which the resume files keep beside the weights.
    double momentum = 0.0;
    double weightDecay = 0.0;
    Augmentation augmentation = Augmentation::None;
    // When enabled, `epochs` is ignored: the adaptive mode picks the count.
    AdaptiveTraining adaptive;

    // Switches to the batch-norm network with its measured recipe: width 32, embedding
    // 256, batch 128, momentum 0.9, weight decay 5e-4, shifts. Other fields stay.
    void useBatchNormNetwork() { useNetwork(BuiltinNetwork::BnCnn); }
    // Switches to `n` with its recipe: the plain defaults for the small CNN, the above for
    // the batch-norm and VGG-style networks. Fields a recipe does not set stay.
    void useNetwork(BuiltinNetwork n);
    // The small CNN with plain SGD and no augmentation: what every configuration was before
    // the other networks existed. Stored forms (fingerprints, recorded configs) add the
    // network fields only when this is false, so that older ones still read the same.
    bool isPlainRecipe() const
    {
        return network == BuiltinNetwork::Cnn && momentum == 0.0 && weightDecay == 0.0 &&
               augmentation == Augmentation::None;
    }

    // The configuration `train`, `demo` and Train Model use unless told a fixed epoch
    // count: adaptive, with a kDefaultTimeBudgetMinutes budget.
    static TrainConfig adaptiveDefault();
};

// The rate of epoch `epoch` (1-based) of a run of `epochs` epochs under config.schedule.
double learningRateForEpoch(const TrainConfig &config, int epoch, int epochs);
// The same under the step schedule whatever config.schedule says.
double stepRateForEpoch(const TrainConfig &config, int epoch);
// The adaptive validation run's decay period on a validation part of `validationCount`:
// lrDecayEvery, scaled on a small part as the patience is (adaptivePatience), so that the
// patience stays one step of the schedule — 13 epochs at 100 held out. With 4 there, the
// rate was 1/32 of the start by epoch 20 and the run could not see what a longer one
// gains (docs/adaptive-training.md, "Small validation parts").
int validationDecayEvery(int64_t validationCount, const TrainConfig &config);

struct EpochReport {
    int epoch = 0;                // 1-based
    double learningRate = 0.0;    // in force during this epoch
    double trainLoss = 0.0;
    double trainAccuracy = 0.0;
    double testLoss = -1.0;       // −1 when no test data was given
    double testAccuracy = -1.0;
    std::string checkpointFile;   // "" when no checkpoint was saved this epoch
    bool restored = false;        // read back from an interrupted run's state, not trained now
};

using TrainProgress = std::function<void(int epoch, int64_t seen, int64_t total, double runningLoss)>;

// Progress of a whole training, after every batch.
struct TrainProgressInfo {
    int phase = 0;                // 0 fixed mode; adaptive: 1 the validation run, 2 the scored run
    int epoch = 0;                // 1-based, within the phase
    int epochs = 0;               // the phase's epochs (the validation run: its limit)
    int64_t seen = 0, total = 0;  // examples of this epoch
    double runningLoss = 0.0;     // the epoch's mean loss so far
    // Examples trained so far in this call, and expected in all (an estimate for the
    // adaptive mode: the validation run ending at the earliest possible epoch, capped by
    // the budget). Both change only at epoch ends, so a rate measured on them holds.
    int64_t workDone = 0, workTotal = 0;
    double elapsedSeconds = 0.0;  // including time before an interruption
    double remainingSeconds = -1.0; // estimate from the measured rate; −1 before the first batch
};

struct TrainCallbacks {
    std::function<void(const TrainProgressInfo &)> progress;   // after every batch
    std::function<void(const EpochReport &)> onEpoch;          // each epoch of the scored run
    std::function<void(const ValidationPoint &)> onValidation; // each epoch of the validation run
};

struct TrainOutcome {
    std::vector<EpochReport> epochs; // the scored run (the checkpoints' epochs)
    TrainingRecord record;           // also written to <outDir>/training.json
};

// Trains on `train` (shuffled each epoch with `seed`), evaluates on `test` when it is
// non-empty (it must have the same InputSpec), writes checkpoints "ckpt-<epoch>.pt"
// (every `checkpointEvery` epochs, and always after the last epoch) and the manifest
// (classes given) into `outDir` (created if missing; a manifest already there is
// removed first, since this run overwrites its checkpoints). A checkpoint's
// learning_rate is the rate in force during the epoch that ended at it
// (learningRateForEpoch).
// `progress` is called after every batch with the epoch's running mean loss;
// `onEpoch` after each epoch trained in this call. Both run on the calling thread.
// In the adaptive mode the first overload reports the validation run's batches as well
// (epochs restart at 1 for the scored run); the second tells the phases apart.
//
// Crash safety and resume: after every epoch the directory gets, in this order, the
// checkpoint (if due) and manifest, the weights (the checkpoint itself, or
// "state-<epoch>.pt"), then "train-state.json" (epoch, reports, checkpoints and a
// fingerprint of data and config), each written to a temporary name and renamed. Plain
// SGD has no optimizer state, the rate is a function of the epoch and the shuffle of
// epoch e depends only on (seed, e), so weights + epoch are the whole state: a run
// resumed with `config.resume` gives the same checkpoints as an uninterrupted one (with
// the same thread count). A finished run removes its resume state. The adaptive mode's
// state also holds the phase, the validation curve, the chosen count and the time spent;
// its plateau and epoch-limit decisions replay identically, a time-budget decision
// depends on the clock (a resumed run keeps a decision already recorded).
// Adaptive training of fewer than kMinAdaptiveTrainExamples is InvalidArgument (too few to
// hold out).
Result<std::vector<EpochReport>> trainBuiltinCnn(const TrainData &train, const TrainData &test,
                                                 const std::vector<std::string> &classes,
                                                 const TrainConfig &config, const std::string &outDir,
                                                 const TrainProgress &progress,
                                                 const std::function<void(const EpochReport &)> &onEpoch,
                                                 const std::atomic<bool> *cancel);

Result<TrainOutcome> trainBuiltinCnn(const TrainData &train, const TrainData &test,
                                     const std::vector<std::string> &classes, const TrainConfig &config,
                                     const std::string &outDir, const TrainCallbacks &callbacks,
                                     const std::atomic<bool> *cancel);

} // namespace traclens
