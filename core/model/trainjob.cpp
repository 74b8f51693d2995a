#include "model/trainjob.h"

#include "model/checkpointcheck.h"
#include "model/modelrunner.h"
#include "model/modeltrust.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

namespace fs = std::filesystem;

namespace traclens {

namespace {

// 8-bit image → spec.channels × spec.height × spec.width bytes (CHW, RGB order).
void toPixels(const cv::Mat &image, const InputSpec &spec, uint8_t *out)
{
    cv::Mat m = image;
    if (spec.channels == 1 && m.channels() != 1)
        cv::cvtColor(m, m, m.channels() == 4 ? cv::COLOR_BGRA2GRAY : cv::COLOR_BGR2GRAY);
    else if (spec.channels == 3 && m.channels() == 1)
        cv::cvtColor(m, m, cv::COLOR_GRAY2RGB);
    else if (spec.channels == 3 && m.channels() == 3)
        cv::cvtColor(m, m, cv::COLOR_BGR2RGB);
    else if (spec.channels == 3 && m.channels() == 4)
        cv::cvtColor(m, m, cv::COLOR_BGRA2RGB);
    if (m.rows != spec.height || m.cols != spec.width)
        cv::resize(m, m, cv::Size(spec.width, spec.height), 0, 0, cv::INTER_AREA);
    const int plane = spec.height * spec.width;
    for (int y = 0; y < spec.height; ++y) {
        const uint8_t *row = m.ptr<uint8_t>(y);
        for (int x = 0; x < spec.width; ++x)
            for (int c = 0; c < spec.channels; ++c)
                out[c * plane + y * spec.width + x] = row[x * spec.channels + c];
    }
}

std::string uniqueDirectory(const std::string &base)
{
    std::error_code ec;
    if (!fs::exists(base, ec))
        return base;
    for (int i = 2;; ++i) {
        const std::string candidate = base + "-" + std::to_string(i);
        if (!fs::exists(candidate, ec))
            return candidate;
    }
}

Result<int64_t> registerModel(ProjectDb &db, const ModelSpec &spec, const std::string &name, int embeddingDim)
{
    ModelRow row;
    row.name = name;
    row.directory = spec.directory;
    row.numClasses = int(spec.classes.size());
    row.embeddingDim = embeddingDim;
    std::vector<CheckpointRow> cps;
    for (size_t i = 0; i < spec.checkpoints.size(); ++i) {
        CheckpointRow c;
        c.order = int(i);
        c.file = spec.checkpointPath(i);
        c.learningRate = spec.checkpoints[i].learningRate;
        auto identity = readFileIdentity(c.file);
        if (!identity.ok())
            return identity.status();
        c.fileSize = identity->size;
        c.fileMtime = identity->mtime;
        c.contentHash = identity->sha256;
        cps.push_back(c);
    }
    return db.addModel(row, cps);
}

// Copies the manifest and the checkpoints of `spec` into a new directory under
// "<project>.d/models" and returns its path. Every copied checkpoint must hash like its
// original, so the identity registered from the copy is the original's content hash and a
// file that changed while it was read does not slip in.
Result<std::string> copyModelIntoProject(ProjectDb &db, const ModelSpec &spec, const ProgressFn &progress)
{
    const fs::path source(spec.directory);
    const std::string manifest = (source / kModelManifestName).string();
    std::vector<fs::path> files;
    for (size_t i = 0; i < spec.checkpoints.size(); ++i) {
        const fs::path rel = fs::path(spec.checkpoints[i].file).lexically_normal();
        if (rel.empty() || rel.is_absolute() || *rel.begin() == "..")
            return Status::invalid(manifest + ": checkpoints[" + std::to_string(i) + "].file '"
                                   + spec.checkpoints[i].file
                                   + "' lies outside the model directory, so the model cannot be copied into the "
                                     "project; import it without copying");
        files.push_back(rel);
    }
    std::error_code ec;
    const fs::path models = fs::path(db.sideDirectory()) / "models";
    fs::create_directories(models, ec);
    if (ec)
        return Status::ioError(models.string() + ": cannot create the folder for copied models: " + ec.message());
    const fs::path target = uniqueDirectory((models / source.filename()).string());
    if (!fs::create_directory(target, ec) || ec)
        return Status::ioError(target.string() + ": cannot create the model copy: "
                               + (ec ? ec.message() : std::string("it already exists")));
    auto failed = [&](Status s) {
        fs::remove_all(target, ec);
        return s;
    };
    fs::copy_file(manifest, target / kModelManifestName, ec);
    if (ec)
        return failed(Status::ioError(manifest + ": cannot copy it into " + target.string() + ": " + ec.message()));
    for (size_t i = 0; i < files.size(); ++i) {
        if (progress)
            progress({"import-model", "copying " + files[i].generic_string(), int64_t(i), int64_t(files.size())});
        const fs::path from = source / files[i];
        const fs::path to = target / files[i];
        fs::create_directories(to.parent_path(), ec);
        if (!ec)
            fs::copy_file(from, to, ec);
        if (ec)
            return failed(Status::ioError(from.string() + ": cannot copy it into " + target.string() + ": "
                                          + ec.message()));
        auto original = readFileIdentity(from.string());
        auto copy = readFileIdentity(to.string());
        if (!original.ok())
            return failed(original.status());
        if (!copy.ok())
            return failed(copy.status());
        if (original->sha256 != copy->sha256)
            return failed(Status::ioError(from.string() + ": the copy's content differs from the file (was it "
                                          "changed while it was copied?)"));
    }
    return target.string();
}

} // namespace

Status loadTrainData(ProjectDb &db, const std::vector<ExampleRow> &examples, const InputSpec &spec, TrainData *data,
                     const ProgressFn &progress, const CancelFlag *cancel)
{
    auto info = db.dataset();
    if (!info.ok())
        return info.status();
    if (!info->has_value())
        return Status::invalid(db.path() + ": the project has no dataset; import one first");
    ImageStore store((*info)->kind, (*info)->root);
    const size_t per = size_t(spec.channels) * spec.height * spec.width;
    data->input = spec;
    data->pixels.resize(examples.size() * per);
    data->labels.resize(examples.size());
    for (size_t i = 0; i < examples.size(); ++i) {
        if ((i & 1023) == 0) {
            if (isCancelled(cancel))
                return Status::cancelled();
            if (progress)
                progress({"train", "reading images", int64_t(i), int64_t(examples.size())});
        }
        auto image = store.load(examples[i].source);
        if (!image.ok())
            return image.status();
        toPixels(*image, spec, data->pixels.data() + i * per);
        data->labels[i] = examples[i].currentLabel;
    }
    return Status::ok();
}

void setPixelStatistics(TrainData *data)
{
    InputSpec &spec = data->input;
    spec.mean.assign(size_t(spec.channels), 0.0f);
    spec.std.assign(size_t(spec.channels), 1.0f);
    const size_t plane = size_t(spec.height) * spec.width;
    const size_t n = data->labels.size();
    for (int c = 0; c < spec.channels; ++c) {
        double s = 0.0, s2 = 0.0;
        for (size_t i = 0; i < n; ++i) {
            const uint8_t *p = data->pixels.data() + (i * size_t(spec.channels) + size_t(c)) * plane;
            for (size_t j = 0; j < plane; ++j) {
                const double v = p[j] / 255.0;
                s += v;
                s2 += v * v;
            }
        }
        const double count = double(n * plane);
        const double mean = s / count;
        spec.mean[size_t(c)] = float(mean);
        // A constant channel would divide by zero: its spread is floored.
        spec.std[size_t(c)] = float(std::max(1e-3, std::sqrt(std::max(0.0, s2 / count - mean * mean))));
    }
}

Result<int64_t> trainProjectModel(ProjectDb &db, const TrainConfig &config, const std::string &name,
                                  const ProgressFn &progress, const CancelFlag *cancel)
{
    auto info = db.dataset();
    if (!info.ok())
        return info.status();
    if (!info->has_value())
        return Status::invalid(db.path() + ": the project has no dataset; import one first");
    auto train = db.examples(Split::Train);
    if (!train.ok())
        return train.status();
    auto test = db.examples(Split::Test);
    if (!test.ok())
        return test.status();
    if (train->empty())
        return Status::invalid(db.path() + ": the dataset has no training examples");
    const auto &classes = (*info)->classes;
    if (classes.size() < 2)
        return Status::invalid(db.path() + ": training needs at least two classes; the dataset has "
                               + std::to_string(classes.size()));

    // Input shape from the first training image: its channel count and size, capped at
    // 64 pixels a side so the built-in CNN stays small.
    InputSpec spec;
    {
        ImageStore store((*info)->kind, (*info)->root);
        auto first = store.load(train->front().source);
        if (!first.ok())
            return first.status();
        spec.channels = first->channels() == 1 ? 1 : 3;
        spec.height = std::min(64, first->rows);
        spec.width = std::min(64, first->cols);
    }
    TrainData trainData, testData;
    TL_RETURN_IF_ERROR(loadTrainData(db, *train, spec, &trainData, progress, cancel));
    TL_RETURN_IF_ERROR(loadTrainData(db, *test, spec, &testData, progress, cancel));

    // Per-channel mean and standard deviation of the training pixels.
    trainData.input = spec;
    setPixelStatistics(&trainData);
    spec = trainData.input;
    testData.input = spec;

    // An unfinished training of this name (killed, cancelled or failed) is recorded in the
    // jobs table with its directory; training into that directory again resumes it when
    // data and config are unchanged (the trainer checks), else starts it afresh there.
    const std::string jobName = "train:" + name;
    std::string dir;
    if (auto job = db.job(jobName); job.ok() && job->has_value() && (*job)->state != "done") {
        std::error_code ec;
        // Resuming loads the saved weights, so only from inside the project: a jobs row
        // naming a folder elsewhere (a crafted project) starts afresh instead.
        if (!(*job)->message.empty() && fs::is_directory((*job)->message, ec)
            && isInsideDirectory((*job)->message, db.sideDirectory()))
            dir = (*job)->message;
    }
    TrainConfig cfg = config;
    cfg.resume = !dir.empty();
    if (dir.empty())
        dir = uniqueDirectory((fs::path(db.sideDirectory()) / "models" / name).string());
    auto nowMs = [] {
        using namespace std::chrono;
        return int64_t(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
    };
    // The jobs row counts epochs: the fixed count, or the adaptive mode's limit.
    const int plannedEpochs =
        config.adaptive.enabled ? adaptiveMaxEpochsFor(trainData.count(), config.adaptive) : config.epochs;
    TL_RETURN_IF_ERROR(db.setJob({jobName, "running", 0, plannedEpochs, nowMs(), dir}));
    TrainCallbacks callbacks;
    callbacks.progress = [&](const TrainProgressInfo &p) {
        if (!progress)
            return;
        char detail[160];
        int len = 0;
        if (p.phase == 1)
            len = std::snprintf(detail, sizeof detail, "validation run, epoch %d (at most %d), loss %.3f", p.epoch,
                                p.epochs, p.runningLoss);
        else
            len = std::snprintf(detail, sizeof detail, "epoch %d of %d, loss %.3f", p.epoch, p.epochs, p.runningLoss);
        if (p.remainingSeconds >= 0.0 && len > 0 && size_t(len) < sizeof detail) {
            const long long s = std::llround(p.remainingSeconds);
            // The validation run's estimate assumes it ends as early as it can.
            std::snprintf(detail + len, sizeof detail - size_t(len), ", %s%lld:%02lld left",
                          p.phase == 1 ? "at least " : "", s / 60, s % 60);
        }
        progress({"train", detail, p.workDone, p.workTotal});
    };
    callbacks.onEpoch = [&](const EpochReport &r) {
        db.setJob({jobName, "running", r.epoch, plannedEpochs, nowMs(), dir});
    };
    auto outcome = trainBuiltinCnn(trainData, testData, classes, cfg, dir, callbacks, cancel);
    if (!outcome.ok()) {
        db.setJob({jobName, outcome.status().isCancelled() ? "cancelled" : "failed", 0, plannedEpochs, nowMs(), dir});
        return outcome.status();
    }
    const std::vector<EpochReport> *reports = &outcome->epochs;

    auto modelSpec = readModelSpec(dir);
    if (!modelSpec.ok())
        return modelSpec.status();
    ProjectDb::Transaction tx(db);
    TL_RETURN_IF_ERROR(tx.status());
    auto id = registerModel(db, *modelSpec, fs::path(dir).filename().string(), config.embeddingDim);
    if (!id.ok())
        return id.status();
    std::vector<EpochRow> epochs;
    for (const auto &r : *reports)
        epochs.push_back({r.epoch, r.learningRate, r.trainLoss, r.trainAccuracy, r.testLoss, r.testAccuracy});
    TL_RETURN_IF_ERROR(db.setEpochs(*id, epochs));
    TL_RETURN_IF_ERROR(storeTrainingRecord(db, *id, outcome->record));
    TL_RETURN_IF_ERROR(db.setActiveModel(*id));
    const int trained = int(reports->size());
    TL_RETURN_IF_ERROR(db.setJob({jobName, "done", trained, trained, nowMs(), dir}));
    TL_RETURN_IF_ERROR(tx.commit());
    return id;
}

namespace {

std::string trainingRecordKey(int64_t modelId)
{
    return "training:" + std::to_string(modelId);
}

} // namespace

Status storeTrainingRecord(ProjectDb &db, int64_t modelId, const TrainingRecord &record)
{
    return db.setMeta(trainingRecordKey(modelId), trainingRecordToJson(record));
}

Result<std::optional<TrainingRecord>> storedTrainingRecord(ProjectDb &db, int64_t modelId)
{
    auto stored = db.meta(trainingRecordKey(modelId));
    if (!stored.ok())
        return stored.status();
    if (!stored->has_value())
        return std::optional<TrainingRecord>();
    auto record = parseTrainingRecord(**stored);
    if (!record.ok())
        return record.status().withContext(db.path() + ": meta " + trainingRecordKey(modelId));
    return std::optional<TrainingRecord>(std::move(*record));
}

Result<int64_t> importModel(ProjectDb &db, const std::string &directory, const ProgressFn &progress,
                            const ModelImportOptions &options)
{
    auto spec = readModelSpec(directory);
    if (!spec.ok())
        return spec.status();
    auto classes = db.classes();
    if (!classes.ok())
        return classes.status();
    if (classes->empty())
        return Status::invalid(db.path() + ": import a dataset before a model");
    if (spec->classes != *classes) {
        std::string detail = "the model lists " + std::to_string(spec->classes.size()) + " classes, the dataset "
                             + std::to_string(classes->size());
        for (size_t i = 0; i < std::min(spec->classes.size(), classes->size()); ++i) {
            if (spec->classes[i] != (*classes)[i]) {
                detail += "; class " + std::to_string(i) + " is '" + spec->classes[i] + "' in the model but '"
                          + (*classes)[i] + "' in the dataset";
                break;
            }
        }
        return Status::invalid(directory + "/" + kModelManifestName + ": classes do not match the project (" + detail
                               + ")");
    }
    // The name is the original folder's, also for a copy (whose folder may be "<name>-2").
    const std::string name = fs::path(spec->directory).filename().string();
    std::string copied;
    // Removes a copy that did not get registered, whatever step fails below.
    struct CopyGuard {
        std::string *dir;
        ~CopyGuard()
        {
            std::error_code ec;
            if (!dir->empty())
                fs::remove_all(*dir, ec);
        }
    } guard{&copied};
    if (options.copyIntoProject) {
        if (db.isReadOnly())
            return Status::invalid(db.path() + ": the project is open read-only; a model cannot be copied into it");
        auto target = copyModelIntoProject(db, *spec, progress);
        if (!target.ok())
            return target.status();
        copied = *target;
        // Everything below (loading, registering) works on the copy: what runs later is
        // what is checked now.
        spec = readModelSpec(copied);
        if (!spec.ok())
            return spec.status();
    }
    int embeddingDim = 0;
    for (size_t i = 0; i < spec->checkpoints.size(); ++i) {
        if (progress)
            progress({"import-model", "checking " + spec->checkpoints[i].file, int64_t(i),
                      int64_t(spec->checkpoints.size())});
        auto runner = ModelRunner::load(*spec, i);
        if (!runner.ok())
            return runner.status();
        if (embeddingDim && (*runner)->embeddingDim() != embeddingDim)
            return Status::invalid(spec->checkpointPath(i) + ": embedding size "
                                   + std::to_string((*runner)->embeddingDim()) + " differs from the first checkpoint's "
                                   + std::to_string(embeddingDim));
        embeddingDim = (*runner)->embeddingDim();
    }
    ProjectDb::Transaction tx(db);
    TL_RETURN_IF_ERROR(tx.status());
    auto id = registerModel(db, *spec, name, embeddingDim);
    if (!id.ok())
        return id.status();
    // The user chose this directory to import, and its checkpoints were just loaded: that
    // is trusting it, recorded so later runs do not ask again.
    TL_RETURN_IF_ERROR(trustModelDirectory(db, spec->directory));
    TL_RETURN_IF_ERROR(db.setActiveModel(*id));
    TL_RETURN_IF_ERROR(tx.commit());
    copied.clear(); // registered: the copy stays
    return id;
}

} // namespace traclens
