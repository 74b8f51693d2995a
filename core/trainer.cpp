#include "trainer.h"
#include "filereader.h"

#include "builtincnn.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include <array>
#include <cmath>
#include <filesystem>
#include <numeric>
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

double learningRateForEpoch(const TrainConfig &config, int epoch)
{
    if (config.lrDecayEvery <= 0)
        return config.learningRate;
    return config.learningRate * std::pow(config.lrDecay, double((epoch - 1) / config.lrDecayEvery));
}

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

// Saves beside the final name and renames, so a crash mid-save never leaves a
// truncated ckpt-N.pt that a later manifest could point to.
Status saveCheckpoint(BuiltinCnn &model, const fs::path &path)
{
    const fs::path part = path.string() + ".part";
    try {
        torch::save(model, part.string());
    } catch (const c10::Error &e) {
        return Status::ioError(path.string() + ": cannot save the checkpoint: " + e.what_without_backtrace());
    }
    std::error_code ec;
    fs::rename(part, path, ec);
    if (ec) {
        fs::remove(part, ec);
        return Status::ioError(path.string() + ": cannot save the checkpoint: " + ec.message());
    }
    return Status::ok();
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
    h = fnv1a(h, in.mean.data(), in.mean.size() * sizeof(float));
    h = fnv1a(h, in.std.data(), in.std.size() * sizeof(float));
    const double rates[] = {c.learningRate, c.lrDecay};
    h = fnv1a(h, rates, sizeof rates);
    h = fnv1a(h, &c.seed, sizeof c.seed);
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
    return buf;
}

struct ResumeState {
    int epoch = 0;
    std::string weights;                     // relative to the directory
    std::vector<CheckpointSpec> checkpoints;
    std::vector<EpochReport> reports;
};

Status writeResumeState(const fs::path &dir, const std::string &fingerprint, const ResumeState &st)
{
    QJsonArray cps, reps;
    for (const auto &cp : st.checkpoints)
        cps.append(QJsonObject{{"file", QString::fromStdString(cp.file)}, {"learning_rate", cp.learningRate}});
    for (const auto &r : st.reports)
        reps.append(QJsonObject{{"epoch", r.epoch}, {"learning_rate", r.learningRate}, {"train_loss", r.trainLoss},
                                {"train_accuracy", r.trainAccuracy}, {"test_loss", r.testLoss},
                                {"test_accuracy", r.testAccuracy},
                                {"checkpoint", QString::fromStdString(r.checkpointFile)}});
    const QJsonObject o{{"fingerprint", QString::fromStdString(fingerprint)}, {"epoch", st.epoch},
                        {"weights", QString::fromStdString(st.weights)}, {"checkpoints", cps}, {"reports", reps}};
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
    st.epoch = o.value("epoch").toInt();
    st.weights = o.value("weights").toString().toStdString();
    std::error_code ec;
    if (st.epoch < 1 || st.weights.empty() || st.weights.find('/') != std::string::npos
        || !fs::is_regular_file(dir / st.weights, ec))
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
    if (int(st.reports.size()) != st.epoch)
        return std::nullopt;
    return st;
}

void removeResumeState(const fs::path &dir)
{
    std::error_code ec;
    fs::remove(dir / kStateName, ec);
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.rfind("state-", 0) == 0 && name.size() > 9 && name.compare(name.size() - 3, 3, ".pt") == 0)
            fs::remove(it->path(), ec);
    }
}

Result<std::vector<EpochReport>> runTraining(const TrainData &trainData, const TrainData &testData,
                                             const std::vector<std::string> &classes, const TrainConfig &config,
                                             const fs::path &dir, const TrainProgress &progress,
                                             const std::function<void(const EpochReport &)> &onEpoch,
                                             const std::atomic<bool> *cancel)
{
    const InputSpec &in = trainData.input;
    BuiltinCnnShape shape;
    shape.channels = in.channels;
    shape.height = in.height;
    shape.width = in.width;
    shape.convWidth = config.width;
    shape.embeddingDim = config.embeddingDim;
    shape.classes = int(classes.size());

    // Seeds LibTorch's global generator (weight initialisation); the shuffle has its
    // own generator so the data order does not depend on how many numbers init drew.
    torch::manual_seed(config.seed);
    BuiltinCnn model(shape);
    model->train();
    // Plain SGD: no momentum, dampening or weight decay. TracIn's sum over checkpoints
    // of η·∇ℓ·∇ℓ′ is a first-order account of exactly this update rule.
    torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(config.learningRate)
                                                         .momentum(0.0)
                                                         .dampening(0.0)
                                                         .weight_decay(0.0)
                                                         .nesterov(false));
    const BatchMaker maker(in);

    ModelSpec spec;
    spec.directory = dir.string();
    spec.classes = classes;
    spec.input = in;
    spec.architecture = "builtin-cnn";
    spec.width = config.width;
    spec.embeddingDim = config.embeddingDim;

    const int64_t n = trainData.count();
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t(0));
    std::vector<float> x(size_t(config.batchSize) * in.floatsPerImage());
    std::vector<int64_t> y(size_t(config.batchSize));
    std::vector<EpochReport> reports;

    const std::string fingerprint = trainingFingerprint(trainData, testData, classes, config);
    int firstEpoch = 1;
    if (config.resume) {
        if (auto st = readResumeState(dir, fingerprint)) {
            // Loaded beside the model first: unreadable weights are not an error, the run
            // then starts afresh from the freshly initialised model.
            bool loaded = false;
            BuiltinCnn saved(shape);
            try {
                torch::load(saved, (dir / st->weights).string());
                loaded = true;
            } catch (const c10::Error &) {
            }
            if (loaded) {
                torch::NoGradGuard noGrad;
                const auto to = model->parameters();
                const auto from = saved->parameters();
                for (size_t i = 0; i < to.size() && i < from.size(); ++i)
                    to[i].copy_(from[i]);
                firstEpoch = st->epoch + 1;
                spec.checkpoints = st->checkpoints;
                reports = st->reports;
            }
        }
    }
    if (firstEpoch == 1) {
        std::error_code ec;
        fs::remove(dir / kModelManifestName, ec);
        removeResumeState(dir);
    }
    std::string previousStateWeights;

    auto cancelled = [&](int epoch) {
        return Status::cancelled("training cancelled in epoch " + std::to_string(epoch) + "; " +
                                 std::to_string(spec.checkpoints.size()) + " checkpoint(s) kept in " + dir.string());
    };

    for (int epoch = firstEpoch; epoch <= config.epochs; ++epoch) {
        EpochReport report;
        report.epoch = epoch;
        report.learningRate = learningRateForEpoch(config, epoch);
        for (auto &group : optimizer.param_groups())
            static_cast<torch::optim::SGDOptions &>(group.options()).lr(report.learningRate);

        // The order of epoch e depends only on (seed, e), so a resumed run sees the same
        // batches as an uninterrupted one.
        std::iota(order.begin(), order.end(), int64_t(0));
        std::mt19937_64 rng(config.seed * 0x9E3779B97F4A7C15ull + uint64_t(epoch));
        shuffleOrder(order, rng);
        double lossSum = 0.0;
        int64_t correct = 0;
        int64_t seen = 0;
        while (seen < n) {
            if (cancelRequested(cancel))
                return cancelled(epoch);
            const int b = int(std::min<int64_t>(config.batchSize, n - seen));
            maker.fill(trainData, order.data() + seen, b, x.data(), y.data());
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
                                       " (loss is not finite); lower the learning rate (" +
                                       std::to_string(report.learningRate) + ")");
            lossSum += batchLoss * b;
            correct += logits.argmax(1).eq(yt).sum().item<int64_t>();
            seen += b;
            if (progress)
                progress(epoch, seen, n, lossSum / double(seen));
        }
        report.trainLoss = lossSum / double(n);
        report.trainAccuracy = double(correct) / double(n);

        if (testData.count() > 0) {
            Evaluation eval;
            if (!evaluate(model, testData, maker, in, cancel, &eval))
                return cancelled(epoch);
            report.testLoss = eval.loss;
            report.testAccuracy = eval.accuracy;
        }

        // The last epoch is always kept: TracIn without the final weights would miss
        // the model people actually look at.
        if (epoch % config.checkpointEvery == 0 || epoch == config.epochs) {
            const std::string file = "ckpt-" + std::to_string(epoch) + ".pt";
            TL_RETURN_IF_ERROR(saveCheckpoint(model, dir / file));
            spec.checkpoints.push_back({file, report.learningRate});
            // Rewritten after every checkpoint so that a run stopped at any point leaves
            // a directory that readModelSpec accepts.
            TL_RETURN_IF_ERROR(writeModelSpec(spec));
            report.checkpointFile = file;
        }
        reports.push_back(report);
        if (epoch < config.epochs) {
            // The resume state: the weights (the checkpoint when there is one), then the
            // state file naming them; the older weights file goes only after that.
            std::string weights = report.checkpointFile;
            if (weights.empty()) {
                weights = "state-" + std::to_string(epoch) + ".pt";
                TL_RETURN_IF_ERROR(saveCheckpoint(model, dir / weights));
            }
            TL_RETURN_IF_ERROR(writeResumeState(dir, fingerprint, {epoch, weights, spec.checkpoints, reports}));
            if (!previousStateWeights.empty() && previousStateWeights.rfind("state-", 0) == 0) {
                std::error_code ec;
                fs::remove(dir / previousStateWeights, ec);
            }
            previousStateWeights = weights;
        } else {
            removeResumeState(dir);
        }
        if (onEpoch)
            onEpoch(report);
    }
    if (firstEpoch > config.epochs)
        removeResumeState(dir);
    return reports;
}

} // namespace

Result<std::vector<EpochReport>> trainBuiltinCnn(const TrainData &train, const TrainData &test,
                                                 const std::vector<std::string> &classes,
                                                 const TrainConfig &config, const std::string &outDir,
                                                 const TrainProgress &progress,
                                                 const std::function<void(const EpochReport &)> &onEpoch,
                                                 const std::atomic<bool> *cancel)
{
    if (classes.size() < 2)
        return Status::invalid("training: at least 2 classes are needed");
    if (config.width <= 0 || config.embeddingDim <= 0 || config.epochs <= 0 || config.batchSize <= 0 ||
        config.checkpointEvery <= 0)
        return Status::invalid("training: width, embedding size, epochs, batch size and checkpoint interval must "
                               "be positive");
    if (!(config.learningRate > 0.0) || !std::isfinite(config.learningRate) || !(config.lrDecay > 0.0) ||
        !std::isfinite(config.lrDecay))
        return Status::invalid("training: the learning rate and its decay factor must be positive numbers");
    if (train.count() == 0)
        return Status::invalid("training: there are no training examples");
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
    // run's first checkpoint. (A resumed run keeps it: its checkpoints stay.)
    if (!config.resume) {
        fs::remove(dir / kModelManifestName, ec);
        if (ec)
            return Status::ioError((dir / kModelManifestName).string() + ": cannot remove the old manifest: " +
                                   ec.message());
    }

    try {
        return runTraining(train, test, classes, config, dir, progress, onEpoch, cancel);
    } catch (const c10::Error &e) {
        return Status::internal("training failed: " + std::string(e.what_without_backtrace()));
    } catch (const std::exception &e) {
        return Status::internal(std::string("training failed: ") + e.what());
    }
}

} // namespace traclens
