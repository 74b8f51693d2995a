#include "model/crossvalidation.h"

#include "store/factors.h"
#include "data/imagedecoder.h"
#include "model/modelrunner.h"
#include "model/modelspec.h"
#include "model/trainjob.h"

#include <QCryptographicHash>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>

namespace fs = std::filesystem;

namespace traclens {

namespace {

constexpr const char *kStage = "cross-validate";
// Written beside a fold's checkpoints once its training has finished, with the fold
// models' fingerprint (the run's without its scoring options): a rerun that died between
// training and storing the terms, or one that changes only how the folds are scored,
// scores the trained model instead of training it again.
constexpr const char *kFoldMarker = "crossval-fold.json";

std::string number(double v)
{
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

// A uniform draw in [0, bound) from the engine's raw output (rejection sampling), so the
// shuffle is the same with every standard library, unlike std::shuffle.
uint64_t draw(std::mt19937_64 &rng, uint64_t bound)
{
    const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % bound;
    uint64_t v;
    do
        v = rng();
    while (v >= limit);
    return v % bound;
}

std::string fingerprintOf(const CrossValidationConfig &config, const std::vector<int64_t> &ids,
                          const std::vector<int> &labels)
{
    QCryptographicHash hash(QCryptographicHash::Sha256);
    const std::string json = config.toJson();
    hash.addData(QByteArrayView(json.data(), qsizetype(json.size())));
    for (size_t i = 0; i < ids.size(); ++i) {
        const int64_t pair[2] = {ids[i], int64_t(labels[i])};
        hash.addData(QByteArrayView(reinterpret_cast<const char *>(pair), sizeof pair));
    }
    return hash.result().toHex().toStdString();
}

// The checkpoints a fixed-epoch training writes: every `checkpointEvery` epochs and
// after the last (trainer.h).
int checkpointCount(const TrainConfig &c)
{
    int n = 0;
    for (int e = 1; e <= c.epochs; ++e)
        if ((c.checkpointEvery > 0 && e % c.checkpointEvery == 0) || e == c.epochs)
            ++n;
    return n;
}

std::string readSmallFile(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return {};
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.size() > 4096 ? std::string() : text;
}

Status writeSmallFile(const fs::path &path, const std::string &text)
{
    const fs::path tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out.flush())
            return Status::ioError(tmp.string() + ": cannot write");
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec)
        return Status::ioError(path.string() + ": cannot write: " + ec.message());
    return Status::ok();
}

// The input shape and normalisation trainProjectModel uses: the first image's channel
// count and size (capped at 64), per-channel mean and standard deviation of all training
// pixels. Pixel statistics carry no label, so sharing them across folds leaks nothing a
// held-out label could influence, and every fold model reads images alike.
Result<InputSpec> inputSpecFor(const DatasetInfo &info, const ExampleRow &first)
{
    ImageStore store(info.kind, info.root);
    auto image = store.load(first.source);
    if (!image.ok())
        return image.status();
    InputSpec spec;
    spec.channels = image->channels() == 1 ? 1 : 3;
    spec.height = std::min(64, image->rows);
    spec.width = std::min(64, image->cols);
    return spec;
}


// The epoch count an adaptive run's fold 1 chose, once that fold is stored: from its
// training record, else (the fold's folder gone) from its stored schedule when every epoch
// has a checkpoint. 0 while fold 1 still has to train (or finish storing), which settles it.
Result<int> chosenFoldEpochs(const fs::path &root, bool firstFinished,
                             const std::vector<std::pair<int, std::vector<double>>> &stored, const TrainConfig &tc)
{
    if (!firstFinished)
        return 0;
    const fs::path dir = root / "fold-0";
    auto record = readTrainingRecord(dir.string());
    if (record.ok() && record->epochs >= 1)
        return record->epochs;
    for (const auto &f : stored)
        if (f.first == 0 && tc.checkpointEvery == 1 && !f.second.empty())
            return int(f.second.size());
    return Status::corruption((dir / kTrainingRecordName).string()
                              + ": cannot read the epoch count fold 1 of the adaptive cross-validation chose; "
                                "run the cross-validation again with a fixed --epochs");
}

// Runs every checkpoint of the fold model in `dir` on the held-out rows of `all`
// (8-bit pixels, converted exactly as the trainer converts them) and appends their terms.
// `mirrored`: each image is also run mirrored left–right, as the trainer's ShiftFlip
// augmentation mirrors it, and the probabilities are the mean of the two views'.
Status scoreFold(const std::string &dir, const TrainData &all, const std::vector<size_t> &heldOut,
                 const std::vector<int64_t> &ids, int fold, bool mirrored, int expectedCheckpoints,
                 const std::function<void(int)> &onBatch,
                 const std::function<void(int)> &onCheckpoint, const CancelFlag *cancel,
                 std::vector<CrossValidationTermRow> *rows, std::vector<double> *learningRates)
{
    auto spec = readModelSpec(dir);
    if (!spec.ok())
        return spec.status();
    if (int(spec->checkpoints.size()) != expectedCheckpoints)
        return Status::internal(dir + ": the fold model has " + std::to_string(spec->checkpoints.size())
                                + " checkpoints, expected " + std::to_string(expectedCheckpoints));
    const InputSpec &in = all.input;
    const size_t per = in.floatsPerImage();
    const size_t plane = size_t(in.height) * in.width;
    // The trainer's conversion, (v/255 − mean)/std per channel, as a table.
    std::vector<float> table(size_t(in.channels) * 256);
    for (int c = 0; c < in.channels; ++c)
        for (int v = 0; v < 256; ++v)
            table[size_t(c) * 256 + size_t(v)] = (float(v) / 255.0f - in.mean[size_t(c)]) / in.std[size_t(c)];
    constexpr size_t kBatch = 256;
    std::vector<float> input;
    std::vector<float> flipped;
    std::vector<float> error;
    std::vector<float> mirrorProbs;
    BatchOutput out;
    BatchOutput mirrorOut;
    for (size_t c = 0; c < spec->checkpoints.size(); ++c) {
        onCheckpoint(int(c));
        learningRates->push_back(spec->checkpoints[c].learningRate);
        auto runner = ModelRunner::load(*spec, c);
        if (!runner.ok())
            return runner.status();
        for (size_t start = 0; start < heldOut.size(); start += kBatch) {
            if (isCancelled(cancel))
                return Status::cancelled("cross-validation cancelled; finished folds are kept");
            const size_t n = std::min(kBatch, heldOut.size() - start);
            input.resize(n * per);
            for (size_t i = 0; i < n; ++i) {
                const uint8_t *src = all.pixels.data() + heldOut[start + i] * per;
                float *dst = input.data() + i * per;
                for (size_t j = 0; j < per; ++j)
                    dst[j] = table[(j / plane) * 256 + src[j]];
            }
            TL_RETURN_IF_ERROR((*runner)->run(input.data(), int(n), &out));
            if (mirrored) {
                flipped.resize(input.size());
                const size_t w = size_t(in.width);
                for (size_t row = 0; row < input.size(); row += w)
                    std::reverse_copy(input.begin() + std::ptrdiff_t(row), input.begin() + std::ptrdiff_t(row + w),
                                      flipped.begin() + std::ptrdiff_t(row));
                TL_RETURN_IF_ERROR((*runner)->run(flipped.data(), int(n), &mirrorOut));
            }
            const int k = out.numClasses;
            error.resize(size_t(k));
            mirrorProbs.resize(size_t(k));
            for (size_t i = 0; i < n; ++i) {
                CrossValidationTermRow row;
                row.exampleId = ids[heldOut[start + i]];
                row.checkpoint = int(c);
                row.fold = fold;
                row.probs.resize(size_t(k));
                float loss = 0.0f;
                // The label only shapes e and the loss, which are not kept.
                computeFactorRow(out.logits.data() + i * size_t(k), k, 0, row.probs.data(), error.data(), &loss);
                if (mirrored) {
                    computeFactorRow(mirrorOut.logits.data() + i * size_t(k), k, 0, mirrorProbs.data(), error.data(),
                                     &loss);
                    for (int j = 0; j < k; ++j)
                        row.probs[size_t(j)] = 0.5f * (row.probs[size_t(j)] + mirrorProbs[size_t(j)]);
                }
                const float *h = out.embeddings.data() + i * size_t(out.embeddingDim);
                double norm = 0.0;
                for (int d = 0; d < out.embeddingDim; ++d)
                    norm += double(h[d]) * h[d];
                row.featureNorm = float(norm);
                rows->push_back(std::move(row));
            }
            onBatch(int(n));
        }
    }
    return Status::ok();
}

} // namespace

namespace {
// How toJson() records mirrored views, and how a stored run is recognised by them.
constexpr const char *kMirroredViewsJson = ",\"views\":\"mirrored\"";
} // namespace

std::string CrossValidationConfig::toJson() const
{
    const TrainConfig &t = train;
    std::ostringstream o;
    o << "{\"folds\":" << folds << ",\"seed\":" << seed << ",\"train\":{\"width\":" << t.width
      << ",\"embedding_dim\":" << t.embeddingDim << ",\"epochs\":" << t.epochs << ",\"batch\":" << t.batchSize
      << ",\"lr\":" << number(t.learningRate) << ",\"lr_decay\":" << number(t.lrDecay)
      << ",\"lr_decay_every\":" << t.lrDecayEvery << ",\"checkpoint_every\":" << t.checkpointEvery
      << ",\"seed\":" << t.seed;
    // Only when not the step schedule, so that a run started before schedules existed
    // still resumes.
    if (t.schedule != LrSchedule::Step)
        o << ",\"lr_schedule\":\"" << lrScheduleName(t.schedule) << '"';
    // Likewise only for the batch-norm network or a non-plain recipe.
    if (!t.isPlainRecipe())
        o << ",\"network\":\"" << builtinNetworkName(t.network) << "\",\"momentum\":" << number(t.momentum)
          << ",\"weight_decay\":" << number(t.weightDecay) << ",\"augmentation\":\""
          << augmentationName(t.augmentation) << '"';
    // And the adaptive choice of the epoch count, only when asked for.
    if (t.adaptive.enabled) {
        const AdaptiveTraining &a = t.adaptive;
        o << ",\"adaptive\":{\"validation_fraction\":" << number(a.validationFraction)
          << ",\"min_validation\":" << a.minValidation << ",\"max_validation\":" << a.maxValidation
          << ",\"patience\":" << a.patience << ",\"min_delta\":" << number(a.minDelta)
          << ",\"min_epochs\":" << a.minEpochs << ",\"max_epochs\":" << a.maxEpochs
          << ",\"time_budget\":" << number(a.timeBudgetSeconds) << '}';
    }
    o << '}';
    // Only when on, so that a run made before mirrored views existed still resumes.
    if (mirroredViews)
        o << kMirroredViewsJson;
    o << '}';
    return o.str();
}

bool scoredMirroredViews(const CrossValidationRunRow &run)
{
    // toJson() writes the member last and only when on; nothing else in it has this text.
    return run.configJson.find(kMirroredViewsJson) != std::string::npos;
}

bool mirroredViewsByDefault(const TrainConfig &train)
{
    // Decided by the paired test written down before it was run (docs/evaluation/README.md,
    // "Mirrored views"): on two full-split vgg seeds trained with mirroring, the default queue
    // found +6 flips at 10 % and +14 over the five budgets with mirrored views. For models
    // trained without mirroring they cost flips (a model that never saw a mirrored image is
    // less sure of it), so only a ShiftFlip training gets them.
    return train.augmentation == Augmentation::ShiftFlip;
}

const char *outOfSampleScoreName(OutOfSampleScore kind)
{
    switch (kind) {
    case OutOfSampleScore::SelfConfidence: return "cv-self-confidence";
    case OutOfSampleScore::Margin: return "cv-margin";
    case OutOfSampleScore::SelfInfluence: return "cv-self-influence";
    case OutOfSampleScore::NoiseRate: return "cv-noise-rate";
    case OutOfSampleScore::Boundary: return "cv-boundary";
    }
    return "cv-self-confidence";
}

bool parseOutOfSampleScore(const std::string &name, OutOfSampleScore *kind)
{
    for (OutOfSampleScore k : {OutOfSampleScore::SelfConfidence, OutOfSampleScore::Margin,
                               OutOfSampleScore::SelfInfluence, OutOfSampleScore::NoiseRate,
                               OutOfSampleScore::Boundary}) {
        const std::string full = outOfSampleScoreName(k);
        if (name == full || name == full.substr(3)) {
            *kind = k;
            return true;
        }
    }
    return false;
}

std::vector<int> assignFolds(const std::vector<int64_t> &ids, const std::vector<int> &labels, int folds,
                             uint64_t seed)
{
    if (folds < 1 || ids.size() != labels.size())
        return {};
    // Positions grouped by label (ascending), each class in id order.
    std::vector<size_t> order(ids.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return labels[a] != labels[b] ? labels[a] < labels[b] : ids[a] < ids[b];
    });
    std::mt19937_64 rng(seed);
    std::vector<int> fold(ids.size(), 0);
    size_t dealt = 0;
    for (size_t begin = 0; begin < order.size();) {
        size_t end = begin;
        while (end < order.size() && labels[order[end]] == labels[order[begin]])
            ++end;
        for (size_t i = end - begin; i > 1; --i)
            std::swap(order[begin + i - 1], order[begin + draw(rng, i)]);
        // Dealing continues where the previous class stopped, so the fold sizes stay
        // within one of each other, not only the per-class counts.
        for (size_t j = begin; j < end; ++j)
            fold[order[j]] = int(dealt++ % size_t(folds));
        begin = end;
    }
    return fold;
}

int defaultCrossValidationEpochs(ProjectDb &db)
{
    auto active = db.activeModel();
    if (!active.ok() || !active->has_value())
        return 0;
    auto record = storedTrainingRecord(db, **active);
    if (!record.ok() || !record->has_value() || (*record)->epochs < 1)
        return 0;
    return (*record)->epochs;
}

TrainConfig defaultCrossValidationTrainConfig(ProjectDb &db)
{
    TrainConfig c;
    c.epochs = defaultCrossValidationEpochs(db);
    if (c.epochs == 0) {
        c.epochs = kProvisionalCrossValidationEpochs;
        c.adaptive.enabled = true;
        return c;
    }
    auto active = db.activeModel();
    if (!active.ok() || !active->has_value())
        return c;
    auto record = storedTrainingRecord(db, **active);
    if (!record.ok() || !record->has_value())
        return c;
    BuiltinNetwork network = BuiltinNetwork::Cnn;
    if (parseBuiltinNetwork((*record)->network, &network))
        c.useNetwork(network);
    Augmentation augmentation = c.augmentation;
    if (parseAugmentation((*record)->augmentation, &augmentation))
        c.augmentation = augmentation;
    return c;
}

std::string crossValidationDirectory(const ProjectDb &db)
{
    return (fs::path(db.sideDirectory()) / "crossval").string();
}

std::optional<TrainingRecord> adaptiveFoldRecord(const ProjectDb &db)
{
    auto record = readTrainingRecord((fs::path(crossValidationDirectory(db)) / "fold-0").string());
    if (!record.ok() || !record->adaptive)
        return std::nullopt;
    return *record;
}

Status runCrossValidation(ProjectDb &db, const CrossValidationConfig &config, const ProgressFn &progress,
                          const CancelFlag *cancel)
{
    if (config.folds < 2)
        return Status::invalid("cross-validation needs at least 2 folds, not " + std::to_string(config.folds));
    const TrainConfig &tc = config.train;
    if (tc.epochs < 1 || tc.width < 1 || tc.embeddingDim < 1 || tc.batchSize < 1 || !(tc.learningRate > 0.0)
        || tc.checkpointEvery < 1)
        return Status::invalid("cross-validation: epochs, width, embedding size, batch size and checkpoint interval "
                               "must be positive and the learning rate above 0");
    if (db.isReadOnly())
        return Status::invalid(db.path() + ": the project is open read-only; cross-validation writes to it");
    auto info = db.dataset();
    if (!info.ok())
        return info.status();
    if (!info->has_value())
        return Status::invalid(db.path() + ": the project has no dataset; import one first");
    const std::vector<std::string> &classes = (*info)->classes;
    if (classes.size() < 2)
        return Status::invalid(db.path() + ": cross-validation needs at least two classes; the dataset has "
                               + std::to_string(classes.size()));
    auto train = db.examples(Split::Train);
    if (!train.ok())
        return train.status();
    const size_t n = train->size();
    if (n < size_t(config.folds))
        return Status::invalid(db.path() + ": " + std::to_string(config.folds) + " folds need at least as many "
                               "training examples; the dataset has " + std::to_string(n));
    std::vector<int64_t> ids(n);
    std::vector<int> labels(n);
    for (size_t i = 0; i < n; ++i) {
        ids[i] = (*train)[i].id;
        labels[i] = (*train)[i].currentLabel;
    }

    // The whole run's fingerprint decides between resuming and starting afresh; the fold
    // models' (the configuration without its scoring options) whether a trained fold model
    // can be scored as it is. The two are equal without mirrored views, as they were
    // before those existed, so older fold models stay usable.
    const std::string fingerprint = fingerprintOf(config, ids, labels);
    CrossValidationConfig trainingPart = config;
    trainingPart.mirroredViews = false;
    const std::string foldFingerprint = fingerprintOf(trainingPart, ids, labels);
    auto stored = db.crossValidationRun();
    if (!stored.ok())
        return stored.status();
    const fs::path root = crossValidationDirectory(db);
    int64_t runId = 0;
    if (stored->has_value() && (*stored)->fingerprint == fingerprint) {
        runId = (*stored)->id;
    } else {
        // Only the folder this job makes; the rows of the old run go with the new one's start.
        // Fold models trained to the end for the same training part are kept (a changed
        // scoring option): scoring them again takes minutes, training them hours.
        std::error_code ec;
        std::vector<fs::path> stale;
        for (const auto &entry : fs::directory_iterator(root, ec)) {
            const fs::path &p = entry.path();
            const bool reusable = p.filename().string().rfind("fold-", 0) == 0 && entry.is_directory()
                                  && readSmallFile(p / kFoldMarker) == foldFingerprint;
            if (!reusable)
                stale.push_back(p);
        }
        if (ec && ec != std::errc::no_such_file_or_directory)
            return Status::ioError(root.string() + ": cannot read the previous cross-validation: " + ec.message());
        for (const fs::path &p : stale) {
            fs::remove_all(p, ec);
            if (ec)
                return Status::ioError(p.string() + ": cannot remove the previous cross-validation: " + ec.message());
        }
        CrossValidationRunRow row;
        row.folds = config.folds;
        row.configJson = config.toJson();
        row.fingerprint = fingerprint;
        auto id = db.startCrossValidationRun(row);
        if (!id.ok())
            return id.status();
        runId = *id;
    }
    auto finishedFolds = db.crossValidationFolds(runId);
    if (!finishedFolds.ok())
        return finishedFolds.status();
    std::vector<bool> finished(size_t(config.folds), false);
    for (const auto &f : *finishedFolds)
        if (f.first >= 0 && f.first < config.folds)
            finished[size_t(f.first)] = true;

    const std::vector<int> fold = assignFolds(ids, labels, config.folds, config.seed);
    std::vector<std::vector<size_t>> heldOut(size_t(config.folds));
    for (size_t i = 0; i < n; ++i)
        heldOut[size_t(fold[i])].push_back(i);

    // Adaptive: fold 1 trains until held-out accuracy stops improving (trainer.h) and the
    // count it settles on is every fold's, so the folds share one schedule, as the
    // out-of-sample self-influence needs. Its count is known once it has trained; until
    // then the totals below assume the caller's `epochs`.
    TrainConfig foldConfig = tc;
    foldConfig.adaptive.enabled = false;
    // Too few examples for fold 1 to hold out a validation part: the caller's fixed count.
    bool chooseEpochs = tc.adaptive.enabled && int64_t(n - heldOut[0].size()) >= kMinAdaptiveTrainExamples;
    if (chooseEpochs) {
        auto chosen = chosenFoldEpochs(root, finished[0], *finishedFolds, tc);
        if (!chosen.ok())
            return chosen.status();
        if (*chosen > 0) {
            foldConfig.epochs = *chosen;
            chooseEpochs = false;
        }
    }
    int checkpoints = checkpointCount(foldConfig);
    auto totalWork = [&] {
        return int64_t(config.folds - 1) * int64_t(n) * foldConfig.epochs + int64_t(n) * checkpoints;
    };
    int64_t total = totalWork();
    int64_t done = 0;
    int64_t searchWork = 0; // examples trained by an adaptive fold 1's validation run
    for (int k = 0; k < config.folds; ++k)
        if (finished[size_t(k)])
            done += int64_t(n - heldOut[size_t(k)].size()) * foldConfig.epochs
                    + int64_t(heldOut[size_t(k)].size()) * checkpoints;
    if (std::all_of(finished.begin(), finished.end(), [](bool f) { return f; })) {
        if (progress)
            progress({kStage, "every fold finished", total, total});
        auto estimate = storedLabelNoiseEstimate(db); // a run from before the estimate was kept
        return estimate.ok() ? Status::ok() : estimate.status();
    }

    if (progress)
        progress({kStage, "reading images", done, total});
    auto spec = inputSpecFor(**info, train->front());
    if (!spec.ok())
        return spec.status();
    TrainData all;
    TL_RETURN_IF_ERROR(loadTrainData(db, *train, *spec, &all, {}, cancel));
    setPixelStatistics(&all);
    const size_t per = all.input.floatsPerImage();

    for (int k = 0; k < config.folds; ++k) {
        if (finished[size_t(k)])
            continue;
        if (isCancelled(cancel))
            return Status::cancelled("cross-validation cancelled; finished folds are kept");
        const std::string foldName = "fold " + std::to_string(k + 1) + " of " + std::to_string(config.folds);
        const std::vector<size_t> &out = heldOut[size_t(k)];
        TrainData part;
        part.input = all.input;
        part.pixels.reserve((n - out.size()) * per);
        for (size_t i = 0; i < n; ++i) {
            if (fold[i] == k)
                continue;
            part.pixels.insert(part.pixels.end(), all.pixels.begin() + std::ptrdiff_t(i * per),
                               all.pixels.begin() + std::ptrdiff_t((i + 1) * per));
            part.labels.push_back(all.labels[i]);
        }
        const fs::path dir = root / ("fold-" + std::to_string(k));
        const int64_t base = done;
        TrainConfig cfg = foldConfig;
        cfg.seed = tc.seed + uint64_t(k);
        cfg.resume = true;
        const bool adaptiveFold = chooseEpochs && k == 0;
        if (adaptiveFold)
            cfg.adaptive = tc.adaptive;
        // A fold trained to the end before the run stopped keeps its model.
        const bool trained = readSmallFile(dir / kFoldMarker) == foldFingerprint && readModelSpec(dir.string()).ok();
        if (!trained) {
            TrainData none;
            none.input = part.input;
            TrainCallbacks callbacks;
            callbacks.progress = [&](const TrainProgressInfo &p) {
                if (!progress)
                    return;
                if (adaptiveFold) {
                    // Its own estimate of its work stands for this fold's share of the run's
                    // until the count is known.
                    searchWork = p.workDone; // the epoch's examples so far included
                    progress({kStage,
                              foldName + (p.phase == 1 ? ": choosing the epoch count, epoch " : ": training epoch ")
                                  + std::to_string(p.epoch) + " of " + std::to_string(p.epochs),
                              base + searchWork, base + std::max<int64_t>(searchWork + 1, p.workTotal * config.folds)});
                } else
                    progress({kStage,
                              foldName + ": training epoch " + std::to_string(p.epoch) + " of "
                                  + std::to_string(p.epochs),
                              base + int64_t(p.epoch - 1) * part.count() + p.seen, total});
            };
            auto outcome = trainBuiltinCnn(part, none, classes, cfg, dir.string(), callbacks, cancel);
            if (!outcome.ok())
                return outcome.status().isCancelled()
                           ? Status::cancelled("cross-validation cancelled; finished folds are kept")
                           : outcome.status().withContext("cross-validation " + foldName);
            TL_RETURN_IF_ERROR(writeSmallFile(dir / kFoldMarker, foldFingerprint));
        }
        if (adaptiveFold) {
            auto record = readTrainingRecord(dir.string());
            if (!record.ok())
                return record.status().withContext("cross-validation " + foldName);
            if (record->epochs < 1)
                return Status::corruption((dir / kTrainingRecordName).string() + ": names no epoch count");
            foldConfig.epochs = record->epochs;
            cfg.epochs = record->epochs;
            chooseEpochs = false;
            checkpoints = checkpointCount(foldConfig);
            // The validation run's epochs join the total, so that done never goes back.
            searchWork = std::max<int64_t>(0, searchWork - part.count() * cfg.epochs);
            total = totalWork() + searchWork;
        }
        done = base + (adaptiveFold ? searchWork : 0) + part.count() * cfg.epochs;

        std::vector<CrossValidationTermRow> rows;
        rows.reserve(out.size() * size_t(checkpoints));
        std::vector<double> rates;
        int current = 0;
        TL_RETURN_IF_ERROR(scoreFold(
            dir.string(), all, out, ids, k, config.mirroredViews, checkpoints,
            [&](int scored) {
                done += scored;
                if (progress)
                    progress({kStage,
                              foldName + ": scoring checkpoint " + std::to_string(current + 1) + " of "
                                  + std::to_string(checkpoints),
                              done, total});
            },
            [&](int c) { current = c; }, cancel, &rows, &rates));
        TL_RETURN_IF_ERROR(db.writeCrossValidationFold(runId, k, rates, rows));
    }
    if (progress)
        progress({kStage, "every fold finished", total, total});
    // Made now, with the labels the folds were trained on, so the estimate that picks the
    // queue's default describes this run and not a later relabel.
    auto estimate = storedLabelNoiseEstimate(db);
    return estimate.ok() ? Status::ok() : estimate.status();
}

Result<OutOfSampleTerms> loadOutOfSampleTerms(ProjectDb &db)
{
    auto run = db.crossValidationRun();
    if (!run.ok())
        return run.status();
    if (!run->has_value())
        return Status::notFound(db.path() + ": no cross-validation yet; run 'traclens-cli crossvalidate' first");
    const CrossValidationRunRow &r = **run;
    auto folds = db.crossValidationFolds(r.id);
    if (!folds.ok())
        return folds.status();
    if (int(folds->size()) < r.folds)
        return Status::notFound(db.path() + ": the cross-validation is unfinished (" + std::to_string(folds->size())
                                + " of " + std::to_string(r.folds) + " folds); run 'traclens-cli crossvalidate' "
                                "again to finish it");
    OutOfSampleTerms terms;
    terms.learningRates = folds->front().second;
    for (const auto &f : *folds)
        if (f.second != terms.learningRates)
            return Status::corruption(db.path() + ": cross-validation fold " + std::to_string(f.first)
                                      + " has another learning-rate schedule than fold "
                                      + std::to_string(folds->front().first));
    const int c = terms.numCheckpoints();
    if (c < 1)
        return Status::corruption(db.path() + ": the cross-validation run lists no checkpoints");
    std::string problem;
    int expected = 0; // the next checkpoint of the current example
    Status read = db.forEachCrossValidationTerm(r.id, [&](const CrossValidationTermRow &t) {
        if (!problem.empty())
            return;
        auto where = [&] {
            return "cross-validation term (example " + std::to_string(t.exampleId) + ", checkpoint "
                   + std::to_string(t.checkpoint) + ")";
        };
        if (terms.numClasses == 0)
            terms.numClasses = int(t.probs.size());
        if (int(t.probs.size()) != terms.numClasses || terms.numClasses < 2) {
            problem = where() + " has " + std::to_string(t.probs.size()) + " probabilities, expected "
                      + std::to_string(terms.numClasses);
            return;
        }
        if (t.checkpoint == 0) {
            if (expected != 0) {
                problem = "cross-validation terms of example " + std::to_string(terms.ids.back()) + " stop at "
                          + std::to_string(expected) + " of " + std::to_string(c) + " checkpoints";
                return;
            }
            terms.ids.push_back(t.exampleId);
            terms.fold.push_back(t.fold);
        } else if (t.checkpoint != expected || terms.ids.empty() || terms.ids.back() != t.exampleId
                   || terms.fold.back() != t.fold) {
            problem = where() + " is out of sequence";
            return;
        }
        terms.probs.insert(terms.probs.end(), t.probs.begin(), t.probs.end());
        terms.featureNorm.push_back(t.featureNorm);
        expected = (t.checkpoint + 1) % c;
    });
    TL_RETURN_IF_ERROR(read);
    if (problem.empty() && expected != 0)
        problem = "cross-validation terms of example " + std::to_string(terms.ids.back()) + " stop at "
                  + std::to_string(expected) + " of " + std::to_string(c) + " checkpoints";
    if (!problem.empty())
        return Status::corruption(db.path() + ": " + problem);
    if (terms.ids.empty())
        return Status::notFound(db.path() + ": the cross-validation covers none of the current training examples");
    return terms;
}

namespace {

// Confident learning's prune-by-noise-rate as an order, and the boundary-first order of the
// same pruned set (the header gives both definitions). `p` holds the last checkpoint's
// out-of-sample probabilities of the covered examples (k per row), `y` their labels,
// `margin` their cv-margin scores.
std::vector<double> prunedSetScores(const std::vector<const float *> &p, const std::vector<int> &y,
                                    const std::vector<double> &margin, int k, bool boundaryFirst)
{
    const size_t n = p.size();
    const size_t K = size_t(k);
    // Per-class thresholds: the mean probability of class j among the examples labelled j.
    // A class nobody is labelled with has no threshold, so no example is counted into it.
    std::vector<double> threshold(K, 0.0);
    std::vector<int64_t> labelled(K, 0);
    for (size_t i = 0; i < n; ++i) {
        threshold[size_t(y[i])] += double(p[i][y[i]]);
        ++labelled[size_t(y[i])];
    }
    for (size_t j = 0; j < K; ++j)
        threshold[j] = labelled[j] > 0 ? threshold[j] / double(labelled[j]) : std::numeric_limits<double>::infinity();
    // The confident joint: an example counts into (its label, the most probable class whose
    // threshold it reaches).
    std::vector<double> joint(K * K, 0.0);
    for (size_t i = 0; i < n; ++i) {
        int best = -1;
        for (int j = 0; j < k; ++j)
            if (double(p[i][j]) >= threshold[size_t(j)] && (best < 0 || p[i][j] > p[i][best]))
                best = j;
        if (best >= 0)
            joint[size_t(y[i]) * K + size_t(best)] += 1.0;
    }
    // Calibrated: each row rescaled to the number of examples with that label.
    for (size_t i = 0; i < K; ++i) {
        double row = 0.0;
        for (size_t j = 0; j < K; ++j)
            row += joint[i * K + j];
        const double scale = double(labelled[i]) / std::max(row, 1.0);
        for (size_t j = 0; j < K; ++j)
            joint[i * K + j] *= scale;
    }
    // Each cell (i, j) with Q ≥ ½ ranks the examples labelled i by p[j] − p[i]; its first Q
    // are pruned. An example pruned by several cells belongs to the one where it ranks
    // highest relative to Q.
    std::vector<double> best(n, 0.0);
    std::vector<size_t> cellOf(n, 0);
    std::vector<std::vector<size_t>> byLabel(K);
    for (size_t i = 0; i < n; ++i)
        byLabel[size_t(y[i])].push_back(i);
    for (size_t i = 0; i < K; ++i) {
        for (size_t j = 0; j < K; ++j) {
            const double q = joint[i * K + j];
            if (j == i || q < 0.5)
                continue;
            // Most likely class j first; ties keep the ascending-id order (stable sort).
            std::vector<size_t> cell = byLabel[i];
            std::stable_sort(cell.begin(), cell.end(), [&](size_t a, size_t b) {
                return double(p[a][j]) - double(p[a][i]) > double(p[b][j]) - double(p[b][i]);
            });
            for (size_t r = 0; r < cell.size() && double(r + 1) <= q; ++r) {
                const double key = q / double(r + 1);
                if (key > best[cell[r]]) {
                    best[cell[r]] = key;
                    cellOf[cell[r]] = i * K + j;
                }
            }
        }
    }
    // Beyond the pruned set the cells' ranks say little (a cell's 2Q-th example is as often
    // clean as not), so the rest follows the out-of-sample margin.
    std::vector<double> scores(n);
    for (size_t i = 0; i < n; ++i)
        scores[i] = best[i] >= 1.0 ? best[i] : -(1.0 - margin[i]) / 2.0;
    if (!boundaryFirst)
        return scores;
    // Boundary first: within each cell its pruned examples by |margin|, smallest first, and
    // the cells interleaved in proportion to their size. A confidently contradicted label
    // is the cheapest find but moves the model least (it already overrules it); a wrong
    // label near the boundary between its two classes is what the model learned wrong
    // (docs/evaluation/README.md, "The cleaning loop").
    std::vector<std::vector<size_t>> members(K * K);
    for (size_t i = 0; i < n; ++i)
        if (best[i] >= 1.0)
            members[cellOf[i]].push_back(i);
    for (auto &cell : members) {
        std::stable_sort(cell.begin(), cell.end(),
                         [&](size_t a, size_t b) { return std::abs(margin[a]) < std::abs(margin[b]); });
        for (size_t r = 0; r < cell.size(); ++r)
            scores[cell[r]] = 1.0 + double(cell.size()) / double(r + 1);
    }
    return scores;
}

} // namespace

std::vector<double> outOfSampleScores(const OutOfSampleTerms &terms, const std::vector<int64_t> &ids,
                                      const std::vector<int> &labels, OutOfSampleScore kind, int window)
{
    const int k = terms.numClasses;
    const int c = terms.numCheckpoints();
    window = std::clamp(window, 1, std::max(c, 1));
    std::vector<double> mean(size_t(std::max(k, 0)));
    std::vector<double> scores(ids.size(), std::numeric_limits<double>::quiet_NaN());
    if (kind == OutOfSampleScore::NoiseRate || kind == OutOfSampleScore::Boundary) {
        // A whole-set score: gather the covered examples, score them together.
        const std::vector<double> margin = outOfSampleScores(terms, ids, labels, OutOfSampleScore::Margin);
        std::vector<size_t> at;
        std::vector<const float *> p;
        std::vector<int> y;
        std::vector<double> m;
        for (size_t i = 0; i < ids.size() && i < labels.size(); ++i) {
            if (std::isnan(margin[i]))
                continue;
            const auto it = std::lower_bound(terms.ids.begin(), terms.ids.end(), ids[i]);
            const size_t row = size_t(it - terms.ids.begin());
            at.push_back(i);
            p.push_back(terms.probs.data() + (row * size_t(c) + size_t(c - 1)) * size_t(k));
            y.push_back(labels[i]);
            m.push_back(margin[i]);
        }
        const std::vector<double> s = prunedSetScores(p, y, m, k, kind == OutOfSampleScore::Boundary);
        for (size_t r = 0; r < at.size(); ++r)
            scores[at[r]] = s[r];
        return scores;
    }
    for (size_t i = 0; i < ids.size() && i < labels.size(); ++i) {
        const auto it = std::lower_bound(terms.ids.begin(), terms.ids.end(), ids[i]);
        const int y = labels[i];
        if (it == terms.ids.end() || *it != ids[i] || y < 0 || y >= k || c < 1)
            continue;
        const size_t row = size_t(it - terms.ids.begin());
        if (kind == OutOfSampleScore::SelfConfidence || kind == OutOfSampleScore::Margin) {
            // Summed from the earliest checkpoint of the window to the last, in double, so a
            // window of 1 is the last checkpoint's probabilities exactly.
            std::fill(mean.begin(), mean.end(), 0.0);
            for (int cp = c - window; cp < c; ++cp) {
                const float *p = terms.probs.data() + (row * size_t(c) + size_t(cp)) * size_t(k);
                for (int j = 0; j < k; ++j)
                    mean[size_t(j)] += double(p[j]);
            }
            for (double &v : mean)
                v /= double(window);
        }
        switch (kind) {
        case OutOfSampleScore::SelfConfidence:
            scores[i] = 1.0 - mean[size_t(y)];
            break;
        case OutOfSampleScore::Margin: {
            double other = -std::numeric_limits<double>::infinity();
            for (int j = 0; j < k; ++j)
                if (j != y)
                    other = std::max(other, mean[size_t(j)]);
            scores[i] = -(mean[size_t(y)] - other);
            break;
        }
        case OutOfSampleScore::SelfInfluence: {
            double sum = 0.0;
            for (int cp = 0; cp < c; ++cp) {
                const float *p = terms.probs.data() + (row * size_t(c) + size_t(cp)) * size_t(k);
                double e2 = 0.0;
                for (int j = 0; j < k; ++j) {
                    const double e = double(p[j]) - (j == y ? 1.0 : 0.0);
                    e2 += e * e;
                }
                sum += terms.learningRates[size_t(cp)] * e2 * (double(terms.featureNorm[row * size_t(c) + size_t(cp)]) + 1.0);
            }
            scores[i] = sum;
            break;
        }
        case OutOfSampleScore::NoiseRate:
        case OutOfSampleScore::Boundary: break; // whole-set scores, above
        }
    }
    return scores;
}

namespace {

// The covered examples (terms and a label in range) whose most probable class at the last
// checkpoint is the label; their number in *covered when given.
int64_t countAgreeing(const OutOfSampleTerms &terms, const std::vector<int64_t> &ids, const std::vector<int> &labels,
                      int64_t *covered)
{
    const int k = terms.numClasses, cps = terms.numCheckpoints();
    int64_t seen = 0, agree = 0;
    for (size_t i = 0; i < ids.size() && i < labels.size(); ++i) {
        const auto it = std::lower_bound(terms.ids.begin(), terms.ids.end(), ids[i]);
        if (it == terms.ids.end() || *it != ids[i] || labels[i] < 0 || labels[i] >= k)
            continue;
        const size_t row = size_t(it - terms.ids.begin());
        const float *last = terms.probs.data() + (row * size_t(cps) + size_t(cps - 1)) * size_t(k);
        ++seen;
        agree += int(std::max_element(last, last + k) - last) == labels[i] ? 1 : 0;
    }
    if (covered)
        *covered = seen;
    return agree;
}

} // namespace

LabelNoiseEstimate estimateLabelNoise(const OutOfSampleTerms &terms, const std::vector<int64_t> &ids,
                                      const std::vector<int> &labels)
{
    LabelNoiseEstimate e;
    for (double score : outOfSampleScores(terms, ids, labels, OutOfSampleScore::NoiseRate)) {
        if (std::isnan(score))
            continue;
        ++e.covered;
        if (score >= 1.0)
            ++e.pruned;
    }
    e.agreeing = countAgreeing(terms, ids, labels, nullptr);
    return e;
}

double outOfFoldAgreement(const OutOfSampleTerms &terms, const std::vector<int64_t> &ids,
                          const std::vector<int> &labels)
{
    int64_t covered = 0;
    const int64_t agree = countAgreeing(terms, ids, labels, &covered);
    return covered > 0 ? double(agree) / double(covered) : std::numeric_limits<double>::quiet_NaN();
}


Result<LabelNoiseEstimate> storedLabelNoiseEstimate(ProjectDb &db)
{
    auto run = db.crossValidationRun();
    if (!run.ok())
        return run.status();
    if (!run->has_value())
        return Status::notFound(db.path() + ": no cross-validation yet; run 'traclens-cli crossvalidate' first");
    const int64_t runId = (*run)->id;
    auto stored = db.meta(kLabelNoiseMetaKey);
    if (!stored.ok())
        return stored.status();
    if (stored->has_value()) {
        // Run ids are never reused, so an entry naming this run is this run's estimate; one
        // naming another run (or not parsing) is replaced below.
        const QJsonObject o = QJsonDocument::fromJson(QByteArray::fromStdString(**stored)).object();
        if (o.value("run").toInteger(-1) == runId && o.value("covered").toInteger(0) > 0) {
            LabelNoiseEstimate e;
            e.pruned = o.value("pruned").toInteger();
            e.covered = o.value("covered").toInteger();
            e.agreeing = o.value("agreeing").toInteger(-1);
            if (e.agreeing > e.covered)
                e.agreeing = -1;
            if (e.pruned >= 0 && e.pruned <= e.covered)
                return e;
        }
    }
    auto terms = loadOutOfSampleTerms(db);
    if (!terms.ok())
        return terms.status();
    auto train = db.examples(Split::Train);
    if (!train.ok())
        return train.status();
    std::vector<int64_t> ids;
    std::vector<int> labels;
    ids.reserve(train->size());
    labels.reserve(train->size());
    for (const auto &e : *train) {
        ids.push_back(e.id);
        labels.push_back(e.currentLabel);
    }
    const LabelNoiseEstimate e = estimateLabelNoise(*terms, ids, labels);
    if (!db.isReadOnly()) {
        const QJsonObject o{{"run", qint64(runId)},
                            {"pruned", qint64(e.pruned)},
                            {"covered", qint64(e.covered)},
                            {"agreeing", qint64(e.agreeing)}};
        TL_RETURN_IF_ERROR(db.setMeta(kLabelNoiseMetaKey, QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString()));
    }
    return e;
}

} // namespace traclens
