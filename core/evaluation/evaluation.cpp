#include "evaluation/evaluation.h"

#include "model/crossvalidation.h"
#include "util/filereader.h"

#include "evaluation/chartimage.h"
#include "evaluation/detectionmetrics.h"
#include "evaluation/evaluationtruth.h"
#include "evaluation/imagesheet.h"
#include "data/imagedecoder.h"
#include "store/importer.h"
#include "model/modelrunner.h"
#include "model/modelspec.h"
#include "evaluation/retrain.h"
#include "model/trainjob.h"

#include <QByteArray>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <unordered_map>

namespace fs = std::filesystem;

namespace traclens {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char *kProjectName = "evaluation.traclens";
constexpr const char *kCleaningDir = "cleaning";
constexpr const char *kFingerprintKey = "evaluation_fingerprint";
constexpr const char *kConfusionKey = "evaluation_confusion";
constexpr const char *kTruthKey = "evaluation_truth";
constexpr const char *kCleanModelName = "clean-labels";
constexpr int kCurvePoints = 200;

double since(Clock::time_point t)
{
    return std::chrono::duration<double>(Clock::now() - t).count();
}

QJsonObject trainConfigJson(const TrainConfig &c)
{
    QJsonObject o = trainConfigToJson(c);
    o["adaptive"] = c.adaptive.enabled;
    o["time_budget_seconds"] = c.adaptive.timeBudgetSeconds;
    return o;
}

// FNV-1a of a string: a content key, not a security measure.
uint64_t fnv1a(const std::string &bytes)
{
    uint64_t h = 1469598103934665603ull;
    for (unsigned char ch : bytes) {
        h ^= ch;
        h *= 1099511628211ull;
    }
    return h;
}

// Everything that decides the project's contents up to the trained model; a work
// directory made with another fingerprint is not reused. Keys for the noise type and
// its matrix are added only for non-uniform noise, so work directories of uniform runs
// made before noise types existed are still resumed.
std::string fingerprint(const EvaluationConfig &c)
{
    std::error_code ec;
    const fs::path dataset = fs::absolute(c.dataset, ec);
    QJsonObject o{{"dataset", QString::fromStdString(dataset.lexically_normal().string())},
                  {"noise_rate", c.noiseRate},
                  {"noise_seed", QString::number(qulonglong(c.noiseSeed))},
                  {"train_limit", qint64(c.trainLimit)},
                  {"test_limit", qint64(c.testLimit)},
                  {"train", trainConfigJson(c.train)}};
    if (c.noiseType != NoiseType::Uniform && c.noiseRate > 0.0)
        o.insert("noise_type", noiseTypeName(c.noiseType));
    if (c.noiseType == NoiseType::Confusion && c.noiseRate > 0.0 && !c.confusionFile.empty()) {
        Result<std::string> bytes = readFileCapped(c.confusionFile, kMaxJsonFileBytes, "a confusion matrix");
        o.insert("confusion_file", QString::number(qulonglong(bytes.ok() ? fnv1a(*bytes) : 0), 16));
    }
    return QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString();
}

QJsonArray matrixJson(const std::vector<std::vector<double>> &m)
{
    QJsonArray rows;
    for (const auto &row : m) {
        QJsonArray r;
        for (double v : row)
            r.append(v);
        rows.append(r);
    }
    return rows;
}

std::vector<std::vector<double>> matrixFrom(const QJsonArray &rows)
{
    std::vector<std::vector<double>> m;
    for (const auto &r : rows) {
        std::vector<double> row;
        for (const auto &v : r.toArray())
            row.push_back(v.toDouble());
        m.push_back(std::move(row));
    }
    return m;
}

// Counts of (true class, predicted class) of the model's last checkpoint on the test
// split. The images are read and converted as compute reads them (toModelInput), so the
// predictions are the model's own.
Result<std::vector<std::vector<double>>> testConfusion(ProjectDb &db, int64_t modelId, const CancelFlag *cancel)
{
    auto info = db.dataset();
    if (!info.ok())
        return info.status();
    if (!info->has_value())
        return Status::invalid(db.path() + ": the project has no dataset");
    auto test = db.examples(Split::Test);
    if (!test.ok())
        return test.status();
    if (test->empty())
        return Status::invalid("evaluation: confusion noise measures a model's confusion on the test split, and "
                               + (*info)->root + " has no test split; give a matrix file (--confusion FILE)");
    auto model = db.model(modelId);
    if (!model.ok())
        return model.status();
    auto spec = readModelSpec(model->directory);
    if (!spec.ok())
        return spec.status();
    if (spec->checkpoints.empty())
        return Status::invalid(model->directory + ": the model has no checkpoints");
    auto runner = ModelRunner::load(*spec, spec->checkpoints.size() - 1);
    if (!runner.ok())
        return runner.status();
    const int k = int(spec->classes.size());
    std::vector<std::vector<double>> counts(size_t(k), std::vector<double>(size_t(k), 0.0));
    ImageStore store((*info)->kind, (*info)->root);
    const size_t per = spec->input.floatsPerImage();
    constexpr size_t kBatch = 256;
    std::vector<float> input;
    BatchOutput out;
    for (size_t start = 0; start < test->size(); start += kBatch) {
        if (isCancelled(cancel))
            return Status::cancelled("evaluation cancelled");
        const size_t n = std::min(kBatch, test->size() - start);
        input.assign(n * per, 0.0f);
        for (size_t i = 0; i < n; ++i) {
            TL_RETURN_IF_ERROR(store.loadModelInput((*test)[start + i].source, spec->input, input.data() + i * per));
        }
        TL_RETURN_IF_ERROR((*runner)->run(input.data(), int(n), &out));
        for (size_t i = 0; i < n; ++i) {
            const float *logits = out.logits.data() + i * size_t(out.numClasses);
            const int predicted = int(std::max_element(logits, logits + out.numClasses) - logits);
            const int label = (*test)[start + i].currentLabel;
            if (label >= 0 && label < k && predicted < k)
                counts[size_t(label)][size_t(predicted)] += 1.0;
        }
    }
    return counts;
}

// Deletes only what an evaluation creates in its work directory.
Status resetWorkDirectory(const fs::path &work)
{
    std::error_code ec;
    for (const char *suffix : {"", "-wal", "-shm", "-journal"})
        fs::remove(work / (std::string(kProjectName) + suffix), ec);
    fs::remove_all(work / (std::string(kProjectName) + ".d"), ec);
    fs::remove_all(work / kCleaningDir, ec);
    if (ec)
        return Status::ioError(work.string() + ": cannot clear the previous evaluation: " + ec.message());
    return Status::ok();
}

// Keeps a seeded sample of `limit` examples of `rows` (all when limit is 0 or larger).
std::vector<int64_t> sampleIds(const std::vector<ExampleRow> &rows, int64_t limit, uint64_t seed)
{
    std::vector<int64_t> ids;
    for (const auto &r : rows)
        ids.push_back(r.id);
    if (limit <= 0 || limit >= int64_t(ids.size()))
        return ids;
    std::mt19937_64 rng(seed);
    for (int64_t i = 0; i < limit; ++i) {
        const uint64_t bound = uint64_t(ids.size()) - uint64_t(i);
        const uint64_t cap = UINT64_MAX - UINT64_MAX % bound;
        uint64_t r;
        do {
            r = rng();
        } while (r >= cap);
        std::swap(ids[size_t(i)], ids[size_t(i) + size_t(r % bound)]);
    }
    ids.resize(size_t(limit));
    std::sort(ids.begin(), ids.end());
    return ids;
}

// Stage times survive a resumed run, so the report states what a fresh run costs.
Status storeSeconds(ProjectDb &db, const std::string &stage, double seconds)
{
    return db.setMeta("evaluation_seconds:" + stage, std::to_string(seconds));
}

double storedSeconds(ProjectDb &db, const std::string &stage)
{
    auto v = db.meta("evaluation_seconds:" + stage);
    if (!v.ok() || !v->has_value())
        return 0.0;
    return std::atof((**v).c_str());
}

// The time a resumable stage (factors, cross-validation) has spent in sittings that did not
// finish it. A kill ends a sitting before storeSeconds runs, yet the work it did is kept and
// resumed, so the next sitting adds what the killed one recorded here; otherwise a resumed
// stage would report only its last sitting. Written at most once a second from the stage's
// progress callback (a small file beside the project, not the database, whose transactions
// the callback may run inside), so a kill loses about a second of it. Thread-safe.
class SittingClock {
public:
    SittingClock(const fs::path &work, const std::string &stage)
        : m_file(work / (std::string(kProjectName) + ".d") / ("sitting-" + stage + ".txt")), m_start(Clock::now())
    {
        std::ifstream in(m_file);
        double s = 0.0;
        if (in >> s && std::isfinite(s) && s > 0.0)
            m_carried = s;
    }

    // Seconds of the earlier unfinished sittings.
    double carried() const { return m_carried; }
    // Those plus this sitting's so far.
    double seconds() const { return m_carried + since(m_start); }

    // Wraps `inner` (may be empty) so that each progress report records the time.
    ProgressFn wrap(ProgressFn inner)
    {
        return [this, inner = std::move(inner)](const Progress &p) {
            tick();
            if (inner)
                inner(p);
        };
    }

    // The stage finished and its time is stored: nothing is carried any more.
    void finish()
    {
        std::error_code ec;
        fs::remove(m_file, ec);
    }

private:
    void tick()
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        const auto now = Clock::now();
        if (m_written && now - m_lastWrite < std::chrono::seconds(1))
            return;
        m_written = true;
        m_lastWrite = now;
        // Best effort: a failed write costs only the time figure, never the evaluation.
        std::error_code ec;
        const fs::path tmp = m_file.string() + ".tmp";
        {
            std::ofstream out(tmp, std::ios::trunc);
            out << seconds() << '\n';
            if (!out)
                return;
        }
        fs::rename(tmp, m_file, ec);
    }

    fs::path m_file;
    Clock::time_point m_start;
    double m_carried = 0.0;
    std::mutex m_mutex;
    bool m_written = false;
    Clock::time_point m_lastWrite;
};

RankingEvaluation evaluateRanking(const std::string &name, const RankingSpec &spec, const std::vector<double> &scores,
                                  const CheckpointTerms &terms, const std::vector<char> &flipped,
                                  const std::vector<double> &budgets, bool withCurve)
{
    RankingEvaluation r;
    r.name = name;
    r.spec = spec;
    std::unordered_map<int64_t, size_t> rowOf;
    for (size_t i = 0; i < terms.ids.size(); ++i)
        rowOf.emplace(terms.ids[i], i);
    const auto order = sortRanking(terms.ids, scores);
    std::vector<char> inOrder(order.size());
    for (size_t i = 0; i < order.size(); ++i)
        inOrder[i] = flipped[rowOf.at(order[i].exampleId)];
    for (double b : budgets)
        r.recall.push_back(recallAtFraction(inOrder, b));
    r.auc = rocAuc(scores, flipped);
    if (withCurve)
        r.curve = recallCurve(inOrder, kCurvePoints);
    return r;
}

// The first unflipped examples of the default queue (UnflippedSuspect). The class and
// p[label] come from the fold model that never trained on the example when there is one:
// the evaluated model has fitted the label it is asked about. The images are read for the
// report's picture only, so an image that cannot be read leaves its tile empty instead of
// failing an evaluation whose numbers are all measured.
constexpr int kSuspectImageSide = 224; // twice the picture's tile

Status listUnflippedAtTop(ProjectDb &db, const CheckpointTerms &terms, const std::unordered_map<int64_t, size_t> &rowOf,
                          const std::vector<double> &defaultScores, const std::vector<char> &flipped,
                          EvaluationReport *rep)
{
    const OutOfSampleTerms *oos = terms.outOfSample.get();
    const auto order = sortRanking(terms.ids, defaultScores);
    for (size_t r = 0; r < order.size() && rep->unflippedAtTop.size() < size_t(kUnflippedSuspectsShown); ++r) {
        const size_t row = rowOf.at(order[r].exampleId);
        if (flipped[row])
            continue;
        UnflippedSuspect s;
        s.id = order[r].exampleId;
        s.rank = int64_t(r) + 1;
        s.label = terms.labels[row];
        s.modelClass = terms.predictedLast[row];
        s.labelProbability = terms.labelProbLast[row];
        if (oos && oos->numClasses > 0 && oos->numCheckpoints() > 0) {
            const auto it = std::lower_bound(oos->ids.begin(), oos->ids.end(), s.id);
            if (it != oos->ids.end() && *it == s.id && s.label >= 0 && s.label < oos->numClasses) {
                const size_t k = size_t(oos->numClasses);
                const size_t at = (size_t(it - oos->ids.begin()) * size_t(oos->numCheckpoints())
                                   + size_t(oos->numCheckpoints() - 1)) * k;
                const float *p = oos->probs.data() + at;
                s.modelClass = int(std::max_element(p, p + k) - p);
                s.labelProbability = p[s.label];
                s.outOfSample = true;
            }
        }
        rep->unflippedAtTop.push_back(std::move(s));
    }
    if (rep->unflippedAtTop.empty())
        return Status::ok();
    auto info = db.dataset();
    if (!info.ok())
        return info.status();
    if (!info->has_value())
        return Status::ok();
    const ImageStore store((*info)->kind, (*info)->root);
    for (UnflippedSuspect &s : rep->unflippedAtTop) {
        auto example = db.example(s.id);
        if (!example.ok())
            return example.status();
        s.source = example->source;
        // A photo dataset's images can be megapixels each; the picture draws them at tile
        // size, so only a small copy is kept.
        if (auto mat = store.load(s.source); mat.ok()) {
            s.image = matToQImage(*mat);
            if (s.image.width() > kSuspectImageSide || s.image.height() > kSuspectImageSide)
                s.image = s.image.scaled(kSuspectImageSide, kSuspectImageSide, Qt::KeepAspectRatio,
                                         Qt::SmoothTransformation);
        }
    }
    return Status::ok();
}

// Every distinct (checkpoint set, weights) the policy space offers for C checkpoints.
std::vector<CheckpointPolicy> studyPolicies(const std::vector<double> &eta)
{
    const int nc = int(eta.size());
    std::vector<CheckpointPolicy> out;
    std::set<std::vector<double>> seen; // normalised weight vectors
    for (int skip = 0; skip < nc; ++skip) {
        for (int last = 0; last <= nc - skip; ++last) {
            for (auto w : {CheckpointPolicy::Weighting::LearningRate, CheckpointPolicy::Weighting::Uniform}) {
                const CheckpointPolicy p{skip, last, w};
                if (last > 0 && last == nc - skip)
                    continue; // the same as last = 0
                std::vector<double> weights(size_t(nc), 0.0);
                double sum = 0.0;
                for (int c : p.select(nc)) {
                    weights[size_t(c)] = w == CheckpointPolicy::Weighting::LearningRate ? eta[size_t(c)] : 1.0;
                    sum += weights[size_t(c)];
                }
                for (double &x : weights)
                    x = std::round(x / sum * 1e9) / 1e9;
                if (seen.insert(weights).second)
                    out.push_back(p);
            }
        }
    }
    return out;
}

int epochOfCheckpoint(const std::string &file, int fallback)
{
    const std::string name = fs::path(file).filename().string();
    const size_t at = name.find("ckpt-");
    if (at == std::string::npos)
        return fallback;
    return std::atoi(name.c_str() + at + 5) > 0 ? std::atoi(name.c_str() + at + 5) : fallback;
}

struct CleaningCache {
    fs::path dir;

    Result<std::optional<CleaningRun>> load(const std::string &key) const
    {
        const std::string path = (dir / (key + ".json")).string();
        if (!fs::exists(path))
            return std::optional<CleaningRun>();
        Result<std::string> bytes = readFileCapped(path, kMaxJsonFileBytes, "a JSON file");
        if (!bytes.ok())
            return bytes.status();
        const QJsonObject o = QJsonDocument::fromJson(QByteArray::fromStdString(*bytes)).object();
        CleaningRun r;
        r.strategy = o.value("strategy").toString().toStdString();
        r.budget = o.value("budget").toDouble();
        r.reviewed = o.value("reviewed").toInteger();
        r.fixed = o.value("fixed").toInteger();
        r.testAccuracy = o.value("test_accuracy").toDouble(-1.0);
        r.seconds = o.value("seconds").toDouble();
        r.seed = o.value("seed").toString().toULongLong();
        if (r.strategy.empty())
            return std::optional<CleaningRun>(); // unreadable: run it again
        return std::optional<CleaningRun>(r);
    }

    Status store(const std::string &key, const CleaningRun &r) const
    {
        const QJsonObject o{{"strategy", QString::fromStdString(r.strategy)}, {"budget", r.budget},
                            {"reviewed", qint64(r.reviewed)},                 {"fixed", qint64(r.fixed)},
                            {"test_accuracy", r.testAccuracy},                {"seconds", r.seconds},
                            {"seed", QString::number(qulonglong(r.seed))}};
        QSaveFile f(QString::fromStdString((dir / (key + ".json")).string()));
        if (!f.open(QIODevice::WriteOnly) || f.write(QJsonDocument(o).toJson()) < 0 || !f.commit())
            return Status::ioError(f.fileName().toStdString() + ": cannot write: " + f.errorString().toStdString());
        return Status::ok();
    }
};

std::string budgetKey(double b)
{
    char s[32];
    std::snprintf(s, sizeof s, "%g", b * 100.0);
    return s;
}

} // namespace

RankingEvaluation scoreRanking(const std::string &name, const RankingSpec &spec, const std::vector<int64_t> &ids,
                               const std::vector<double> &scores, const std::vector<LabelFlip> &errors,
                               const std::vector<double> &budgets, bool withCurve)
{
    CheckpointTerms terms;
    terms.ids = ids;
    std::unordered_map<int64_t, size_t> rowOf;
    for (size_t i = 0; i < ids.size(); ++i)
        rowOf.emplace(ids[i], i);
    std::vector<char> wrong(ids.size(), 0);
    for (const auto &f : errors) {
        auto it = rowOf.find(f.exampleId);
        if (it != rowOf.end())
            wrong[it->second] = 1;
    }
    return evaluateRanking(name, spec, scores, terms, wrong, budgets, withCurve);
}

double RankingEvaluation::meanRecall() const
{
    return recall.empty() ? 0.0 : std::accumulate(recall.begin(), recall.end(), 0.0) / double(recall.size());
}

Result<EvaluationReport> runEvaluation(const EvaluationConfig &config, const ProgressFn &progress,
                                       const CancelFlag *cancel)
{
    if (config.dataset.empty() || config.workDirectory.empty())
        return Status::invalid("evaluation: a dataset and a work directory are needed");
    const bool useTruth = !config.truthFile.empty();
    if (useTruth && config.noiseRate != 0.0)
        return Status::invalid("evaluation: a truth file is scored without injected noise; the noise rate must be 0, "
                               "not " + std::to_string(config.noiseRate));
    if (!useTruth && config.noiseRate == 0.0)
        return Status::invalid("evaluation: nothing to score: inject label noise (a rate between 0 and 1) or give a "
                               "truth file of known errors");
    if (!useTruth && !(config.noiseRate > 0.0 && config.noiseRate < 1.0))
        return Status::invalid("evaluation: the noise rate must be between 0 and 1 (exclusive), not "
                               + std::to_string(config.noiseRate));
    // The truth file is read before any work, so a bad line costs nothing.
    std::vector<TruthEntry> truthEntries;
    if (useTruth) {
        auto entries = readTruthFile(config.truthFile);
        if (!entries.ok())
            return entries.status();
        truthEntries = std::move(entries).value();
    }
    if (config.folds == 1 || config.folds < 0)
        return Status::invalid("evaluation: cross-validation needs at least 2 folds (0 = none)");
    for (double b : config.budgets)
        if (!(b > 0.0 && b <= 1.0))
            return Status::invalid("evaluation: review budgets are fractions in (0, 1]");
    for (double b : config.cleaningBudgets)
        if (!(b > 0.0 && b <= 1.0))
            return Status::invalid("evaluation: cleaning budgets are fractions in (0, 1]");
    if (config.cleaningSeeds < 1)
        return Status::invalid("evaluation: the cleaning loop needs at least one training seed per cell");
    for (const RankingSpec &s : config.cleaningRankings)
        if (needsCrossValidation(s.kind) && config.folds < 2)
            return Status::invalid("evaluation: the cleaning loop's " + s.toString()
                                   + " ranking needs cross-validation (folds of 2 or more)");

    EvaluationReport rep;
    rep.config = config;
    rep.ensembleFormula = kEnsembleFormulaVersion;
    // Until the cross-validation has estimated the noise (below): what the folds alone give.
    rep.defaultSpec = evaluationDefaultRanking(config.folds >= 2 ? std::optional<double>(0.0) : std::nullopt);
    auto report = [&](const std::string &detail, int64_t done = 0, int64_t total = 0) {
        if (progress)
            progress({"evaluate", detail, done, total});
    };
    // Sub-steps report under their own stage names, prefixed so people see the step.
    auto forward = [&](const std::string &prefix) -> ProgressFn {
        if (!progress)
            return {};
        return [&, prefix](const Progress &p) { progress({"evaluate", prefix + p.detail, p.done, p.total}); };
    };

    std::error_code ec;
    const fs::path work = fs::absolute(config.workDirectory, ec);
    fs::create_directories(work, ec);
    if (ec || !fs::is_directory(work))
        return Status::ioError(config.workDirectory + ": cannot create the work directory");
    const std::string projectPath = (work / kProjectName).string();
    const std::string print = fingerprint(config);
    ModelRunner::setThreads(config.compute.threads);
    rep.machine = currentMachine();

    // --- reuse or start afresh
    if (fs::exists(projectPath)) {
        bool reuse = false;
        {
            auto existing = ProjectDb::open(projectPath, ProjectDb::OpenMode::ReadWrite);
            if (existing.ok()) {
                auto stored = (*existing)->meta(kFingerprintKey);
                reuse = stored.ok() && stored->has_value() && **stored == print;
            }
        }
        if (!reuse)
            TL_RETURN_IF_ERROR(resetWorkDirectory(work));
        else
            report("resuming the evaluation in " + work.string());
    }
    auto opened = ProjectDb::open(projectPath, ProjectDb::OpenMode::Create);
    if (!opened.ok())
        return opened.status();
    ProjectDb &db = **opened;

    // --- import, subset and noise: one unit, marked done by the fingerprint
    auto marked = db.meta(kFingerprintKey);
    if (!marked.ok())
        return marked.status();
    if (!marked->has_value()) {
        auto t = Clock::now();
        report("importing " + config.dataset);
        auto imported = importDataset(db, config.dataset, forward("import: "), cancel);
        if (!imported.ok())
            return imported.status();
        if (config.trainLimit > 0 || config.testLimit > 0) {
            auto train = db.examples(Split::Train);
            auto test = db.examples(Split::Test);
            if (!train.ok() || !test.ok())
                return train.ok() ? test.status() : train.status();
            std::vector<int64_t> keep = sampleIds(*train, config.trainLimit, config.noiseSeed ^ 0x5eed);
            const std::vector<int64_t> keepTest = sampleIds(*test, config.testLimit, config.noiseSeed ^ 0x7e57);
            keep.insert(keep.end(), keepTest.begin(), keepTest.end());
            TL_RETURN_IF_ERROR(db.removeExamplesExcept(keep));
        }
        auto train = db.examples(Split::Train);
        auto classes = db.classes();
        if (!train.ok() || !classes.ok())
            return train.ok() ? classes.status() : train.status();
        std::vector<LabelFlip> flips;
        double cleanSeconds = 0.0; // reported as its own stage
        if (!useTruth) {
            NoiseModel noise;
            noise.type = config.noiseType;
            QJsonObject confusionMeta;
            if (noise.type == NoiseType::Confusion) {
                if (!config.confusionFile.empty()) {
                    auto m = readConfusionMatrix(config.confusionFile, int(classes->size()));
                    if (!m.ok())
                        return m.status();
                    noise.confusion = std::move(m).value();
                    confusionMeta.insert("source", QString::fromStdString("file " + config.confusionFile));
                } else {
                    // The confusion of a model that never saw the noise, measured on images it
                    // was not trained on: which classes look alike to a classifier like this one.
                    const auto tClean = Clock::now();
                    report("training on the clean labels (for the confusion matrix)");
                    auto clean = trainProjectModel(db, config.train, kCleanModelName, forward("train (clean labels): "),
                                                   cancel);
                    if (!clean.ok())
                        return clean.status();
                    TL_RETURN_IF_ERROR(recordTrainConfig(db, *clean, config.train));
                    report("measuring the clean-label model's confusion on the test split");
                    auto m = testConfusion(db, *clean, cancel);
                    if (!m.ok())
                        return m.status();
                    noise.confusion = std::move(m).value();
                    confusionMeta.insert("source", "predictions on the test split of the built-in CNN trained on the "
                                                   "clean labels with the same configuration and seed");
                    cleanSeconds = since(tClean);
                    TL_RETURN_IF_ERROR(storeSeconds(db, "clean", cleanSeconds));
                }
                confusionMeta.insert("matrix", matrixJson(noise.confusion));
            }
            auto planned = planLabelNoise(*train, int(classes->size()), config.noiseRate, config.noiseSeed, noise);
            if (!planned.ok())
                return planned.status();
            flips = std::move(planned).value();
            if (flips.empty())
                return Status::invalid("evaluation: the noise rate flips no label of " + std::to_string(train->size())
                                       + " training examples");
            report("flipping " + std::to_string(flips.size()) + " labels (" + noiseTypeName(noise.type) + " noise)");
            if (!confusionMeta.isEmpty())
                TL_RETURN_IF_ERROR(db.setMeta(
                    kConfusionKey, QJsonDocument(confusionMeta).toJson(QJsonDocument::Compact).toStdString()));
        }
        ProjectDb::Transaction tx(db);
        TL_RETURN_IF_ERROR(tx.status());
        TL_RETURN_IF_ERROR(applyLabelNoise(db, flips));
        TL_RETURN_IF_ERROR(storeSeconds(db, "import", since(t) - cleanSeconds));
        TL_RETURN_IF_ERROR(db.setMeta(kFingerprintKey, print));
        TL_RETURN_IF_ERROR(tx.commit());
    }
    rep.seconds.emplace_back(useTruth ? "import" : "import and label noise", storedSeconds(db, "import"));
    if (config.noiseType == NoiseType::Confusion && !useTruth) {
        auto stored = db.meta(kConfusionKey);
        if (!stored.ok())
            return stored.status();
        if (stored->has_value()) {
            const QJsonObject o = QJsonDocument::fromJson(QByteArray::fromStdString(**stored)).object();
            rep.confusion = matrixFrom(o.value("matrix").toArray());
            rep.confusionSource = o.value("source").toString().toStdString();
        }
        if (config.confusionFile.empty())
            rep.seconds.emplace_back("training (clean labels, for the confusion matrix)", storedSeconds(db, "clean"));
    }
    {
        auto classes = db.classes();
        auto train = db.exampleCount(Split::Train);
        auto test = db.exampleCount(Split::Test);
        auto flips = recordedLabelNoise(db);
        for (const Status *s : {&classes.status(), &train.status(), &test.status(), &flips.status()})
            if (!s->isOk())
                return *s;
        rep.classes = *classes;
        rep.trainCount = *train;
        rep.testCount = *test;
        if (useTruth) {
            auto known = resolveTruth(db, truthEntries, config.truthFile, config.trainLimit > 0 || config.testLimit > 0);
            if (!known.ok())
                return known.status();
            rep.flips = known->errors;
            rep.flipSources = known->sources;
            rep.truthLabelled = known->labelled;
            rep.truthNotInSubset = known->notInProject;
            // Finished cleaning runs restored the labels of the previous truth: another
            // truth (or other correct labels) needs them redone; model and factors stay.
            std::string key;
            for (const auto &f : rep.flips)
                key += std::to_string(f.exampleId) + ":" + std::to_string(f.trueLabel) + ",";
            key = QString::number(qulonglong(fnv1a(key)), 16).toStdString();
            auto stored = db.meta(kTruthKey);
            if (!stored.ok())
                return stored.status();
            if (!stored->has_value() || **stored != key) {
                fs::remove_all(work / kCleaningDir, ec);
                TL_RETURN_IF_ERROR(db.setMeta(kTruthKey, key));
            }
        } else {
            rep.flips = *flips;
            for (const auto &f : rep.flips) {
                auto e = db.example(f.exampleId);
                if (!e.ok())
                    return e.status();
                rep.flipSources.push_back(e->source);
            }
        }
    }

    // --- train on the noisy labels
    auto models = db.models();
    if (!models.ok())
        return models.status();
    // The clean-label model (confusion noise) is not the one evaluated.
    std::optional<ModelRow> cleanModel;
    models->erase(std::remove_if(models->begin(), models->end(),
                                 [&](const ModelRow &m) {
                                     if (m.name != kCleanModelName)
                                         return false;
                                     cleanModel = m;
                                     return true;
                                 }),
                  models->end());
    if (models->empty()) {
        auto t = Clock::now();
        report(useTruth ? "training on the dataset's labels" : "training on the noisy labels");
        auto id = trainProjectModel(db, config.train, "noisy-labels", forward("train: "), cancel);
        if (!id.ok())
            return id.status();
        TL_RETURN_IF_ERROR(recordTrainConfig(db, *id, config.train));
        TL_RETURN_IF_ERROR(storeSeconds(db, "train", since(t)));
        rep.modelId = *id;
    } else {
        rep.modelId = models->front().id;
    }
    rep.seconds.emplace_back(useTruth ? "training (the dataset's labels)" : "training (noisy labels)",
                             storedSeconds(db, "train"));
    {
        auto epochs = db.epochs(rep.modelId);
        if (!epochs.ok())
            return epochs.status();
        rep.epochs = *epochs;
        if (!rep.epochs.empty())
            rep.testAccuracyBefore = rep.epochs.back().testAccuracy;
    }

    // --- factors
    {
        SittingClock clock(work, "compute");
        auto summary = computeFactors(db, rep.modelId, config.compute, clock.wrap(forward("compute: ")), cancel);
        if (!summary.ok())
            return summary.status();
        if (summary->computed > 0)
            TL_RETURN_IF_ERROR(storeSeconds(db, "compute", storedSeconds(db, "compute") + clock.seconds()));
        else if (clock.carried() > 0.0) // a sitting killed after its last chunk was stored
            TL_RETURN_IF_ERROR(storeSeconds(db, "compute", storedSeconds(db, "compute") + clock.carried()));
        clock.finish();
    }
    rep.seconds.emplace_back("TracIn factors", storedSeconds(db, "compute"));

    // Every later training (folds, cleaning runs, seed replicates) uses the evaluated
    // model's configuration with the epoch count it ended up with: adaptive training
    // chose it once on the noisy labels, and the runs compared with it must not choose
    // their own.
    TrainConfig retrainConfig = config.train;
    retrainConfig.adaptive.enabled = false;
    retrainConfig.epochs = std::max(1, int(rep.epochs.size()));

    // --- cross-validation: out-of-sample scores, trained like the evaluated model
    const bool hasFolds = config.folds >= 2;
    if (hasFolds) {
        SittingClock clock(work, "crossval");
        CrossValidationConfig cv;
        cv.folds = config.folds;
        cv.train = retrainConfig;
        cv.train.resume = true;
        cv.seed = config.noiseSeed;
        cv.mirroredViews = config.mirroredViews.value_or(mirroredViewsByDefault(cv.train));
        rep.mirroredViews = cv.mirroredViews;
        report("cross-validating (" + std::to_string(cv.folds) + " folds of " + std::to_string(cv.train.epochs)
               + " epochs)");
        // Time is added when this call did work: a first or resumed run, or a finished one
        // scored again with other views (a new run over the kept fold models).
        auto runBefore = db.crossValidationRun();
        const int64_t before = runBefore.ok() && runBefore->has_value() ? (*runBefore)->id : 0;
        const bool done = loadOutOfSampleTerms(db).ok();
        TL_RETURN_IF_ERROR(runCrossValidation(db, cv, clock.wrap(forward("cross-validate: ")), cancel));
        auto runAfter = db.crossValidationRun();
        const bool rescored = runAfter.ok() && runAfter->has_value() && (*runAfter)->id != before;
        if (!done || rescored)
            TL_RETURN_IF_ERROR(storeSeconds(db, "crossval", storedSeconds(db, "crossval") + clock.seconds()));
        else if (clock.carried() > 0.0) // a sitting killed after the last fold was stored
            TL_RETURN_IF_ERROR(storeSeconds(db, "crossval", storedSeconds(db, "crossval") + clock.carried()));
        clock.finish();
        rep.seconds.emplace_back("cross-validation (" + std::to_string(cv.folds) + " folds)",
                                 storedSeconds(db, "crossval"));
    }

    // --- rankings
    auto tRank = Clock::now();
    auto terms = loadCheckpointTerms(db, rep.modelId, forward(""), cancel);
    if (!terms.ok())
        return terms.status();
    rep.learningRates = terms->learningRates;
    std::unordered_map<int64_t, size_t> rowOf;
    for (size_t i = 0; i < terms->ids.size(); ++i)
        rowOf.emplace(terms->ids[i], i);
    std::vector<char> flipped(terms->ids.size(), 0);
    for (const auto &f : rep.flips) {
        auto it = rowOf.find(f.exampleId);
        if (it != rowOf.end())
            flipped[it->second] = 1;
    }

    // The neighbour lists, and with folds the out-of-sample terms.
    RankingSpec neighbours{RankingKind::Neighbours, {}, 1};
    TL_RETURN_IF_ERROR(prepareRankingTerms(db, &*terms, neighbours, config.compute.threads, forward(""), cancel));
    if (hasFolds) {
        TL_RETURN_IF_ERROR(prepareRankingTerms(db, &*terms, RankingSpec{RankingKind::CvSelfConfidence, {}, 1},
                                               config.compute.threads, forward(""), cancel));
        rep.baselineName = RankingSpec{RankingKind::CvSelfConfidence, {}, 1}.toString();
    }
    std::optional<double> wrongShare;
    if (hasFolds) {
        auto noise = storedLabelNoiseEstimate(db);
        if (!noise.ok())
            return noise.status();
        rep.labelNoise = *noise;
        wrongShare = noise->share();
    }
    rep.defaultSpec = evaluationDefaultRanking(wrongShare);

    report("ranking");
    RankingSpec tracin; // self-influence as published: every checkpoint, weighted by η
    RankingSpec loss{RankingKind::Loss, CheckpointPolicy::lastOnly(), 1};
    RankingSpec margin{RankingKind::Margin, CheckpointPolicy::lastOnly(), 1};
    RankingSpec random{RankingKind::Random, {}, config.noiseSeed + 1000};
    const std::vector<double> defaultScores = rankingScores(*terms, rep.defaultSpec);
    const std::vector<double> randomScores = rankingScores(*terms, random);
    rep.rankings.push_back(evaluateRanking(rep.defaultSpec.toString(), rep.defaultSpec, defaultScores, *terms, flipped,
                                           config.budgets, true));
    std::vector<RankingSpec> headline{tracin, loss, margin, neighbours};
    if (hasFolds)
        for (RankingKind k : {RankingKind::CvSelfConfidence, RankingKind::CvMargin, RankingKind::CvSelfInfluence,
                              RankingKind::CvNoiseRate, RankingKind::CvBoundary, RankingKind::Ensemble})
            headline.push_back(RankingSpec{k, {}, 1});
    for (const RankingSpec &s : headline) {
        if (s.toString() == rep.defaultSpec.toString())
            continue;
        rep.rankings.push_back(evaluateRanking(s.toString(), s, rankingScores(*terms, s), *terms, flipped,
                                               config.budgets, true));
    }
    rep.rankings.push_back(evaluateRanking("random", random, randomScores, *terms, flipped, config.budgets, true));

    // --- checkpoint-policy study, from the same factors
    for (RankingKind kind : {RankingKind::SelfInfluence, RankingKind::Loss, RankingKind::Margin}) {
        for (const CheckpointPolicy &p : studyPolicies(terms->learningRates)) {
            const RankingSpec s{kind, p, 1};
            rep.policies.push_back(evaluateRanking(s.toString(), s, rankingScores(*terms, s), *terms, flipped,
                                                   config.budgets, kind == RankingKind::SelfInfluence));
        }
    }
    // Each earlier checkpoint alone is not an offered policy, but shows where the signal is.
    const int nc = terms->numCheckpoints();
    for (int c = 0; c + 1 < nc; ++c) {
        std::vector<double> scores(terms->ids.size());
        for (size_t i = 0; i < scores.size(); ++i)
            scores[i] = terms->selfTerm[terms->at(i, c)];
        RankingEvaluation r = evaluateRanking("self-influence (checkpoint " + std::to_string(c + 1) + " only)",
                                              tracin, scores, *terms, flipped, config.budgets, true);
        r.offered = false;
        rep.policies.push_back(std::move(r));
    }
    // Self-influence at one checkpoint is ‖e‖² · (‖h‖² + 1): the error factor and the
    // feature-norm factor, each ranked alone at the last checkpoint, show which one
    // carries the signal.
    {
        const int last = nc - 1;
        std::vector<double> errorOnly(terms->ids.size()), featureOnly(terms->ids.size());
        for (size_t i = 0; i < terms->ids.size(); ++i) {
            const size_t at = terms->at(i, last);
            errorOnly[i] = terms->errorNorm[at];
            featureOnly[i] = terms->errorNorm[at] > 0 ? terms->selfTerm[at] / terms->errorNorm[at] : 1.0;
        }
        RankingEvaluation e = evaluateRanking("‖e‖² alone (last checkpoint; error factor of self-influence)", tracin,
                                              errorOnly, *terms, flipped, config.budgets, false);
        e.offered = false;
        rep.policies.push_back(std::move(e));
        RankingEvaluation h = evaluateRanking("‖h‖²+1 alone (last checkpoint; feature factor of self-influence)",
                                              tracin, featureOnly, *terms, flipped, config.budgets, false);
        h.offered = false;
        rep.policies.push_back(std::move(h));
    }
    const RankingEvaluation *best = nullptr;
    for (const auto &r : rep.policies)
        if (r.offered && (!best || r.meanRecall() > best->meanRecall() + 1e-12
                          || (std::abs(r.meanRecall() - best->meanRecall()) <= 1e-12 && r.auc > best->auc)))
            best = &r;
    if (best)
        rep.bestPolicy = best->name;

    // Where self-influence comes from, checkpoint by checkpoint.
    {
        auto cps = db.checkpoints(rep.modelId);
        if (!cps.ok())
            return cps.status();
        double total = 0.0;
        std::vector<double> mass(size_t(nc), 0.0);
        for (int c = 0; c < nc; ++c) {
            CheckpointStudyRow row;
            row.checkpoint = c + 1;
            row.learningRate = terms->learningRates[size_t(c)];
            const int epoch = epochOfCheckpoint((*cps)[size_t(c)].file, c + 1);
            for (const auto &e : rep.epochs)
                if (e.epoch == epoch) {
                    row.trainAccuracy = e.trainAccuracy;
                    row.testAccuracy = e.testAccuracy;
                }
            double sf = 0.0, sc = 0.0;
            int64_t nf = 0, ncl = 0;
            for (size_t i = 0; i < terms->ids.size(); ++i) {
                const double s = terms->selfTerm[terms->at(i, c)];
                mass[size_t(c)] += row.learningRate * s;
                if (flipped[i]) {
                    sf += s;
                    ++nf;
                } else {
                    sc += s;
                    ++ncl;
                }
            }
            row.meanSelfTermFlipped = nf ? sf / double(nf) : 0.0;
            row.meanSelfTermClean = ncl ? sc / double(ncl) : 0.0;
            total += mass[size_t(c)];
            rep.checkpoints.push_back(row);
        }
        for (int c = 0; c < nc; ++c)
            rep.checkpoints[size_t(c)].shareOfSelfInfluence = total > 0 ? mass[size_t(c)] / total : 0.0;
    }

    // Default-ranking scores, clean against flipped.
    {
        std::vector<double> clean, bad;
        for (size_t i = 0; i < defaultScores.size(); ++i)
            (flipped[i] ? bad : clean).push_back(defaultScores[i]);
        // Log bins when the scores are non-negative (self-influence, loss): they span orders
        // of magnitude. Zeros land in the first bin.
        const bool positive = std::all_of(defaultScores.begin(), defaultScores.end(), [](double v) { return v >= 0; })
                              && std::any_of(defaultScores.begin(), defaultScores.end(), [](double v) { return v > 0; });
        rep.histogramLog = positive;
        if (positive) {
            rep.histogramEdges = logBinEdges(defaultScores, 60);
        } else {
            const auto [lo, hi] = std::minmax_element(defaultScores.begin(), defaultScores.end());
            for (int i = 0; i <= 60; ++i)
                rep.histogramEdges.push_back(*lo + (*hi - *lo) * i / 60.0);
        }
        rep.histogramClean = binCounts(clean, rep.histogramEdges);
        rep.histogramFlipped = binCounts(bad, rep.histogramEdges);
    }
    TL_RETURN_IF_ERROR(listUnflippedAtTop(db, *terms, rowOf, defaultScores, flipped, &rep));
    rep.seconds.emplace_back("rankings and checkpoint study", since(tRank));

    // --- the cleaning loop
    const bool wantsCleaning = !config.cleaningBudgets.empty() || config.seedReplicates > 0;

    if (wantsCleaning && useTruth && !rep.truthLabelled)
        rep.cleaningSkipped = config.truthFile + " gives no correct labels, so a review could restore none (its "
                                                 "seed replicates are skipped with it)";
    if (wantsCleaning && rep.cleaningSkipped.empty()) {
        auto model = db.model(rep.modelId);
        if (!model.ok())
            return model.status();
        auto spec = readModelSpec(model->directory);
        if (!spec.ok())
            return spec.status();
        auto train = db.examples(Split::Train);
        auto test = db.examples(Split::Test);
        if (!train.ok() || !test.ok())
            return train.ok() ? test.status() : train.status();
        if (train->size() != terms->ids.size())
            return Status::internal("evaluation: the training split changed while evaluating");
        TrainData trainData, testData;
        report("reading images for the cleaning loop");
        TL_RETURN_IF_ERROR(loadTrainData(db, *train, spec->input, &trainData, {}, cancel));
        TL_RETURN_IF_ERROR(loadTrainData(db, *test, spec->input, &testData, {}, cancel));
        std::unordered_map<int64_t, const LabelFlip *> flipOf;
        for (const auto &f : rep.flips)
            flipOf.emplace(f.exampleId, &f);
        const auto queue = sortRanking(terms->ids, defaultScores);
        const auto randomOrder = sortRanking(terms->ids, randomScores);
        // A cleaning ranking that is also the queue's default would train the same runs twice.
        std::vector<RankingSpec> extraSpecs;
        for (const RankingSpec &s : config.cleaningRankings)
            if (s.toString() != rep.defaultSpec.toString())
                extraSpecs.push_back(s);
        std::vector<std::vector<RankedExample>> extraOrders;
        for (const RankingSpec &s : extraSpecs) {
            TL_RETURN_IF_ERROR(prepareRankingTerms(db, &*terms, s, config.compute.threads, forward(""), cancel));
            extraOrders.push_back(sortRanking(terms->ids, rankingScores(*terms, s)));
        }

        CleaningCache cache{work / kCleaningDir};
        fs::create_directories(cache.dir, ec);
        struct Plan {
            std::string strategy, key;
            double budget;
            const std::vector<RankedExample> *order; // null: every flip fixed, or none for "seed"
            uint64_t seed;
            // The same review stored under its other role: the queue's default depends on the
            // noise estimate, so a ranking reviewed as an extra ranking in one evaluation is the
            // queue in another of the same project, and the other way round.
            std::string alias = {};
        };
        const uint64_t seed = config.train.seed;
        std::vector<Plan> plans;
        // The queue's cache key names its ranking: a build with another default ranking
        // reviews different examples and must not reuse these runs.
        auto keyName = [](const RankingSpec &s) {
            std::string name = s.toString();
            if (s.kind == RankingKind::Ensemble)
                name += "-v" + std::to_string(kEnsembleFormulaVersion);
            for (char &ch : name)
                if (!std::isalnum(static_cast<unsigned char>(ch)))
                    ch = '_';
            return name;
        };
        const std::string queueName = keyName(rep.defaultSpec);
        // The first seed's runs keep their unsuffixed names, so evaluations made with one
        // seed per cell are reused.
        const int cleaningSeeds = std::max(1, config.cleaningSeeds);
        auto seedSuffix = [&](int i) { return i == 0 ? std::string() : "-s" + std::to_string(seed + uint64_t(i)); };
        for (double b : config.cleaningBudgets)
            for (int i = 0; i < cleaningSeeds; ++i) {
                plans.push_back({"queue", "queue-" + budgetKey(b) + "-" + queueName + seedSuffix(i), b, &queue,
                                 seed + uint64_t(i), "ranking-" + budgetKey(b) + "-" + queueName + seedSuffix(i)});
                plans.push_back({"random", "random-" + budgetKey(b) + seedSuffix(i), b, &randomOrder,
                                 seed + uint64_t(i)});
                for (size_t e = 0; e < extraOrders.size(); ++e) {
                    const std::string name = keyName(extraSpecs[e]);
                    plans.push_back({extraSpecs[e].toString(), "ranking-" + budgetKey(b) + "-" + name + seedSuffix(i),
                                     b, &extraOrders[e], seed + uint64_t(i),
                                     "queue-" + budgetKey(b) + "-" + name + seedSuffix(i)});
                }
            }
        if (config.cleaningUpperBound && !config.cleaningBudgets.empty())
            plans.push_back({"all flips fixed", "all-fixed", 1.0, nullptr, seed});
        // Every cleaning seed needs the noisy-label model of that seed to compare with.
        const int replicates = std::max(config.seedReplicates, config.cleaningBudgets.empty() ? 0 : cleaningSeeds - 1);
        for (int i = 1; i <= replicates; ++i)
            plans.push_back({"seed", "seed-" + std::to_string(seed + uint64_t(i)), 0.0, nullptr, seed + uint64_t(i)});

        double cleaningSeconds = 0.0;
        for (size_t pi = 0; pi < plans.size(); ++pi) {
            const Plan &plan = plans[pi];
            if (isCancelled(cancel))
                return Status::cancelled("evaluation cancelled; finished cleaning runs are kept");
            auto cached = cache.load(plan.key);
            if (cached.ok() && !cached->has_value() && !plan.alias.empty())
                cached = cache.load(plan.alias);
            if (!cached.ok())
                return cached.status();
            if (cached->has_value()) {
                CleaningRun run = **cached;
                run.strategy = plan.strategy; // stored under the other role: this run's role
                if (run.seed == 0) // written before runs recorded their seed
                    run.seed = plan.seed;
                (plan.strategy == "seed" ? rep.seedRuns : rep.cleaning).push_back(run);
                cleaningSeconds += run.seconds;
                continue;
            }
            const auto t = Clock::now();
            CleaningRun run;
            run.strategy = plan.strategy;
            run.budget = plan.budget;
            run.seed = plan.seed;
            // With every flip fixed the labels are the clean ones: the model confusion noise
            // trained on them (same data order, configuration and seed) is this run.
            if (plan.strategy == "all flips fixed" && cleanModel && !useTruth) {
                auto epochs = db.epochs(cleanModel->id);
                if (!epochs.ok())
                    return epochs.status();
                if (!epochs->empty() && int(epochs->size()) == retrainConfig.epochs) {
                    run.reviewed = run.fixed = int64_t(rep.flips.size());
                    run.testAccuracy = epochs->back().testAccuracy;
                    run.seconds = 0.0; // counted in the clean-label training stage
                    TL_RETURN_IF_ERROR(cache.store(plan.key, run));
                    rep.cleaning.push_back(run);
                    continue;
                }
            }
            TrainData corrected;
            corrected.input = trainData.input;
            corrected.labels = trainData.labels;
            // Shares the pixels by swapping them in and out: a copy of 60k images per
            // run would double the memory for nothing.
            corrected.pixels.swap(trainData.pixels);
            if (plan.order) {
                run.reviewed = reviewCount(int64_t(plan.order->size()), plan.budget);
                for (int64_t r = 0; r < run.reviewed; ++r) {
                    auto it = flipOf.find((*plan.order)[size_t(r)].exampleId);
                    if (it == flipOf.end())
                        continue;
                    corrected.labels[rowOf.at(it->first)] = it->second->trueLabel;
                    ++run.fixed;
                }
            } else if (plan.strategy != "seed") {
                run.reviewed = int64_t(rep.flips.size());
                for (const auto &f : rep.flips) {
                    corrected.labels[rowOf.at(f.exampleId)] = f.trueLabel;
                    ++run.fixed;
                }
            }
            const std::string what = plan.strategy == "all flips fixed" ? std::string("retraining with every flip fixed")
                                     : plan.strategy == "seed"
                                         ? "training on the noisy labels with seed " + std::to_string(plan.seed)
                                         : "retraining after reviewing " + budgetKey(plan.budget) + "% ("
                                               + plan.strategy + ")";
            const int64_t steps = int64_t(retrainConfig.epochs) * corrected.count();
            TrainConfig trainConfig = retrainConfig;
            trainConfig.seed = plan.seed;
            auto reports = trainBuiltinCnn(
                corrected, testData, rep.classes, trainConfig, (cache.dir / plan.key).string(),
                [&](int epoch, int64_t seen, int64_t, double) {
                    if (progress)
                        progress({"evaluate",
                                  what + " (" + std::to_string(pi + 1) + " of " + std::to_string(plans.size()) + ")",
                                  int64_t(epoch - 1) * corrected.count() + seen, steps});
                },
                {}, cancel);
            corrected.pixels.swap(trainData.pixels);
            if (!reports.ok())
                return reports.status();
            run.testAccuracy = reports->empty() ? -1.0 : reports->back().testAccuracy;
            run.seconds = since(t);
            cleaningSeconds += run.seconds;
            TL_RETURN_IF_ERROR(cache.store(plan.key, run));
            (plan.strategy == "seed" ? rep.seedRuns : rep.cleaning).push_back(run);
        }
        rep.seconds.emplace_back("cleaning loop and seed replicates (" + std::to_string(plans.size()) + " trainings)",
                                 cleaningSeconds);
    }
    for (const auto &s : rep.seconds)
        rep.totalSeconds += s.second;
    rep.machine.loadEnd = loadAverages();
    return rep;
}

} // namespace traclens
