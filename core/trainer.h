#pragma once
// Trains the built-in CNN with plain SGD (no momentum, so TracIn's first-order
// account of training holds), saving a checkpoint every `checkpointEvery` epochs with
// the learning rate in force, and writing a traclens-model/1 directory.
//
// Architecture ("builtin-cnn", width w): conv3×3(C→w) ReLU maxpool2 → conv3×3(w→2w)
// ReLU maxpool2 → flatten → linear(→ embeddingDim) ReLU → fc(embeddingDim → K).
// The embedding h is the ReLU output feeding fc.
//
// The first convolution runs through ATen's im2col kernel rather than oneDNN (much
// faster for 1–3 input channels in Debian's LibTorch); see builtincnn.h.
//
// Reproducibility: the same data, config and thread count give bit-identical
// checkpoints. Weights are initialised from LibTorch's global generator after
// torch::manual_seed(seed), so do not draw random numbers from LibTorch on another
// thread while training starts; the shuffle uses its own generator.
//
// Thread safety: trainBuiltinCnn() may run on any thread; it uses LibTorch's
// intra-op pool (see ModelRunner::setThreads).
// Failure: returns Status::cancelled() when *cancel becomes true (checked between
// batches; checkpoints already written stay valid and are listed in the directory's
// manifest; a run cancelled before its first checkpoint leaves no manifest). Bad
// data or config is InvalidArgument before any work; I/O errors name the file; a
// diverging run (non-finite loss) stops with a message suggesting a lower rate.

#include "imagedecoder.h"
#include "modelspec.h"
#include "status.h"

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

struct TrainConfig {
    int width = 16;
    int embeddingDim = 64;
    int epochs = 3;
    int batchSize = 64;
    double learningRate = 0.05;
    double lrDecay = 0.5;         // multiply the rate by this every `lrDecayEvery` epochs
    int lrDecayEvery = 2;
    int checkpointEvery = 1;
    uint64_t seed = 1;
    // Continue an unfinished run: when `outDir` holds the resume state (train-state.json)
    // of a run with the same data and config, training goes on after its last complete
    // epoch instead of starting over. Otherwise (or when false) the run starts afresh.
    bool resume = false;
};

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

// Trains on `train` (shuffled each epoch with `seed`), evaluates on `test` when it is
// non-empty (it must have the same InputSpec), writes checkpoints "ckpt-<epoch>.pt"
// (every `checkpointEvery` epochs, and always after the last epoch) and the manifest
// (classes given) into `outDir` (created if missing; a manifest already there is
// removed first, since this run overwrites its checkpoints). A checkpoint's
// learning_rate is the rate in force during the epoch that ended at it:
// learningRate · lrDecay^⌊(epoch−1)/lrDecayEvery⌋ (no decay when lrDecayEvery ≤ 0).
// `progress` is called after every batch with the epoch's running mean loss;
// `onEpoch` after each epoch trained in this call. Both run on the calling thread.
//
// Crash safety and resume: after every epoch the directory gets, in this order, the
// checkpoint (if due) and manifest, the weights (the checkpoint itself, or
// "state-<epoch>.pt"), then "train-state.json" (epoch, reports, checkpoints and a
// fingerprint of data and config), each written to a temporary name and renamed. Plain
// SGD has no optimizer state, the rate is a function of the epoch and the shuffle of
// epoch e depends only on (seed, e), so weights + epoch are the whole state: a run
// resumed with `config.resume` gives the same checkpoints as an uninterrupted one (with
// the same thread count). A finished run removes its resume state.
Result<std::vector<EpochReport>> trainBuiltinCnn(const TrainData &train, const TrainData &test,
                                                 const std::vector<std::string> &classes,
                                                 const TrainConfig &config, const std::string &outDir,
                                                 const TrainProgress &progress,
                                                 const std::function<void(const EpochReport &)> &onEpoch,
                                                 const std::atomic<bool> *cancel);

} // namespace traclens
