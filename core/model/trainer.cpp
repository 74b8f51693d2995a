#include "model/trainer.h"
#include "util/filereader.h"

#include "model/builtincnn.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include <array>
#include <chrono>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <memory>
#include <optional>
#include <random>

namespace traclens {

namespace {

namespace fs = std::filesystem;

bool cancelRequested(const std::atomic<bool> *cancel)
{
    return cancel && cancel->load(std::memory_order_relaxed);
}

Status checkInputSpec(const InputSpec &in)
{
    if (in.channels != 1 && in.channels != 3)
        return Status::invalid("training: input must have 1 or 3 channels, not " + std::to_string(in.channels));
    if (in.height < 4 || in.width < 4)
        return Status::invalid("training: input must be at least 4×4 pixels (two 2×2 poolings), not " +
                               std::to_string(in.height) + "×" + std::to_string(in.width));
    if (in.mean.size() != size_t(in.channels) || in.std.size() != size_t(in.channels))
        return Status::invalid("training: input mean and std need one value per channel");
    for (float s : in.std) {
        if (!(s > 0.0f))
            return Status::invalid("training: input std must be greater than 0");
    }
    return Status::ok();
}

Status checkData(const TrainData &data, const InputSpec &spec, size_t classCount, const char *what)
{
    const size_t expected = size_t(data.count()) * spec.floatsPerImage();
    if (data.pixels.size() != expected)
        return Status::invalid(std::string("training: ") + what + " holds " + std::to_string(data.pixels.size()) +
                               " pixel values but " + std::to_string(data.count()) + " images of " +
                               std::to_string(spec.channels) + "×" + std::to_string(spec.height) + "×" +
                               std::to_string(spec.width) + " need " + std::to_string(expected));
    for (size_t i = 0; i < data.labels.size(); ++i) {
        if (data.labels[i] < 0 || size_t(data.labels[i]) >= classCount)
            return Status::invalid(std::string("training: ") + what + " example " + std::to_string(i) +
                                   " has label " + std::to_string(data.labels[i]) + " but there are " +
                                   std::to_string(classCount) + " classes");
    }
    return Status::ok();
}

// Turns 8-bit pixels into normalised floats. A per-channel table of the 256 possible
// values makes this a lookup per pixel, negligible next to the convolutions.
class BatchMaker {
public:
    explicit BatchMaker(const InputSpec &in) : m_pixels(in.floatsPerImage()), m_plane(size_t(in.height) * in.width)
    {
        m_table.resize(size_t(in.channels) * 256);
        for (int c = 0; c < in.channels; ++c) {
            for (int v = 0; v < 256; ++v)
                m_table[size_t(c) * 256 + v] = (float(v) / 255.0f - in.mean[c]) / in.std[c];
        }
    }

    void fill(const TrainData &data, const int64_t *indices, int n, float *x, int64_t *y) const
    {
        for (int i = 0; i < n; ++i) {
            const uint8_t *src = data.pixels.data() + size_t(indices[i]) * m_pixels;
            float *dst = x + size_t(i) * m_pixels;
            for (size_t p = 0; p < m_pixels; ++p)
                dst[p] = m_table[(p / m_plane) * 256 + src[p]];
            y[i] = data.labels[size_t(indices[i])];
        }
    }

private:
    size_t m_pixels;
    size_t m_plane;
    std::vector<float> m_table;
};

// std::shuffle's algorithm is left to the standard library; a hand-written
// Fisher–Yates over mt19937_64 gives the same order everywhere for the same seed.
void shuffleOrder(std::vector<int64_t> &order, std::mt19937_64 &rng)
{
    for (size_t i = order.size(); i > 1; --i) {
        const uint64_t bound = i;
        // Rejection sampling avoids modulo bias.
        const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
        uint64_t r;
        do {
            r = rng();
        } while (r >= limit);
        std::swap(order[i - 1], order[size_t(r % bound)]);
    }
}

struct Evaluation {
    double loss = 0.0;
    double accuracy = 0.0;
};

// Returns false when cancelled.
bool evaluate(BuiltinCnn &model, const TrainData &data, const BatchMaker &maker, const InputSpec &in,
              const std::atomic<bool> *cancel, Evaluation *result)
{
    torch::NoGradGuard noGrad;
    model->eval();
    const int64_t n = data.count();
    const int batch = 256;
    std::vector<int64_t> indices(batch);
    std::vector<float> x(size_t(batch) * in.floatsPerImage());
    std::vector<int64_t> y(batch);
    double lossSum = 0.0;
    int64_t correct = 0;
    for (int64_t start = 0; start < n; start += batch) {
        if (cancelRequested(cancel)) {
            model->train();
            return false;
        }
        const int b = int(std::min<int64_t>(batch, n - start));
        std::iota(indices.begin(), indices.begin() + b, start);
        maker.fill(data, indices.data(), b, x.data(), y.data());
        const auto xt = torch::from_blob(x.data(), {b, in.channels, in.height, in.width});
        const auto yt = torch::from_blob(y.data(), {b}, torch::kLong);
        const auto logits = model->forward(xt);
        lossSum += torch::nn::functional::cross_entropy(
                       logits, yt, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                       .item<double>();
        correct += logits.argmax(1).eq(yt).sum().item<int64_t>();
    }
    model->train();
    result->loss = lossSum / double(n);
    result->accuracy = double(correct) / double(n);
    return true;
}

// Saves `value` (a module or an optimizer) beside the final name and renames, so a crash
// mid-save never leaves a truncated ckpt-N.pt that a later manifest could point to.
template <typename T>
Status saveAtomically(T &value, const fs::path &path, const char *what)
{
    const fs::path part = path.string() + ".part";
    try {
        torch::save(value, part.string());
    } catch (const c10::Error &e) {
        return Status::ioError(path.string() + ": cannot save the " + what + ": " + e.what_without_backtrace());
    }
    std::error_code ec;
    fs::rename(part, path, ec);
    if (ec) {
        fs::remove(part, ec);
        return Status::ioError(path.string() + ": cannot save the " + what + ": " + ec.message());
    }
    return Status::ok();
}

Status saveCheckpoint(BuiltinCnn &model, const fs::path &path)
{
    return saveAtomically(model, path, "checkpoint");
}

constexpr const char *kStateName = "train-state.json";

uint64_t fnv1a(uint64_t h, const void *data, size_t bytes)
{
    const auto *p = static_cast<const unsigned char *>(data);
    for (size_t i = 0; i < bytes; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

// What a resumed run must share with the interrupted one: data, classes and config.
std::string trainingFingerprint(const TrainData &train, const TrainData &test, const std::vector<std::string> &classes,
                                const TrainConfig &c)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const TrainData *d : {&train, &test}) {
        const int64_t n = d->count();
        h = fnv1a(h, &n, sizeof n);
        h = fnv1a(h, d->labels.data(), d->labels.size() * sizeof(int));
        h = fnv1a(h, d->pixels.data(), d->pixels.size());
    }
    for (const auto &cl : classes)
        h = fnv1a(h, cl.c_str(), cl.size() + 1);
    const InputSpec &in = train.input;
    const int dims[] = {in.channels, in.height, in.width, c.width, c.embeddingDim, c.epochs, c.batchSize,
                        c.lrDecayEvery, c.checkpointEvery};
    h = fnv1a(h, dims, sizeof dims);
    // Only when not the step schedule, so that a state written before schedules existed
    // still matches.
    if (c.schedule != LrSchedule::Step) {
        const int schedule = int(c.schedule);
        h = fnv1a(h, &schedule, sizeof schedule);
    }
    h = fnv1a(h, in.mean.data(), in.mean.size() * sizeof(float));
    h = fnv1a(h, in.std.data(), in.std.size() * sizeof(float));
    const double rates[] = {c.learningRate, c.lrDecay};
    h = fnv1a(h, rates, sizeof rates);
    h = fnv1a(h, &c.seed, sizeof c.seed);
    // Only when not the plain recipe, so that states written before the other networks
    // existed still match.
    if (!c.isPlainRecipe()) {
        const int kinds[] = {int(c.network), int(c.augmentation)};
        h = fnv1a(h, kinds, sizeof kinds);
        const double sgd[] = {c.momentum, c.weightDecay};
        h = fnv1a(h, sgd, sizeof sgd);
    }
    // Only when adaptive, so that a fixed-mode state written before the adaptive mode
    // existed still matches.
    if (c.adaptive.enabled) {
        const AdaptiveTraining &a = c.adaptive;
        const int64_t counts[] = {a.minValidation, a.maxValidation, a.patience, a.minEpochs, a.maxEpochs};
        h = fnv1a(h, counts, sizeof counts);
        // The small-part rule (the smoothed curve; a longer patience, limit and decay
        // period, all derived from these fields) decides differently,
        // so a state written before it existed is not resumed under it; with the rule
        // switched off (reference 0, smoothing 1) such a state still matches.
        if (a.patienceReference > 0 || a.smoothing > 1) {
            const int64_t rule[] = {a.patienceReference, a.smoothing};
            h = fnv1a(h, rule, sizeof rule);
        }
        const double reals[] = {a.validationFraction, a.minDelta, a.timeBudgetSeconds};
        h = fnv1a(h, reals, sizeof reals);
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
    return buf;
}

// Phase 0: the fixed mode; 1: the adaptive mode's validation run; 2: its scored run.
struct ResumeState {
    int phase = 0;
    int epoch = 0;                           // last complete epoch of the phase (phase 2 may be 0)
    std::string weights;                     // relative to the directory; "" when epoch is 0
    std::string optimizer;                   // the optimizer's state beside them (momentum only)
    std::vector<CheckpointSpec> checkpoints;
    std::vector<EpochReport> reports;
    std::vector<ValidationPoint> validation; // phases 1 and 2
    int bestEpoch = 0;
    int chosenEpochs = 0;                    // phase 2
    TrainingStop stop = TrainingStop::FixedEpochs;
    double elapsedSeconds = 0.0;
    double searchSeconds = 0.0;
};

Status writeResumeState(const fs::path &dir, const std::string &fingerprint, const ResumeState &st)
{
    QJsonArray cps, reps, val;
    for (const auto &cp : st.checkpoints)
        cps.append(QJsonObject{{"file", QString::fromStdString(cp.file)}, {"learning_rate", cp.learningRate}});
    for (const auto &r : st.reports)
        reps.append(QJsonObject{{"epoch", r.epoch}, {"learning_rate", r.learningRate}, {"train_loss", r.trainLoss},
                                {"train_accuracy", r.trainAccuracy}, {"test_loss", r.testLoss},
                                {"test_accuracy", r.testAccuracy},
                                {"checkpoint", QString::fromStdString(r.checkpointFile)}});
    for (const auto &p : st.validation)
        val.append(QJsonObject{{"epoch", p.epoch}, {"accuracy", p.accuracy}, {"loss", p.loss},
                               {"train_accuracy", p.trainAccuracy}});
    const QJsonObject o{{"fingerprint", QString::fromStdString(fingerprint)},
                        {"phase", st.phase},
                        {"epoch", st.epoch},
                        {"weights", QString::fromStdString(st.weights)},
                        {"optimizer", QString::fromStdString(st.optimizer)},
                        {"checkpoints", cps},
                        {"reports", reps},
                        {"validation", val},
                        {"best_epoch", st.bestEpoch},
                        {"chosen_epochs", st.chosenEpochs},
                        {"stop", trainingStopName(st.stop)},
                        {"elapsed_seconds", st.elapsedSeconds},
                        {"search_seconds", st.searchSeconds}};
    const fs::path path = dir / kStateName;
    QSaveFile f(QString::fromStdString(path.string()));
    if (!f.open(QIODevice::WriteOnly) || f.write(QJsonDocument(o).toJson()) < 0 || !f.commit())
        return Status::ioError(path.string() + ": cannot save the training state: " + f.errorString().toStdString());
    return Status::ok();
}

// The state of an interrupted run in `dir` when it matches `fingerprint` and its weights
// file is there; nullopt otherwise (then the run starts afresh).
std::optional<ResumeState> readResumeState(const fs::path &dir, const std::string &fingerprint)
{
    // A state file that cannot be read (missing, unreadable, over the JSON cap) means a fresh start.
    Result<std::string> bytes = readFileCapped((dir / kStateName).string(), kMaxJsonFileBytes, "a training state");
    if (!bytes.ok())
        return std::nullopt;
    const QJsonObject o = QJsonDocument::fromJson(QByteArray::fromStdString(*bytes)).object();
    if (o.value("fingerprint").toString().toStdString() != fingerprint)
        return std::nullopt;
    ResumeState st;
    st.phase = o.value("phase").toInt(0);
    st.epoch = o.value("epoch").toInt();
    st.weights = o.value("weights").toString().toStdString();
    st.optimizer = o.value("optimizer").toString().toStdString();
    if (st.optimizer.find('/') != std::string::npos)
        return std::nullopt;
    st.bestEpoch = o.value("best_epoch").toInt();
    st.chosenEpochs = o.value("chosen_epochs").toInt();
    st.stop = trainingStopFromName(o.value("stop").toString().toStdString());
    st.elapsedSeconds = o.value("elapsed_seconds").toDouble();
    st.searchSeconds = o.value("search_seconds").toDouble();
    if (st.phase < 0 || st.phase > 2)
        return std::nullopt;
    // Only the scored run can be recorded before its first epoch (the validation run has
    // just decided its length).
    const bool started = st.epoch >= 1;
    std::error_code ec;
    if (started && (st.weights.empty() || st.weights.find('/') != std::string::npos
                    || !fs::is_regular_file(dir / st.weights, ec)))
        return std::nullopt;
    if (!started && st.phase != 2)
        return std::nullopt;
    if (st.phase == 2 && st.chosenEpochs < 1)
        return std::nullopt;
    for (const auto &v : o.value("checkpoints").toArray()) {
        const QJsonObject c = v.toObject();
        st.checkpoints.push_back({c.value("file").toString().toStdString(), c.value("learning_rate").toDouble()});
    }
    for (const auto &v : o.value("reports").toArray()) {
        const QJsonObject r = v.toObject();
        EpochReport e;
        e.epoch = r.value("epoch").toInt();
        e.learningRate = r.value("learning_rate").toDouble();
        e.trainLoss = r.value("train_loss").toDouble();
        e.trainAccuracy = r.value("train_accuracy").toDouble();
        e.testLoss = r.value("test_loss").toDouble();
        e.testAccuracy = r.value("test_accuracy").toDouble();
        e.checkpointFile = r.value("checkpoint").toString().toStdString();
        e.restored = true;
        st.reports.push_back(e);
    }
    for (const auto &v : o.value("validation").toArray()) {
        const QJsonObject p = v.toObject();
        st.validation.push_back({p.value("epoch").toInt(), p.value("accuracy").toDouble(), p.value("loss").toDouble(),
                                 p.value("train_accuracy").toDouble()});
    }
    const size_t done = st.phase == 1 ? st.validation.size() : st.reports.size();
    if (int(done) != st.epoch)
        return std::nullopt;
    return st;
}

bool isWeightsFile(const std::string &name, const char *prefix)
{
    const size_t p = std::strlen(prefix);
    return name.rfind(prefix, 0) == 0 && name.size() > p + 3 && name.compare(name.size() - 3, 3, ".pt") == 0;
}

void removeResumeState(const fs::path &dir)
{
    std::error_code ec;
    fs::remove(dir / kStateName, ec);
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (isWeightsFile(name, "state-") || isWeightsFile(name, "search-") || isWeightsFile(name, "optim-"))
            fs::remove(it->path(), ec);
    }
}

Status writeTrainingRecord(const fs::path &dir, const TrainingRecord &record)
{
    const fs::path path = dir / kTrainingRecordName;
    QSaveFile f(QString::fromStdString(path.string()));
    const std::string json = trainingRecordToJson(record);
    if (!f.open(QIODevice::WriteOnly) || f.write(json.data(), qint64(json.size())) < 0 || !f.commit())
        return Status::ioError(path.string() + ": cannot save the training record: " + f.errorString().toStdString());
    return Status::ok();
}

BuiltinCnn freshModel(const BuiltinCnnShape &shape, uint64_t seed)
{
    // Seeds LibTorch's global generator (weight initialisation); the shuffle has its
    // own generator so the data order does not depend on how many numbers init drew.
    // Both phases of the adaptive mode start here, so the scored run begins from the
    // weights a fixed-mode run with the same seed begins from.
    torch::manual_seed(seed);
    BuiltinCnn model(shape);
    model->train();
    return model;
}

// Copies the weights saved in `file` into `model`. Unreadable weights are not an error:
// false, and the caller starts afresh.
bool loadWeights(BuiltinCnn &model, const BuiltinCnnShape &shape, const fs::path &file)
{
    BuiltinCnn saved(shape);
    try {
        torch::load(saved, file.string());
    } catch (const c10::Error &) {
        return false;
    }
    torch::NoGradGuard noGrad;
    const auto to = model->parameters();
    const auto from = saved->parameters();
    for (size_t i = 0; i < to.size() && i < from.size(); ++i)
        to[i].copy_(from[i]);
    // Batch norm's running statistics are buffers, not parameters.
    const auto toBuffers = model->buffers();
    const auto fromBuffers = saved->buffers();
    for (size_t i = 0; i < toBuffers.size() && i < fromBuffers.size(); ++i)
        toBuffers[i].copy_(fromBuffers[i]);
    return true;
}

// SGD as the config says. Plain SGD (the small CNN) has no state: a new optimizer per
// run is the same as one kept. With momentum the buffers are state, kept for the whole
// run and saved with the resume weights (saveOptimizer).
std::unique_ptr<torch::optim::SGD> makeOptimizer(BuiltinCnn &model, const TrainConfig &config)
{
    return std::make_unique<torch::optim::SGD>(model->parameters(),
                                               torch::optim::SGDOptions(config.learningRate)
                                                   .momentum(config.momentum)
                                                   .dampening(0.0)
                                                   .weight_decay(config.weightDecay)
                                                   .nesterov(config.momentum > 0.0));
}

Status saveOptimizer(torch::optim::SGD &optimizer, const fs::path &path)
{
    return saveAtomically(optimizer, path, "optimizer state");
}

bool loadOptimizer(torch::optim::SGD &optimizer, const fs::path &path)
{
    try {
        torch::load(optimizer, path.string());
    } catch (const c10::Error &) {
        return false;
    }
    return true;
}

// Shifts (and mirrors) each image of a batch in place, as config.augmentation says; the
// uncovered border gets the normalised value of a black pixel. Draws come from `rng`,
// whose seed depends only on (seed, phase, epoch).
void augmentBatch(Augmentation kind, const InputSpec &in, int n, float *x, std::mt19937_64 &rng,
                  std::vector<float> &scratch)
{
    if (kind == Augmentation::None)
        return;
    const int h = in.height, w = in.width, plane = h * w;
    const size_t per = in.floatsPerImage();
    scratch.resize(per);
    for (int i = 0; i < n; ++i) {
        const int dx = int(rng() % 5) - 2, dy = int(rng() % 5) - 2;
        const bool flip = kind == Augmentation::ShiftFlip && (rng() & 1u);
        float *img = x + size_t(i) * per;
        std::copy(img, img + per, scratch.begin());
        for (int c = 0; c < in.channels; ++c) {
            const float black = (0.0f - in.mean[size_t(c)]) / in.std[size_t(c)];
            const float *src = scratch.data() + size_t(c) * plane;
            float *dst = img + size_t(c) * plane;
            for (int yy = 0; yy < h; ++yy) {
                const int sy = yy - dy;
                for (int xx = 0; xx < w; ++xx) {
                    int sx = xx - dx;
                    if (flip)
                        sx = w - 1 - sx;
                    dst[yy * w + xx] = (sy >= 0 && sy < h && sx >= 0 && sx < w) ? src[sy * w + sx] : black;
                }
            }
        }
    }
}

// The order of epoch e depends only on (seed, phase, e), so a resumed run sees the same
// batches as an uninterrupted one. The fixed mode and the scored run share a formula (the
// scored run of E epochs is the fixed run of E epochs); the validation run has its own.
uint64_t orderSeed(uint64_t seed, int phase, int epoch)
{
    const uint64_t base = seed * 0x9E3779B97F4A7C15ull + uint64_t(epoch);
    return phase == 1 ? base ^ 0xA076'1D64'78BD'642Full : base;
}

struct EpochResult {
    double loss = 0.0;
    double accuracy = 0.0;
};

// One epoch of SGD over `data` at `learningRate`. Cancelled when *cancel is set between
// batches; InvalidArgument when the loss stops being finite. For the small CNN's plain
// SGD, TracIn's sum over checkpoints of η·∇ℓ·∇ℓ′ is a first-order account of exactly
// this update rule.
Status trainEpoch(BuiltinCnn &model, torch::optim::SGD &optimizer, const TrainData &data, const BatchMaker &maker,
                  const TrainConfig &config, int epoch, uint64_t shuffleSeed, double learningRate,
                  const std::function<void(int64_t seen, double runningLoss)> &onBatch,
                  const std::atomic<bool> *cancel, EpochResult *out)
{
    const InputSpec &in = data.input;
    for (auto &group : optimizer.param_groups())
        static_cast<torch::optim::SGDOptions &>(group.options()).lr(learningRate);
    const int64_t n = data.count();
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t(0));
    std::mt19937_64 rng(shuffleSeed);
    shuffleOrder(order, rng);
    // Its own generator, so that the order is the same with or without augmentation.
    std::mt19937_64 augmentRng(shuffleSeed ^ 0x6175676D656E7421ull);
    // Dropout draws from LibTorch's global generator: seeded per epoch, so that a resumed
    // run drops the same units as an uninterrupted one. (The small CNN draws nothing.)
    torch::manual_seed(shuffleSeed ^ 0x64726F706F757421ull);
    std::vector<float> scratch;
    std::vector<float> x(size_t(config.batchSize) * in.floatsPerImage());
    std::vector<int64_t> y(size_t(config.batchSize));
    double lossSum = 0.0;
    int64_t correct = 0;
    int64_t seen = 0;
    while (seen < n) {
        if (cancelRequested(cancel))
            return Status::cancelled();
        const int b = int(std::min<int64_t>(config.batchSize, n - seen));
        maker.fill(data, order.data() + seen, b, x.data(), y.data());
        augmentBatch(config.augmentation, in, b, x.data(), augmentRng, scratch);
        const auto xt = torch::from_blob(x.data(), {b, in.channels, in.height, in.width});
        const auto yt = torch::from_blob(y.data(), {b}, torch::kLong);

        optimizer.zero_grad();
        const auto logits = model->forward(xt);
        const auto loss = torch::nn::functional::cross_entropy(logits, yt);
        loss.backward();
        optimizer.step();

        const double batchLoss = loss.item<double>();
        if (!std::isfinite(batchLoss))
            return Status::invalid("training diverged in epoch " + std::to_string(epoch) +
                                   " (loss is not finite); lower the learning rate (" + std::to_string(learningRate) +
                                   ")");
        lossSum += batchLoss * b;
        correct += logits.argmax(1).eq(yt).sum().item<int64_t>();
        seen += b;
        if (onBatch)
            onBatch(seen, lossSum / double(seen));
    }
    out->loss = lossSum / double(n);
    out->accuracy = double(correct) / double(n);
    return Status::ok();
}

} // namespace

// Validation-part size: a fraction of the split, at least min(minValidation, n/5), at most
// maxValidation.
int64_t adaptiveValidationCount(int64_t n, const AdaptiveTraining &a)
{
    const int64_t wanted = int64_t(std::llround(a.validationFraction * double(n)));
    const int64_t floor = std::min<int64_t>(a.minValidation, n / 5);
    return std::max<int64_t>(1, std::min<int64_t>(a.maxValidation, std::max(wanted, floor)));
}

namespace {

// `base` epochs on a validation part of `reference` examples or more; on a smaller part
// base·√(reference / part), rounded up. The chance spread of an accuracy falls as 1/√n, and
// a small set's epoch is a few SGD steps.
int scaledForPart(int base, int64_t validationCount, int64_t reference)
{
    if (reference <= 0 || validationCount <= 0 || validationCount >= reference)
        return base;
    const double scaled = double(base) * std::sqrt(double(reference) / double(validationCount));
    return std::max(base, int(std::ceil(scaled - 1e-9)));
}

} // namespace

int adaptivePatience(int64_t validationCount, const AdaptiveTraining &a)
{
    // On the product's defaults: 4 epochs from 1,000 examples up, 7 at 400, 13 at 100
    // (measured in docs/adaptive-training.md against the fixed 4).
    return scaledForPart(a.patience, validationCount, a.patienceReference);
}

int adaptiveMaxEpochs(int64_t validationCount, const AdaptiveTraining &a)
{
    // As the patience grows: on the small sets measured, the count this allows gained 1.7
    // points of test accuracy over a limit of 20 (docs/adaptive-training.md).
    return a.maxEpochs > 0 ? a.maxEpochs : scaledForPart(kDefaultMaxEpochs, validationCount, a.patienceReference);
}

int validationDecayEvery(int64_t validationCount, const TrainConfig &config)
{
    if (config.lrDecayEvery <= 0)
        return config.lrDecayEvery;
    return scaledForPart(config.lrDecayEvery, validationCount, config.adaptive.patienceReference);
}

int adaptiveMaxEpochsFor(int64_t n, const AdaptiveTraining &a)
{
    return adaptiveMaxEpochs(adaptiveValidationCount(n, a), a);
}

namespace {

// Splits `all` into the part trained in the validation run and the validation part, by a
// seeded draw that depends only on the seed and the split's size.
void splitForValidation(const TrainData &all, int64_t nVal, uint64_t seed, TrainData *fit, TrainData *val)
{
    const int64_t n = all.count();
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t(0));
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull ^ 0x76616C6964617465ull);
    shuffleOrder(order, rng);
    std::vector<char> isVal(size_t(n), 0);
    for (int64_t i = 0; i < nVal; ++i)
        isVal[size_t(order[size_t(i)])] = 1;
    const size_t per = all.input.floatsPerImage();
    for (TrainData *d : {fit, val}) {
        d->input = all.input;
        d->pixels.clear();
        d->labels.clear();
    }
    fit->pixels.reserve(size_t(n - nVal) * per);
    val->pixels.reserve(size_t(nVal) * per);
    for (int64_t i = 0; i < n; ++i) {
        TrainData *d = isVal[size_t(i)] ? val : fit;
        const uint8_t *src = all.pixels.data() + size_t(i) * per;
        d->pixels.insert(d->pixels.end(), src, src + per);
        d->labels.push_back(all.labels[size_t(i)]);
    }
}

// The curve the stopping rule reads: each epoch's accuracy averaged with the epochs before
// it, `smoothing` in all (fewer at the start). A single lucky epoch on a small validation
// part would otherwise stand as the best for the rest of the run.
std::vector<double> smoothedAccuracy(const std::vector<ValidationPoint> &curve, int smoothing)
{
    const size_t w = size_t(std::max(1, smoothing));
    std::vector<double> out(curve.size());
    double sum = 0.0;
    for (size_t i = 0; i < curve.size(); ++i) {
        sum += curve[i].accuracy;
        if (i >= w)
            sum -= curve[i - w].accuracy;
        out[i] = sum / double(std::min(i + 1, w));
    }
    return out;
}

// The best epoch so far: the first reaching the best (smoothed) accuracy to within
// minDelta, i.e. each later improvement must beat it by minDelta. `sinceBest` counts the
// epochs after it.
void bestEpochOf(const std::vector<ValidationPoint> &curve, int smoothing, double minDelta, int *bestEpoch,
                 int *sinceBest)
{
    const std::vector<double> acc = smoothedAccuracy(curve, smoothing);
    double best = 0.0;
    int be = 0;
    for (size_t i = 0; i < curve.size(); ++i) {
        // A hair below minDelta still counts, so that 0.5 % on a 200-example part is one.
        if (be == 0 || acc[i] >= best + minDelta - 1e-9) {
            best = acc[i];
            be = curve[i].epoch;
        }
    }
    *bestEpoch = be;
    *sinceBest = curve.empty() ? 0 : curve.back().epoch - be;
}

// The epoch of the highest smoothed validation accuracy (the first, on a tie): the scored
// run's length. The plateau rule above decides when to stop looking; a curve that still
// creeps up by less than minDelta per step has its later, better epoch chosen, which costs
// a few epochs and gives the annealed scored run room (docs/adaptive-training.md).
int highestEpochOf(const std::vector<ValidationPoint> &curve, int smoothing)
{
    const std::vector<double> acc = smoothedAccuracy(curve, smoothing);
    int epoch = 0;
    double best = 0.0;
    for (size_t i = 0; i < curve.size(); ++i)
        if (epoch == 0 || acc[i] > best) {
            best = acc[i];
            epoch = curve[i].epoch;
        }
    return epoch;
}

using Clock = std::chrono::steady_clock;

Result<TrainOutcome> runTraining(const TrainData &trainData, const TrainData &testData,
                                 const std::vector<std::string> &classes, const TrainConfig &config,
                                 const fs::path &dir, const TrainCallbacks &callbacks, const std::atomic<bool> *cancel)
{
    const Clock::time_point started = Clock::now();
    const InputSpec &in = trainData.input;
    const AdaptiveTraining &adaptive = config.adaptive;
    BuiltinCnnShape shape;
    shape.channels = in.channels;
    shape.height = in.height;
    shape.width = in.width;
    shape.convWidth = config.width;
    shape.embeddingDim = config.embeddingDim;
    shape.classes = int(classes.size());
    shape.batchNorm = config.network != BuiltinNetwork::Cnn;
    shape.convsPerBlock = config.network == BuiltinNetwork::Vgg ? 2 : 1;
    const BatchMaker maker(in);
    const bool hasOptimizerState = config.momentum > 0.0;

    ModelSpec spec;
    spec.directory = dir.string();
    spec.classes = classes;
    spec.input = in;
    spec.architecture = builtinNetworkName(config.network);
    spec.width = config.width;
    spec.embeddingDim = config.embeddingDim;

    const int64_t n = trainData.count();
    const std::string fingerprint = trainingFingerprint(trainData, testData, classes, config);
    ResumeState st;
    st.phase = adaptive.enabled ? 1 : 0;
    bool resumed = false;
    if (config.resume) {
        if (auto saved = readResumeState(dir, fingerprint); saved && (saved->phase == 0) == !adaptive.enabled) {
            st = *saved;
            resumed = true;
        }
    }
    if (!resumed) {
        std::error_code ec;
        fs::remove(dir / kModelManifestName, ec);
        removeResumeState(dir);
    }
    const double priorSeconds = st.elapsedSeconds;
    auto elapsed = [&] { return priorSeconds + std::chrono::duration<double>(Clock::now() - started).count(); };

    // Progress: examples trained in this call against a plan that is re-estimated at
    // each epoch start, and the rate measured in this call (evaluation time included).
    int64_t workDone = 0, workTotal = 0;
    auto report = [&](int phase, int epoch, int epochs, int64_t seen, int64_t total, double loss) {
        if (!callbacks.progress)
            return;
        TrainProgressInfo p;
        p.phase = phase;
        p.epoch = epoch;
        p.epochs = epochs;
        p.seen = seen;
        p.total = total;
        p.runningLoss = loss;
        p.workDone = workDone + seen;
        p.workTotal = std::max(workTotal, p.workDone);
        p.elapsedSeconds = elapsed();
        const double callSeconds = std::chrono::duration<double>(Clock::now() - started).count();
        if (p.workDone > 0)
            p.remainingSeconds = callSeconds / double(p.workDone) * double(p.workTotal - p.workDone);
        callbacks.progress(p);
    };

    TrainOutcome outcome;
    TrainingRecord &record = outcome.record;
    record.adaptive = adaptive.enabled;
    record.trainCount = n;
    record.timeBudgetSeconds = adaptive.enabled ? adaptive.timeBudgetSeconds : 0.0;
    record.maxEpochs = config.epochs; // the adaptive mode's limit is set with its validation part below
    record.network = builtinNetworkName(config.network);
    record.augmentation = augmentationName(config.augmentation);

    // --- the validation run (adaptive mode)
    if (adaptive.enabled) {
        const int64_t nVal = adaptiveValidationCount(n, adaptive);
        const int patience = adaptivePatience(nVal, adaptive);
        const int maxEpochs = adaptiveMaxEpochs(nVal, adaptive);
        // The validation run's rates: the step schedule, its period grown with the patience.
        TrainConfig searchRates = config;
        searchRates.lrDecayEvery = validationDecayEvery(nVal, config);
        record.validationCount = nVal;
        record.maxEpochs = maxEpochs;
        record.patience = patience;
        record.smoothing = std::max(1, adaptive.smoothing);
        if (st.phase == 1) {
            TrainData fit, val;
            splitForValidation(trainData, nVal, config.seed, &fit, &val);
            const int64_t nFit = fit.count();
            BuiltinCnn model = freshModel(shape, config.seed);
            std::unique_ptr<torch::optim::SGD> optimizer = makeOptimizer(model, config);
            if (resumed && st.epoch >= 1 &&
                (!loadWeights(model, shape, dir / st.weights) ||
                 (hasOptimizerState && !loadOptimizer(*optimizer, dir / st.optimizer)))) {
                st = ResumeState{};
                st.phase = 1;
                model = freshModel(shape, config.seed);
                optimizer = makeOptimizer(model, config);
            }
            double phaseSeconds = 0.0;
            int phaseEpochs = 0;
            std::string previousWeights = st.weights;
            std::string previousOptimizer = st.optimizer;
            for (int epoch = st.epoch + 1;; ++epoch) {
                const Clock::time_point epochStart = Clock::now();
                int bestEpoch = 0, sinceBest = 0;
                bestEpochOf(st.validation, adaptive.smoothing, adaptive.minDelta, &bestEpoch, &sinceBest);
                // The least work left: no further improvement, then the scored run.
                const int searchLeft = std::min(maxEpochs - epoch + 1,
                                                st.validation.empty() ? 1 + patience
                                                                      : std::max(1, patience - sinceBest));
                const int scoredGuess = std::max({bestEpoch, 1, std::min(adaptive.minEpochs, maxEpochs)});
                workTotal = workDone + int64_t(searchLeft) * nFit + int64_t(scoredGuess) * n;

                EpochResult r;
                const double lr = stepRateForEpoch(searchRates, epoch);
                Status s = trainEpoch(
                    model, *optimizer, fit, maker, config, epoch, orderSeed(config.seed, 1, epoch), lr,
                    [&](int64_t seen, double loss) { report(1, epoch, maxEpochs, seen, nFit, loss); },
                    cancel, &r);
                Evaluation eval;
                if (s.isOk() && !evaluate(model, val, maker, in, cancel, &eval))
                    s = Status::cancelled();
                if (s.isCancelled())
                    return Status::cancelled("training cancelled in epoch " + std::to_string(epoch) +
                                             " of the validation run; it resumes from there in " + dir.string());
                TL_RETURN_IF_ERROR(s);
                workDone += nFit;
                st.validation.push_back({epoch, eval.accuracy, eval.loss, r.accuracy});
                phaseSeconds += std::chrono::duration<double>(Clock::now() - epochStart).count();
                ++phaseEpochs;
                if (callbacks.onValidation)
                    callbacks.onValidation(st.validation.back());

                bestEpochOf(st.validation, adaptive.smoothing, adaptive.minDelta, &bestEpoch, &sinceBest);
                // Seconds per validation-run epoch, and per scored-run epoch (more examples).
                const double t1 = phaseSeconds / phaseEpochs;
                const double t2 = t1 * double(n) / double(std::max<int64_t>(1, nFit));
                const double budget = adaptive.timeBudgetSeconds;
                std::optional<TrainingStop> stop;
                if (sinceBest >= patience)
                    stop = TrainingStop::Plateau;
                else if (epoch >= maxEpochs)
                    stop = TrainingStop::MaxEpochs;
                // Another epoch here could make the scored run epoch + 1 long; both must fit.
                else if (budget > 0.0 && elapsed() + t1 + double(epoch + 1) * t2 > budget)
                    stop = TrainingStop::TimeBudget;

                if (stop) {
                    bestEpoch = highestEpochOf(st.validation, adaptive.smoothing);
                    int chosen = bestEpoch;
                    // Fewer than minEpochs checkpoints make a thin TracIn sum; add epochs
                    // (at the lower rates of the schedule) where the budget has room.
                    int floorEpochs = std::min(adaptive.minEpochs, std::max(maxEpochs, bestEpoch));
                    if (budget > 0.0)
                        floorEpochs = std::min(floorEpochs, int(std::floor((budget - elapsed()) / t2)));
                    chosen = std::max(chosen, floorEpochs);
                    st.phase = 2;
                    st.epoch = 0;
                    st.weights.clear();
                    st.optimizer.clear();
                    st.bestEpoch = bestEpoch;
                    st.chosenEpochs = std::max(1, chosen);
                    st.stop = *stop;
                    st.searchSeconds = elapsed();
                    st.elapsedSeconds = elapsed();
                    TL_RETURN_IF_ERROR(writeResumeState(dir, fingerprint, st));
                    std::error_code ec;
                    if (!previousWeights.empty())
                        fs::remove(dir / previousWeights, ec);
                    if (!previousOptimizer.empty())
                        fs::remove(dir / previousOptimizer, ec);
                    break;
                }
                // The resume state: the weights, then the state naming them, then the
                // older weights go.
                st.epoch = epoch;
                st.weights = "search-" + std::to_string(epoch) + ".pt";
                st.elapsedSeconds = elapsed();
                TL_RETURN_IF_ERROR(saveCheckpoint(model, dir / st.weights));
                if (hasOptimizerState) {
                    st.optimizer = "optim-1-" + std::to_string(epoch) + ".pt";
                    TL_RETURN_IF_ERROR(saveOptimizer(*optimizer, dir / st.optimizer));
                }
                TL_RETURN_IF_ERROR(writeResumeState(dir, fingerprint, st));
                std::error_code ec;
                if (!previousWeights.empty())
                    fs::remove(dir / previousWeights, ec);
                if (!previousOptimizer.empty())
                    fs::remove(dir / previousOptimizer, ec);
                previousWeights = st.weights;
                previousOptimizer = st.optimizer;
            }
        }
        record.stop = st.stop;
        record.bestEpoch = st.bestEpoch;
        record.validation = st.validation;
        record.searchSeconds = st.searchSeconds;
    }

    // --- the fixed mode, or the scored run
    const int phase = adaptive.enabled ? 2 : 0;
    const int epochs = adaptive.enabled ? st.chosenEpochs : config.epochs;
    record.epochs = epochs;
    BuiltinCnn model = freshModel(shape, config.seed);
    std::unique_ptr<torch::optim::SGD> optimizer = makeOptimizer(model, config);
    int firstEpoch = 1;
    std::vector<EpochReport> &reports = outcome.epochs;
    if (resumed && st.phase == phase && st.epoch >= 1) {
        if (loadWeights(model, shape, dir / st.weights) &&
            (!hasOptimizerState || loadOptimizer(*optimizer, dir / st.optimizer))) {
            firstEpoch = st.epoch + 1;
            spec.checkpoints = st.checkpoints;
            reports = st.reports;
        } else {
            st.epoch = 0;
            st.checkpoints.clear();
            st.reports.clear();
            model = freshModel(shape, config.seed);
            optimizer = makeOptimizer(model, config);
        }
    }
    std::string previousStateWeights;
    std::string previousOptimizer;

    auto cancelled = [&](int epoch) {
        return Status::cancelled("training cancelled in epoch " + std::to_string(epoch) + "; " +
                                 std::to_string(spec.checkpoints.size()) + " checkpoint(s) kept in " + dir.string());
    };

    for (int epoch = firstEpoch; epoch <= epochs; ++epoch) {
        workTotal = workDone + int64_t(epochs - epoch + 1) * n;
        EpochReport er;
        er.epoch = epoch;
        er.learningRate = learningRateForEpoch(config, epoch, epochs);
        EpochResult r;
        const Status s = trainEpoch(
            model, *optimizer, trainData, maker, config, epoch, orderSeed(config.seed, phase, epoch), er.learningRate,
            [&](int64_t seen, double loss) { report(phase, epoch, epochs, seen, n, loss); }, cancel, &r);
        if (s.isCancelled())
            return cancelled(epoch);
        TL_RETURN_IF_ERROR(s);
        workDone += n;
        er.trainLoss = r.loss;
        er.trainAccuracy = r.accuracy;

        if (testData.count() > 0) {
            Evaluation eval;
            if (!evaluate(model, testData, maker, in, cancel, &eval))
                return cancelled(epoch);
            er.testLoss = eval.loss;
            er.testAccuracy = eval.accuracy;
        }

        // The last epoch is always kept: TracIn without the final weights would miss
        // the model people actually look at.
        if (epoch % config.checkpointEvery == 0 || epoch == epochs) {
            const std::string file = "ckpt-" + std::to_string(epoch) + ".pt";
            TL_RETURN_IF_ERROR(saveCheckpoint(model, dir / file));
            spec.checkpoints.push_back({file, er.learningRate});
            // Rewritten after every checkpoint so that a run stopped at any point leaves
            // a directory that readModelSpec accepts.
            TL_RETURN_IF_ERROR(writeModelSpec(spec));
            er.checkpointFile = file;
        }
        reports.push_back(er);
        if (epoch < epochs) {
            // The resume state: the weights (the checkpoint when there is one), then the
            // state file naming them; the older weights file goes only after that.
            std::string weights = er.checkpointFile;
            if (weights.empty()) {
                weights = "state-" + std::to_string(epoch) + ".pt";
                TL_RETURN_IF_ERROR(saveCheckpoint(model, dir / weights));
            }
            st.phase = phase;
            st.epoch = epoch;
            st.weights = weights;
            st.checkpoints = spec.checkpoints;
            st.reports = reports;
            st.elapsedSeconds = elapsed();
            if (hasOptimizerState) {
                st.optimizer = "optim-" + std::to_string(phase) + "-" + std::to_string(epoch) + ".pt";
                TL_RETURN_IF_ERROR(saveOptimizer(*optimizer, dir / st.optimizer));
            }
            TL_RETURN_IF_ERROR(writeResumeState(dir, fingerprint, st));
            std::error_code ec;
            if (!previousStateWeights.empty() && previousStateWeights.rfind("state-", 0) == 0)
                fs::remove(dir / previousStateWeights, ec);
            if (!previousOptimizer.empty())
                fs::remove(dir / previousOptimizer, ec);
            previousStateWeights = weights;
            previousOptimizer = st.optimizer;
        } else {
            // The record goes before the resume state is removed: a crash between the two
            // redoes at most the last epoch and rewrites the record.
            record.seconds = elapsed();
            TL_RETURN_IF_ERROR(writeTrainingRecord(dir, record));
            removeResumeState(dir);
        }
        if (callbacks.onEpoch)
            callbacks.onEpoch(er);
    }
    if (firstEpoch > epochs) {
        record.seconds = elapsed();
        TL_RETURN_IF_ERROR(writeTrainingRecord(dir, record));
        removeResumeState(dir);
    }
    return outcome;
}

} // namespace

const char *builtinNetworkName(BuiltinNetwork n)
{
    switch (n) {
    case BuiltinNetwork::BnCnn:
        return kBuiltinBnCnnArchitecture;
    case BuiltinNetwork::Vgg:
        return kBuiltinVggArchitecture;
    case BuiltinNetwork::Cnn:
        break;
    }
    return kBuiltinCnnArchitecture;
}

bool parseBuiltinNetwork(const std::string &name, BuiltinNetwork *out)
{
    if (name == kBuiltinCnnArchitecture || name == "cnn")
        *out = BuiltinNetwork::Cnn;
    else if (name == kBuiltinBnCnnArchitecture || name == "bn-cnn")
        *out = BuiltinNetwork::BnCnn;
    else if (name == kBuiltinVggArchitecture || name == "vgg")
        *out = BuiltinNetwork::Vgg;
    else
        return false;
    return true;
}

const char *augmentationName(Augmentation a)
{
    switch (a) {
    case Augmentation::Shift:
        return "shift";
    case Augmentation::ShiftFlip:
        return "flip";
    case Augmentation::None:
        break;
    }
    return "none";
}

bool parseAugmentation(const std::string &name, Augmentation *out)
{
    if (name == "none")
        *out = Augmentation::None;
    else if (name == "shift")
        *out = Augmentation::Shift;
    else if (name == "flip")
        *out = Augmentation::ShiftFlip;
    else
        return false;
    return true;
}

void TrainConfig::useNetwork(BuiltinNetwork n)
{
    if (n == BuiltinNetwork::Cnn) {
        const TrainConfig plain;
        network = n;
        width = plain.width;
        embeddingDim = plain.embeddingDim;
        batchSize = plain.batchSize;
        momentum = plain.momentum;
        weightDecay = plain.weightDecay;
        augmentation = plain.augmentation;
        return;
    }
    network = n;
    width = 32;
    embeddingDim = 256;
    batchSize = 128;
    momentum = 0.9;
    weightDecay = 5e-4;
    augmentation = Augmentation::Shift;
}

const char *lrScheduleName(LrSchedule s)
{
    return s == LrSchedule::Step ? "step" : "cosine";
}

bool parseLrSchedule(const std::string &name, LrSchedule *out)
{
    if (name == "step")
        *out = LrSchedule::Step;
    else if (name == "cosine")
        *out = LrSchedule::Cosine;
    else
        return false;
    return true;
}

double stepRateForEpoch(const TrainConfig &config, int epoch)
{
    if (config.lrDecayEvery <= 0)
        return config.learningRate;
    return config.learningRate * std::pow(config.lrDecay, double((epoch - 1) / config.lrDecayEvery));
}

double learningRateForEpoch(const TrainConfig &config, int epoch, int epochs)
{
    if (config.schedule == LrSchedule::Step || epochs < 1)
        return stepRateForEpoch(config, epoch);
    // Sampled at the middle of the epoch: the epoch's rate is its mean under a continuous
    // cosine, and the last epoch keeps a small positive rate (a checkpoint with η = 0
    // would drop out of TracIn's sum).
    const double pi = 3.14159265358979323846;
    return config.learningRate * 0.5 * (1.0 + std::cos(pi * (double(epoch) - 0.5) / double(epochs)));
}

TrainConfig TrainConfig::adaptiveDefault()
{
    TrainConfig c;
    c.adaptive.enabled = true;
    c.adaptive.timeBudgetSeconds = kDefaultTimeBudgetMinutes * 60.0;
    return c;
}

Result<TrainOutcome> trainBuiltinCnn(const TrainData &train, const TrainData &test,
                                     const std::vector<std::string> &classes, const TrainConfig &config,
                                     const std::string &outDir, const TrainCallbacks &callbacks,
                                     const std::atomic<bool> *cancel)
{
    if (classes.size() < 2)
        return Status::invalid("training: at least 2 classes are needed");
    if (config.width <= 0 || config.embeddingDim <= 0 || (!config.adaptive.enabled && config.epochs <= 0) ||
        config.batchSize <= 0 || config.checkpointEvery <= 0)
        return Status::invalid("training: width, embedding size, epochs, batch size and checkpoint interval must "
                               "be positive");
    if (!(config.learningRate > 0.0) || !std::isfinite(config.learningRate) || !(config.lrDecay > 0.0) ||
        !std::isfinite(config.lrDecay))
        return Status::invalid("training: the learning rate and its decay factor must be positive numbers");
    if (!(config.momentum >= 0.0 && config.momentum < 1.0) || !(config.weightDecay >= 0.0) ||
        !std::isfinite(config.weightDecay))
        return Status::invalid("training: momentum must be in [0, 1) and weight decay 0 or more");
    if (config.network != BuiltinNetwork::Cnn && (train.input.height < 8 || train.input.width < 8))
        return Status::invalid("training: the batch-norm network needs images of at least 8×8 pixels");
    if (train.count() == 0)
        return Status::invalid("training: there are no training examples");
    if (config.adaptive.enabled) {
        const AdaptiveTraining &a = config.adaptive;
        if (a.patience < 1 || a.maxEpochs < 0 || a.minEpochs < 0 || a.minValidation < 1 || a.maxValidation < 1 ||
            !(a.validationFraction > 0.0 && a.validationFraction <= 0.5) || !(a.minDelta >= 0.0) ||
            !(a.timeBudgetSeconds >= 0.0) || !std::isfinite(a.timeBudgetSeconds) || a.smoothing < 1 ||
            a.patienceReference < 0)
            return Status::invalid("training: adaptive training needs a patience and smoothing of at least 1, an "
                                   "epoch limit of 1 or more (0: automatic), a validation fraction in (0, 0.5] and a "
                                   "time budget of 0 or more");
        if (train.count() < kMinAdaptiveTrainExamples)
            return Status::invalid("training: " + std::to_string(train.count()) +
                                   " training examples are too few to hold out a validation part (" +
                                   std::to_string(kMinAdaptiveTrainExamples) +
                                   " or more); train a fixed number of epochs instead");
    }
    TL_RETURN_IF_ERROR(checkInputSpec(train.input));
    TL_RETURN_IF_ERROR(checkData(train, train.input, classes.size(), "the training data"));
    if (test.count() > 0) {
        const InputSpec &a = train.input, &b = test.input;
        if (a.channels != b.channels || a.height != b.height || a.width != b.width || a.mean != b.mean ||
            a.std != b.std)
            return Status::invalid("training: the test data's input spec differs from the training data's");
        TL_RETURN_IF_ERROR(checkData(test, train.input, classes.size(), "the test data"));
    }

    std::error_code ec;
    const fs::path dir = fs::absolute(fs::path(outDir), ec);
    if (!ec)
        fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir))
        return Status::ioError(outDir + ": cannot create the model directory" + (ec ? ": " + ec.message() : ""));
    // A manifest from an earlier run here would list checkpoints this run is about to
    // overwrite one by one; without it the directory reads as "no model" until this
    // run's first checkpoint. (A resumed run keeps it: its checkpoints stay.) The same
    // goes for the record of how that run was trained.
    if (!config.resume) {
        fs::remove(dir / kModelManifestName, ec);
        if (ec)
            return Status::ioError((dir / kModelManifestName).string() + ": cannot remove the old manifest: " +
                                   ec.message());
    }
    fs::remove(dir / kTrainingRecordName, ec);

    try {
        return runTraining(train, test, classes, config, dir, callbacks, cancel);
    } catch (const c10::Error &e) {
        return Status::internal("training failed: " + std::string(e.what_without_backtrace()));
    } catch (const std::exception &e) {
        return Status::internal(std::string("training failed: ") + e.what());
    }
}

Result<std::vector<EpochReport>> trainBuiltinCnn(const TrainData &train, const TrainData &test,
                                                 const std::vector<std::string> &classes,
                                                 const TrainConfig &config, const std::string &outDir,
                                                 const TrainProgress &progress,
                                                 const std::function<void(const EpochReport &)> &onEpoch,
                                                 const std::atomic<bool> *cancel)
{
    TrainCallbacks callbacks;
    if (progress)
        callbacks.progress = [&](const TrainProgressInfo &p) { progress(p.epoch, p.seen, p.total, p.runningLoss); };
    callbacks.onEpoch = onEpoch;
    auto outcome = trainBuiltinCnn(train, test, classes, config, outDir, callbacks, cancel);
    if (!outcome.ok())
        return outcome.status();
    return std::move(outcome->epochs);
}

} // namespace traclens
