// traclens-cli: the engine from the command line, for scripts, benchmarks and machines
// without a display. Argument parsing and printing only; the work is in core/.

#include "calibration.h"
#include "checkpointcheck.h"
#include "clusterjob.h"
#include "computejob.h"
#include "crossvalidation.h"
#include "distributedcompute.h"
#include "evaluation.h"
#include "exporter.h"
#include "flagging.h"
#include "imagedecoder.h"
#include "importer.h"
#include "influenceindex.h"
#include "influenceindex.h"
#include "modelrunner.h"
#include "modeltrust.h"
#include "projectdb.h"
#include "ranking.h"
#include "retrain.h"
#include "synthproject.h"
#include "trainjob.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QGuiApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QStandardPaths>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unistd.h>

using namespace traclens;

namespace {

// Exit codes: 0 success, 1 the work failed, 2 bad usage, 3 not found, 4 cancelled.
enum Exit { ExitOk = 0, ExitFailed = 1, ExitUsage = 2, ExitNotFound = 3, ExitCancelled = 4 };

CancelFlag g_cancel{false};

// The name of class `label`. The project file validates labels as it reads them; a label
// that still falls outside (a model's prediction, a cluster set's class) prints as a
// placeholder instead of reading past the end of the list.
const std::string &className(const std::vector<std::string> &classes, int64_t label)
{
    static const std::string unknown = "<unknown class>";
    return label >= 0 && uint64_t(label) < classes.size() ? classes[size_t(label)] : unknown;
}

void onSignal(int)
{
    g_cancel.store(true);
}

int exitFor(const Status &s)
{
    switch (s.code()) {
    case Status::Code::Ok: return ExitOk;
    case Status::Code::NotFound: return ExitNotFound;
    case Status::Code::Cancelled: return ExitCancelled;
    case Status::Code::InvalidArgument: return ExitFailed;
    default: return ExitFailed;
    }
}

int fail(const Status &s)
{
    std::fprintf(stderr, "traclens-cli: %s\n", s.message().c_str());
    return exitFor(s);
}

int usage(const QString &message)
{
    std::fprintf(stderr, "traclens-cli: %s\n", qPrintable(message));
    return ExitUsage;
}

QString q(const std::string &s)
{
    return QString::fromStdString(s);
}

void printJson(const QJsonObject &o)
{
    std::fputs(QJsonDocument(o).toJson(QJsonDocument::Indented).constData(), stdout);
}

// --progress-lines: every progress report as one tab-separated line on stderr,
// "progress<TAB>stage<TAB>done<TAB>total<TAB>detail", unthrottled and flushed at once, for
// scripts and tests that act on progress (e.g. stop a job at a known point).
bool g_progressLines = false;

// Progress on stderr: a rewritten line on a terminal, a line every few seconds otherwise
// (or with --progress-lines, see above; that wins over --quiet).
ProgressFn progressPrinter(bool quiet)
{
    if (g_progressLines)
        return [](const Progress &p) {
            std::fprintf(stderr, "progress\t%s\t%lld\t%lld\t%s\n", p.stage.c_str(), (long long)p.done,
                         (long long)p.total, p.detail.c_str());
            std::fflush(stderr);
        };
    if (quiet)
        return {};
    const bool tty = isatty(fileno(stderr));
    auto last = std::make_shared<std::chrono::steady_clock::time_point>();
    auto started = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
    return [tty, last, started](const Progress &p) {
        const auto now = std::chrono::steady_clock::now();
        const bool finished = p.total > 0 && p.done >= p.total;
        const auto gap = tty ? std::chrono::milliseconds(100) : std::chrono::milliseconds(3000);
        if (!finished && now - *last < gap)
            return;
        *last = now;
        const double elapsed = std::chrono::duration<double>(now - *started).count();
        char eta[32] = "";
        if (p.total > 0 && p.done > 0 && !finished)
            std::snprintf(eta, sizeof eta, ", ETA %.0f s", elapsed * double(p.total - p.done) / double(p.done));
        if (p.total > 0)
            std::fprintf(stderr, "%s%s: %s %lld/%lld (%.0f%%%s)%s", tty ? "\r\033[K" : "", p.stage.c_str(),
                         p.detail.c_str(), (long long)p.done, (long long)p.total, 100.0 * double(p.done) / double(p.total),
                         eta, tty ? "" : "\n");
        else
            std::fprintf(stderr, "%s%s: %s%s", tty ? "\r\033[K" : "", p.stage.c_str(), p.detail.c_str(), tty ? "" : "\n");
        if (tty && finished)
            std::fputc('\n', stderr);
        std::fflush(stderr);
    };
}

// The options of one command, collected before they reach the parser so that every
// command's help and repeat check work alike:
//  - help: an option with a default value says so ("Default: 20."), unless its text
//    already states its default ("Default: the active model.");
//  - repeats: QCommandLineParser::value() answers the last of several values, which would
//    drop the others silently, so a single-valued option given twice is a usage error
//    naming it; only options added with addRepeatable() take several values.
class CommandOptions {
public:
    void addOption(QCommandLineOption option) { add(std::move(option), false); }
    void addRepeatable(QCommandLineOption option) { add(std::move(option), true); }

    void install(QCommandLineParser &parser) const
    {
        for (const auto &o : m_options)
            parser.addOption(o.option);
    }

    // "--top given twice" for the first single-valued option given more than once, else "".
    QString repeatedOption(const QCommandLineParser &parser) const
    {
        for (const auto &o : m_options) {
            const QString name = o.option.names().constLast();
            const qsizetype given = parser.isSet(name) ? parser.values(name).size() : 0;
            if (!o.repeatable && !o.option.valueName().isEmpty() && given > 1)
                return QString("--%1 given %2; it takes one value")
                    .arg(name, given == 2 ? QString("twice") : QString("%1 times").arg(given));
        }
        return {};
    }

private:
    struct Entry {
        QCommandLineOption option;
        bool repeatable;
    };
    void add(QCommandLineOption option, bool repeatable)
    {
        QString text = option.description();
        if (!option.valueName().isEmpty() && !option.defaultValues().isEmpty() && !text.contains("Default:"))
            text += QString(" Default: %1.").arg(option.defaultValues().join(','));
        if (repeatable)
            text += " Repeatable: give it once per value.";
        option.setDescription(text);
        m_options.push_back({std::move(option), repeatable});
    }
    std::vector<Entry> m_options;
};

struct Context {
    QCommandLineParser parser;
    QStringList positional;
    bool json = false;
    bool quiet = false;
};

Result<std::unique_ptr<ProjectDb>> openProject(const QString &path, ProjectDb::OpenMode mode = ProjectDb::OpenMode::ReadWrite)
{
    return ProjectDb::open(path.toStdString(), mode);
}

Result<int64_t> chooseModel(ProjectDb &db, const QString &option)
{
    if (!option.isEmpty()) {
        bool ok = false;
        const qlonglong id = option.toLongLong(&ok);
        if (!ok)
            return Status::invalid("--model takes a model id (see 'info')");
        auto m = db.model(id);
        if (!m.ok())
            return m.status();
        return int64_t(id);
    }
    auto active = db.activeModel();
    if (!active.ok())
        return active.status();
    if (!active->has_value())
        return Status::notFound(db.path() + ": the project has no model; run 'train' or 'import-model' first");
    return **active;
}

// The project of the first argument and the model --model names (the active one when
// --model is not given). Failure: the Status to pass to fail().
struct ProjectModel {
    std::unique_ptr<ProjectDb> db;
    int64_t model = 0;
};

Result<ProjectModel> openProjectModel(Context &c, ProjectDb::OpenMode mode = ProjectDb::OpenMode::ReadWrite)
{
    auto db = openProject(c.positional[0], mode);
    if (!db.ok())
        return db.status();
    auto model = chooseModel(**db, c.parser.value("model"));
    if (!model.ok())
        return model.status();
    return ProjectModel{std::move(db).value(), *model};
}

// Before a command runs a model's checkpoints. A model outside the project runs only when
// trusted (modeltrust.h): `trust` (--trust-model) records that trust, else the refusal
// says which option would proceed. A checkpoint file that changed since its factors were
// computed is refused, naming it, unless `accept` (--accept-changed-checkpoints, compute
// only) drops that checkpoint's factors so they are recomputed with the new file.
Status prepareModelRun(ProjectDb &db, int64_t model, bool trust, bool accept, bool quiet, const QString &project)
{
    // A model imported by reference lives where it was imported from; when that folder
    // has moved, say so before any other check talks about its files.
    auto row = db.model(model);
    if (!row.ok())
        return row.status();
    std::error_code ec;
    if (!std::filesystem::is_directory(row->directory, ec))
        return Status::notFound(row->directory + ": the directory of model " + std::to_string(model)
                                + " is missing (moved or deleted). Import the model again from where it is now "
                                  "with 'traclens-cli import-model "
                                + project.toStdString()
                                + " <directory> --copy': --copy keeps a copy inside the project, so it survives "
                                  "moving or deleting the original folder");
    if (trust && db.isReadOnly()) {
        // A command that reads the project read-only (query) records the trust through a
        // short writable connection; it fails as Busy while the app has the project open.
        auto writable = ProjectDb::open(db.path(), ProjectDb::OpenMode::ReadWrite);
        if (!writable.ok())
            return writable.status().withContext("recording that you trust the model (--trust-model)");
        TL_RETURN_IF_ERROR(trustModel(**writable, model));
    } else if (trust) {
        TL_RETURN_IF_ERROR(trustModel(db, model));
    } else if (Status s = requireTrustedModel(db, model); !s) {
        return Status::invalid(s.message() + ". If you trust this model, run again with --trust-model (remembered "
                                             "for this project)");
    }
    if (accept) {
        auto accepted = acceptChangedCheckpoints(db, model);
        if (!accepted.ok())
            return accepted.status();
        for (const auto &c : *accepted)
            if (!quiet)
                std::fprintf(stderr, "traclens-cli: %s; its factors were dropped and are recomputed\n",
                             c.description.c_str());
        return Status::ok();
    }
    Status s = requireUnchangedCheckpoints(db, model);
    if (s.isOk() || s.code() == Status::Code::NotFound)
        return s;
    return Status::invalid(s.message() + ". To use the new file, run 'traclens-cli compute "
                           + project.toStdString()
                           + " --accept-changed-checkpoints': it drops that checkpoint's factors and recomputes them");
}

// Examples named on the command line or in a file: an id, the path relative to the
// dataset root (as every command prints it), or an absolute path under the root. A path
// outside the root is refused with the root named. Paths are looked up in a map built on
// first use, so a long --examples-from list costs one pass over the examples.
class ExampleResolver {
public:
    explicit ExampleResolver(ProjectDb &db) : m_db(db) {}

    Result<int64_t> find(const QString &text)
    {
        bool isNumber = false;
        const qlonglong id = text.toLongLong(&isNumber);
        if (isNumber) {
            auto e = m_db.example(id);
            if (e.ok())
                return int64_t(id);
            if (e.status().code() != Status::Code::NotFound)
                return e.status();
        }
        TL_RETURN_IF_ERROR(load());
        auto relative = relativeToRoot(text.toStdString());
        if (!relative.ok())
            return relative.status();
        if (auto it = m_byPath.find(*relative); it != m_byPath.end())
            return it->second;
        return Status::notFound(m_db.path() + ": no example with id or path '" + text.toStdString()
                                + "' (paths are relative to the dataset root " + m_root + ")");
    }

private:
    Status load()
    {
        if (m_loaded)
            return Status::ok();
        auto info = m_db.dataset();
        if (!info.ok())
            return info.status();
        if (!info->has_value())
            return Status::notFound(m_db.path() + ": the project has no dataset; run 'import' first");
        m_root = (*info)->root;
        auto all = m_db.examples();
        if (!all.ok())
            return all.status();
        for (const auto &e : *all)
            m_byPath.emplace(e.source, e.id);
        m_loaded = true;
        return Status::ok();
    }

    // The path as it is stored: '/'-separated, relative to the dataset root.
    Result<std::string> relativeToRoot(const std::string &text) const
    {
        namespace fs = std::filesystem;
        const fs::path given(text);
        fs::path rel;
        if (given.is_absolute()) {
            const fs::path root = fs::path(m_root).lexically_normal();
            rel = given.lexically_normal().lexically_relative(root);
            if (rel.empty() || *rel.begin() == "..") {
                // The same place by another spelling (a symbolic link on the way)?
                std::error_code ec;
                const fs::path canonicalRoot = fs::weakly_canonical(root, ec);
                const fs::path canonicalGiven = ec ? fs::path() : fs::weakly_canonical(given, ec);
                rel = ec ? fs::path() : canonicalGiven.lexically_relative(canonicalRoot);
            }
        } else {
            rel = given.lexically_normal();
        }
        if (rel.empty() || *rel.begin() == "..")
            return Status::invalid("'" + text + "' is outside the dataset root " + m_root
                                   + "; name an example by its id or by its path under that root");
        return rel.generic_string();
    }

    ProjectDb &m_db;
    bool m_loaded = false;
    std::string m_root;
    std::unordered_map<std::string, int64_t> m_byPath;
};

Result<int> findLabel(ProjectDb &db, const QString &text)
{
    auto classes = db.classes();
    if (!classes.ok())
        return classes.status();
    for (size_t i = 0; i < classes->size(); ++i)
        if (q((*classes)[i]) == text)
            return int(i);
    bool ok = false;
    const int idx = text.toInt(&ok);
    if (ok && idx >= 0 && idx < int(classes->size()))
        return idx;
    QStringList names;
    for (const auto &c : *classes)
        names << q(c);
    return Status::invalid("unknown label '" + text.toStdString() + "'; classes are: " + names.join(", ").toStdString());
}

// --- commands

int cmdImport(Context &c)
{
    if (c.positional.size() != 2)
        return usage("import: expected <project> <dataset>");
    auto db = openProject(c.positional[0], ProjectDb::OpenMode::Create);
    if (!db.ok())
        return fail(db.status());
    auto summary = importDataset(**db, c.positional[1].toStdString(), progressPrinter(c.quiet), &g_cancel);
    if (!summary.ok())
        return fail(summary.status());
    if (c.json) {
        QJsonArray skipped;
        for (const auto &s : summary->skipped)
            skipped.append(QJsonObject{{"path", q(s.path)}, {"reason", q(s.reason)}});
        QJsonArray classes;
        for (const auto &n : summary->classes)
            classes.append(q(n));
        printJson({{"added", qint64(summary->added)}, {"updated", qint64(summary->updated)},
                   {"unchanged", qint64(summary->unchanged)}, {"removed", qint64(summary->removed)},
                   {"train", qint64(summary->train)}, {"test", qint64(summary->test)}, {"classes", classes},
                   {"skipped", skipped}});
    } else {
        std::printf("%s", summary->toString().c_str());
    }
    return ExitOk;
}

QJsonArray modelWarningsJson(ProjectDb &db, int64_t modelId);
void printModelWarnings(const QJsonArray &warnings, FILE *to);

// How many epochs for 'train' and 'demo': --epochs N trains exactly N; otherwise adaptive
// training (core/trainer.h) with --time-budget, --max-epochs and --patience. False on a
// bad value.
bool applyEpochOptions(const QCommandLineParser &p, TrainConfig *cfg)
{
    if (p.isSet("epochs")) {
        cfg->adaptive.enabled = false;
        cfg->epochs = p.value("epochs").toInt();
        return cfg->epochs >= 1;
    }
    cfg->adaptive.enabled = true;
    bool ok = true;
    const double minutes = p.value("time-budget").toDouble(&ok);
    if (!ok || !(minutes >= 0.0))
        return false;
    cfg->adaptive.timeBudgetSeconds = minutes * 60.0;
    if (p.isSet("max-epochs"))
        cfg->adaptive.maxEpochs = p.value("max-epochs").toInt();
    if (p.isSet("patience"))
        cfg->adaptive.patience = p.value("patience").toInt();
    return cfg->adaptive.maxEpochs >= 1 && cfg->adaptive.patience >= 1;
}

void addEpochOptions(CommandOptions &p)
{
    p.addOption({"epochs", "Train exactly this many epochs. Default: until validation accuracy stops improving.",
                 "n"});
    p.addOption({"time-budget", "Adaptive training: minutes for the whole training (0 = no limit).", "minutes",
                 QString::number(kDefaultTimeBudgetMinutes)});
    p.addOption({"max-epochs", "Adaptive training: at most this many epochs.", "n",
                 QString::number(AdaptiveTraining{}.maxEpochs)});
    p.addOption({"patience", "Adaptive training: stop after this many epochs without improvement.", "n",
                 QString::number(AdaptiveTraining{}.patience)});
}

// How training stopped, as a line for people.
void printTrainingRecord(ProjectDb &db, int64_t modelId)
{
    auto record = storedTrainingRecord(db, modelId);
    if (record.ok() && record->has_value()) {
        const TrainingRecord &r = **record;
        std::printf("training: %s\n", r.summary().c_str());
        if (r.adaptive && !r.validation.empty()) {
            std::printf("  validation accuracy by epoch:");
            for (const auto &v : r.validation)
                std::printf(" %.3f", v.accuracy);
            std::printf("\n");
        }
    }
}

QJsonObject trainingRecordJson(ProjectDb &db, int64_t modelId)
{
    auto record = storedTrainingRecord(db, modelId);
    if (!record.ok() || !record->has_value())
        return {};
    return QJsonDocument::fromJson(QByteArray::fromStdString(trainingRecordToJson(**record))).object();
}

int cmdTrain(Context &c)
{
    if (c.positional.size() != 1)
        return usage("train: expected <project>");
    auto db = openProject(c.positional[0]);
    if (!db.ok())
        return fail(db.status());
    TrainConfig cfg = TrainConfig::adaptiveDefault();
    if (!applyEpochOptions(c.parser, &cfg))
        return usage("train: --epochs, --max-epochs and --patience must be positive, --time-budget 0 or more");
    cfg.width = c.parser.value("width").toInt();
    cfg.embeddingDim = c.parser.value("embedding-dim").toInt();
    cfg.batchSize = c.parser.value("batch").toInt();
    cfg.learningRate = c.parser.value("lr").toDouble();
    cfg.lrDecay = c.parser.value("lr-decay").toDouble();
    cfg.lrDecayEvery = c.parser.value("lr-decay-every").toInt();
    cfg.checkpointEvery = c.parser.value("checkpoint-every").toInt();
    cfg.seed = c.parser.value("seed").toULongLong();
    if (cfg.width < 1 || cfg.batchSize < 1 || cfg.learningRate <= 0 || cfg.embeddingDim < 1
        || cfg.checkpointEvery < 1)
        return usage("train: width, embedding-dim, batch and checkpoint-every must be positive, lr > 0");
    ModelRunner::setThreads(c.parser.value("threads").toInt());
    const auto t0 = std::chrono::steady_clock::now();
    auto id = trainProjectModel(**db, cfg, c.parser.value("name").toStdString(), progressPrinter(c.quiet), &g_cancel);
    if (!id.ok())
        return fail(id.status());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto epochs = (*db)->epochs(*id);
    auto cps = (*db)->checkpoints(*id);
    if (!epochs.ok() || !cps.ok())
        return fail(epochs.ok() ? cps.status() : epochs.status());
    const QJsonArray warnings = modelWarningsJson(**db, *id);
    if (c.json) {
        QJsonArray ep;
        for (const auto &e : *epochs)
            ep.append(QJsonObject{{"epoch", e.epoch}, {"learning_rate", e.learningRate}, {"train_loss", e.trainLoss},
                                  {"train_accuracy", e.trainAccuracy}, {"test_loss", e.testLoss},
                                  {"test_accuracy", e.testAccuracy}});
        printJson({{"model", qint64(*id)}, {"checkpoints", int(cps->size())}, {"seconds", seconds}, {"epochs", ep},
                   {"training", trainingRecordJson(**db, *id)}, {"model_warnings", warnings}});
    } else {
        std::printf("model %lld: %zu checkpoints, %.1f s\n", (long long)*id, cps->size(), seconds);
        printTrainingRecord(**db, *id);
        for (const auto &e : *epochs)
            std::printf("  epoch %d  lr %.4g  train loss %.4f acc %.4f  test loss %.4f acc %.4f\n", e.epoch,
                        e.learningRate, e.trainLoss, e.trainAccuracy, e.testLoss, e.testAccuracy);
        printModelWarnings(warnings, stdout);
    }
    return ExitOk;
}

int cmdImportModel(Context &c)
{
    if (c.positional.size() != 2)
        return usage("import-model: expected <project> <model directory>");
    auto db = openProject(c.positional[0]);
    if (!db.ok())
        return fail(db.status());
    ModelImportOptions options;
    options.copyIntoProject = c.parser.isSet("copy");
    auto id = importModel(**db, c.positional[1].toStdString(), progressPrinter(c.quiet), options);
    if (!id.ok())
        return fail(id.status());
    auto row = (*db)->model(*id);
    if (!row.ok())
        return fail(row.status());
    if (c.json)
        printJson({{"model", qint64(*id)}, {"directory", q(row->directory)}, {"copied", options.copyIntoProject}});
    else
        std::printf("model %lld imported and active%s: %s\n", (long long)*id,
                    options.copyIntoProject ? ", copied into the project" : "", row->directory.c_str());
    return ExitOk;
}

int cmdCompute(Context &c)
{
    if (c.positional.size() != 1)
        return usage("compute: expected <project>");
    ComputeOptions opt;
    opt.threads = c.parser.value("threads").toInt();
    opt.batchSize = c.parser.value("batch").toInt();
    opt.chunkSize = c.parser.value("chunk").toInt();
    // --distributed: ranks above 0 never open the project (app/cli/distributedcompute.h).
    const bool distributed = c.parser.isSet("distributed");
    const double heartbeat = c.parser.value("heartbeat-timeout").toDouble();
    if (distributed)
        if (auto workerExit = cli::runDistributedWorker(opt, heartbeat, c.quiet, c.json, &g_cancel))
            return *workerExit;
    auto opened = openProjectModel(c);
    if (!opened.ok())
        return fail(opened.status());
    std::unique_ptr<ProjectDb> &db = opened->db;
    const int64_t model = opened->model;
    if (Status s = prepareModelRun(*db, model, c.parser.isSet("trust-model"),
                                   c.parser.isSet("accept-changed-checkpoints"), c.quiet, c.positional[0]);
        !s)
        return fail(s);
    auto summary = distributed ? cli::computeDistributed(*db, model, opt, heartbeat, progressPrinter(c.quiet), &g_cancel)
                               : computeFactors(*db, model, opt, progressPrinter(c.quiet), &g_cancel);
    if (!summary.ok())
        return fail(summary.status());
    if (c.json)
        printJson({{"model", qint64(model)}, {"computed", qint64(summary->computed)},
                   {"reused", qint64(summary->reused)}, {"seconds", summary->seconds},
                   {"vectors_per_second", summary->vectorsPerSecond}});
    else
        std::printf("computed %lld (example, checkpoint) factor rows, reused %lld, %.1f s, %.0f vectors/s\n",
                    (long long)summary->computed, (long long)summary->reused, summary->seconds,
                    summary->vectorsPerSecond);
    return ExitOk;
}

int cmdSelfInfluence(Context &c)
{
    if (c.positional.size() != 1)
        return usage("self-influence: expected <project>");
    auto opened = openProjectModel(c, ProjectDb::OpenMode::ReadOnly);
    if (!opened.ok())
        return fail(opened.status());
    std::unique_ptr<ProjectDb> &db = opened->db;
    const int64_t model = opened->model;
    auto values = db->selfInfluence(model);
    if (!values.ok())
        return fail(values.status());
    if (values->empty())
        return fail(Status::notFound(db->path() + ": no self-influence yet; run 'compute' first"));
    auto classes = db->classes();
    if (!classes.ok())
        return fail(classes.status());
    const QString splitText = c.parser.value("split");
    std::optional<Split> split;
    if (splitText != "all") {
        split = parseSplit(splitText.toStdString());
        if (!split)
            return usage("--split takes train, test or all");
    }
    const int top = c.parser.value("top").toInt();
    QJsonArray rows;
    int rank = 0;
    for (const auto &[id, value] : *values) {
        if (top > 0 && rank >= top)
            break;
        auto e = db->example(id);
        if (!e.ok())
            return fail(e.status());
        if (split && e->split != *split)
            continue;
        ++rank;
        if (c.json)
            rows.append(QJsonObject{{"rank", rank}, {"id", qint64(id)}, {"path", q(e->source)},
                                    {"label", q(className(*classes, e->currentLabel))}, {"self_influence", value}});
        else
            std::printf("%5d  %8lld  %12.6g  %-14s %s\n", rank, (long long)id, value,
                        className(*classes, e->currentLabel).c_str(), e->source.c_str());
    }
    if (c.json)
        printJson({{"model", qint64(model)}, {"ranking", rows}});
    return ExitOk;
}

// One example to query and where it was named: "" for --example, "FILE:LINE" for a line
// of --examples-from, so an error points at the line.
struct QueryInput {
    QString text;
    QString origin;
};

// The lines of --examples-from: one id or path per line; blank lines and lines starting
// with '#' are skipped; "-" reads stdin. Errors name the file.
Result<std::vector<QueryInput>> readExampleList(const QString &file)
{
    QFile f;
    const bool stdinput = file == "-";
    const bool opened = stdinput ? f.open(stdin, QIODevice::ReadOnly | QIODevice::Text)
                                 : (f.setFileName(file), f.open(QIODevice::ReadOnly | QIODevice::Text));
    const QString name = stdinput ? QString("<stdin>") : file;
    if (!opened)
        return Status::notFound(name.toStdString() + ": cannot read the list of examples: "
                                + f.errorString().toStdString());
    std::vector<QueryInput> out;
    int line = 0;
    while (!f.atEnd()) {
        ++line;
        const QString text = QString::fromUtf8(f.readLine()).trimmed();
        if (text.isEmpty() || text.startsWith('#'))
            continue;
        out.push_back({text, QString("%1:%2").arg(name).arg(line)});
    }
    return out;
}

int cmdQuery(Context &c)
{
    if (c.positional.size() != 1)
        return usage("query: expected <project> and --example, --examples-from, --split or --image");
    const bool image = c.parser.isSet("image");
    const bool byExample = c.parser.isSet("example") || c.parser.isSet("examples-from") || c.parser.isSet("split");
    if (image == byExample)
        return usage("query: give --example <id|path> (repeatable), --examples-from <file>, --split <train|test>, "
                     "or --image <file> alone");
    if (c.parser.isSet("label") && !image)
        return usage("query: --label goes with --image (an example is queried with its own label)");
    std::optional<Split> split;
    if (c.parser.isSet("split")) {
        split = parseSplit(c.parser.value("split").toStdString());
        if (!split)
            return usage("--split takes train or test");
    }
    const int k = c.parser.value("k").toInt();
    if (k < 1)
        return usage("--k must be at least 1");
    if (c.parser.value("precision") != "f16" && c.parser.value("precision") != "f32")
        return usage("--precision is f32 or f16");
    const SelfMatch self = c.parser.isSet("include-self") ? SelfMatch::Include : SelfMatch::Exclude;
    // Read-only: a query answers while the desktop app has the project open.
    auto opened = openProjectModel(c, ProjectDb::OpenMode::ReadOnly);
    if (!opened.ok())
        return fail(opened.status());
    std::unique_ptr<ProjectDb> &db = opened->db;
    const int64_t model = opened->model;

    // Every example is named before anything is answered, so a bad line fails the
    // command before any output and names its file and line.
    std::vector<int64_t> ids;
    if (byExample) {
        std::vector<QueryInput> inputs;
        for (const QString &text : c.parser.values("example"))
            inputs.push_back({text, QString()});
        if (c.parser.isSet("examples-from")) {
            auto listed = readExampleList(c.parser.value("examples-from"));
            if (!listed.ok())
                return fail(listed.status());
            inputs.insert(inputs.end(), listed->begin(), listed->end());
        }
        ExampleResolver resolver(*db);
        for (const QueryInput &in : inputs) {
            auto id = resolver.find(in.text);
            if (!id.ok())
                return fail(in.origin.isEmpty() ? id.status() : id.status().withContext(in.origin.toStdString()));
            ids.push_back(*id);
        }
        if (split) {
            auto rows = db->examples(*split);
            if (!rows.ok())
                return fail(rows.status());
            for (const auto &e : *rows)
                ids.push_back(e.id);
        }
        if (ids.empty())
            return fail(Status::notFound(db->path() + ": no examples to query (the list or the split is empty)"));
    }
    // One JSON object for one --example or --image (as before); JSON lines, one per query,
    // whenever a command names several or a list (a script reads them as they come).
    const bool jsonLines = c.parser.isSet("examples-from") || c.parser.isSet("split")
                           || c.parser.values("example").size() > 1;

    const Scoring scoring = c.parser.isSet("normalised") ? Scoring::Normalised : Scoring::Raw;
    const auto t0 = std::chrono::steady_clock::now();
    // The desktop app's query path (IndexOptions::serving()): from kExactSearchBelow
    // training examples a saved, fresh index (`traclens-cli index`) answers; without one,
    // or below that size, the search is exact. A query never waits for an index build.
    IndexOptions serving = IndexOptions::serving();
    if (c.parser.value("precision") == "f16")
        serving.params.precision = IndexParams::Precision::Float16;
    auto index = InfluenceIndex::open(*db, model, serving);
    if (!index.ok())
        return fail(index.status());
    const std::string &indexProblem = (*index)->info().staleReason;
    if (!indexProblem.empty() && !c.quiet)
        std::fprintf(stderr, "traclens-cli: %s; searching exactly (run 'traclens-cli index %s' to rebuild it)\n",
                     indexProblem.c_str(), qPrintable(c.positional[0]));
    const double loadSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto info = db->dataset();
    if (!info.ok())
        return fail(info.status());
    const auto &classes = (*info)->classes;
    // Scores are formed with each example's current label; where the model was trained
    // with another, the answer says so.
    auto changed = db->labelsChangedSince(model);
    if (!changed.ok())
        return fail(changed.status());
    const std::map<int64_t, int> trainedWith(changed->begin(), changed->end());
    auto addTrainedLabel = [&](QJsonObject *o, int64_t id) {
        if (auto it = trainedWith.find(id); it != trainedWith.end())
            o->insert("trained_label", q(className(classes, it->second)));
    };
    // Paths as every command prints them: relative to the dataset root.
    auto describe = [&](const std::vector<Neighbour> &list) -> Result<QJsonArray> {
        QJsonArray a;
        for (const auto &n : list) {
            auto e = db->example(n.exampleId);
            if (!e.ok())
                return e.status();
            QJsonObject o{{"id", qint64(n.exampleId)}, {"score", n.score}, {"path", q(e->source)},
                          {"label", q(className(classes, e->currentLabel))}};
            addTrainedLabel(&o, n.exampleId);
            a.append(o);
        }
        return a;
    };
    const std::pair<const char *, std::vector<Neighbour> QueryResult::*> lists[] = {
        {"proponents", &QueryResult::proponents},
        {"opponents", &QueryResult::opponents},
        {"nearest", &QueryResult::nearest},
        {"farthest", &QueryResult::farthest}};
    // One answer, written and flushed at once so a script reading a pipe sees it.
    auto answer = [&](const QueryResult &r, double queryMs) -> int {
        QJsonObject out{{"model", qint64(model)},
                        {"query", qint64(r.queryId)},
                        {"label", q(className(classes, r.labelUsed))},
                        {"label_is_prediction", r.labelPredicted},
                        {"predicted", q(className(classes, r.predicted))},
                        {"self_influence", r.selfInfluence},
                        {"self_excluded", r.selfExcluded},
                        {"scoring", scoring == Scoring::Raw ? "raw" : "normalised"},
                        {"search", searchKindName(r)},
                        {"precision", precisionName(r)},
                        {"relabelled_since_index", qint64((*index)->info().relabelledRows)},
                        {"index_problem", q(indexProblem)},
                        {"load_seconds", loadSeconds},
                        {"query_ms", queryMs}};
        QString queryName = c.parser.value("image");
        if (r.queryId >= 0) {
            addTrainedLabel(&out, r.queryId);
            auto e = db->example(r.queryId);
            if (!e.ok())
                return fail(e.status());
            out.insert("path", q(e->source));
            out.insert("split", splitName(e->split));
            queryName = QString("%1 (%2)").arg(r.queryId).arg(q(e->source));
        }
        for (const auto &[name, member] : lists) {
            auto a = describe(r.*member);
            if (!a.ok())
                return fail(a.status());
            out.insert(name, *a);
        }
        if (c.json) {
            if (jsonLines)
                std::printf("%s\n", QJsonDocument(out).toJson(QJsonDocument::Compact).constData());
            else
                printJson(out);
            std::fflush(stdout);
            return ExitOk;
        }
        const QString trainedNote = out.contains("trained_label")
                                        ? QString(" (the model was trained with %1)").arg(out.value("trained_label").toString())
                                        : QString();
        QString selfNote;
        if (r.selfExcluded)
            selfNote = "; the example itself is left out of its lists (--include-self keeps it)";
        else if (r.queryId >= 0 && self == SelfMatch::Include && out.value("split").toString() == "train")
            selfNote = "; the example itself may appear in its lists (--include-self)";
        std::printf("query %s, label %s%s%s, predicted %s, self-influence %.6g (%s scores, %s search, %s factors, "
                    "%.1f ms)%s\n",
                    qPrintable(queryName), className(classes, r.labelUsed).c_str(),
                    r.labelPredicted ? " (predicted: the image has no label)" : "", qPrintable(trainedNote),
                    className(classes, r.predicted).c_str(), r.selfInfluence,
                    scoring == Scoring::Raw ? "raw" : "normalised", searchKindName(r), precisionName(r), queryMs,
                    qPrintable(selfNote));
        for (const auto &[name, member] : lists) {
            std::printf("%s:\n", name);
            for (const auto &v : out.value(name).toArray()) {
                const QJsonObject o = v.toObject();
                std::printf("  %8lld  %+12.6g  %-14s %s\n", (long long)o.value("id").toInteger(),
                            o.value("score").toDouble(), qPrintable(o.value("label").toString()),
                            qPrintable(o.value("path").toString()));
            }
        }
        std::fflush(stdout);
        return ExitOk;
    };

    if (byExample) {
        // Every example is answered, in the order given, by the one loaded index.
        for (int64_t id : ids) {
            if (g_cancel.load())
                return fail(Status::cancelled());
            const auto q0 = std::chrono::steady_clock::now();
            auto result = (*index)->query(id, k, scoring, SearchMode::Auto, self);
            if (!result.ok())
                return fail(result.status());
            const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - q0).count();
            if (int rc = answer(*result, ms); rc != ExitOk)
                return rc;
        }
        return ExitOk;
    }
    const QString file = c.parser.value("image");
    int label = -1;
    if (c.parser.isSet("label")) {
        auto l = findLabel(*db, c.parser.value("label"));
        if (!l.ok())
            return fail(l.status());
        label = *l;
    }
    if (Status s = prepareModelRun(*db, model, c.parser.isSet("trust-model"), false, c.quiet, c.positional[0]); !s)
        return fail(s);
    const auto q0 = std::chrono::steady_clock::now();
    auto factors = computeImageFileFactors(*db, model, file.toStdString(), label);
    if (!factors.ok())
        return fail(factors.status());
    auto result = (*index)->query(*factors, k, scoring);
    if (!result.ok())
        return fail(result.status());
    return answer(*result, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - q0).count());
}

int cmdRelabel(Context &c)
{
    if (c.positional.size() != 3)
        return usage("relabel: expected <project> <example id or path> <label>");
    auto db = openProject(c.positional[0]);
    if (!db.ok())
        return fail(db.status());
    ExampleResolver resolver(**db);
    auto id = resolver.find(c.positional[1]);
    if (!id.ok())
        return fail(id.status());
    auto example = (*db)->example(*id);
    if (!example.ok())
        return fail(example.status());
    auto label = findLabel(**db, c.positional[2]);
    if (!label.ok())
        return fail(label.status());
    auto change = (*db)->relabel(*id, *label, "cli");
    if (!change.ok())
        return fail(change.status());
    auto classes = (*db)->classes();
    if (!classes.ok())
        return fail(classes.status());
    if (c.json)
        printJson({{"id", qint64(*id)}, {"path", q(example->source)},
                   {"old_label", q(className(*classes, change->oldLabel))},
                   {"new_label", q(className(*classes, change->newLabel))}, {"changed", change->id != 0}});
    else if (change->id == 0)
        std::printf("example %lld (%s) already has label %s\n", (long long)*id, example->source.c_str(),
                    className(*classes, change->newLabel).c_str());
    else
        std::printf("example %lld (%s): %s -> %s\n", (long long)*id, example->source.c_str(),
                    className(*classes, change->oldLabel).c_str(), className(*classes, change->newLabel).c_str());
    return ExitOk;
}

int cmdExport(Context &c)
{
    if (c.positional.size() != 1)
        return usage("export: expected <project> and at least one of --csv, --log, --tree");
    if (!c.parser.isSet("csv") && !c.parser.isSet("log") && !c.parser.isSet("tree"))
        return usage("export: give --csv FILE, --log FILE and/or --tree DIR");
    auto db = openProject(c.positional[0], ProjectDb::OpenMode::ReadOnly);
    if (!db.ok())
        return fail(db.status());
    const bool overwrite = c.parser.isSet("overwrite");
    auto counts = countExport(**db);
    if (!counts.ok())
        return fail(counts.status());
    if (c.parser.isSet("csv")) {
        Status s = exportLabelsCsv(**db, c.parser.value("csv").toStdString(), overwrite);
        if (!s.isOk())
            return fail(s);
    }
    if (c.parser.isSet("log")) {
        Status s = exportChangeLog(**db, c.parser.value("log").toStdString(), overwrite);
        if (!s.isOk())
            return fail(s);
    }
    if (c.parser.isSet("tree")) {
        Status s = exportImageFolder(**db, c.parser.value("tree").toStdString(),
                                     c.parser.isSet("hardlink") ? TreeMode::HardLink : TreeMode::Copy, overwrite,
                                     progressPrinter(c.quiet), &g_cancel);
        if (!s.isOk())
            return fail(s);
    }
    if (c.json)
        printJson({{"examples", qint64(counts->examples)}, {"changed", qint64(counts->changed)},
                   {"train", qint64(counts->train)}, {"test", qint64(counts->test)}});
    else
        std::printf("exported %lld examples (%lld train, %lld test), %lld with a changed label\n",
                    (long long)counts->examples, (long long)counts->train, (long long)counts->test,
                    (long long)counts->changed);
    return ExitOk;
}

// The weak-model warning (core/flagging.h) for a model; empty when fit or unreadable.
QJsonArray modelWarningsJson(ProjectDb &db, int64_t modelId)
{
    QJsonArray out;
    auto fitness = modelFitness(db, modelId);
    if (fitness.ok())
        for (const std::string &problem : modelWeaknesses(*fitness))
            out.append(q(problem));
    return out;
}

void printModelWarnings(const QJsonArray &warnings, FILE *to)
{
    for (const auto &w : warnings)
        std::fprintf(to, "warning: %s\n", qPrintable(w.toString()));
}

int cmdInfo(Context &c)
{
    if (c.positional.size() != 1)
        return usage("info: expected <project>");
    auto db = openProject(c.positional[0], ProjectDb::OpenMode::ReadOnly);
    if (!db.ok())
        return fail(db.status());
    ProjectDb &p = **db;
    auto info = p.dataset();
    auto train = p.exampleCount(Split::Train);
    auto test = p.exampleCount(Split::Test);
    auto models = p.models();
    auto history = p.labelHistory();
    auto skipped = p.skipped();
    auto active = p.activeModel();
    for (const Status *s : {&info.status(), &train.status(), &test.status(), &models.status(), &history.status(),
                            &skipped.status(), &active.status()})
        if (!s->isOk())
            return fail(*s);
    QJsonObject out{{"project", q(p.path())}, {"schema_version", p.schemaVersion()}};
    if (info->has_value()) {
        QJsonArray classes;
        for (const auto &n : (*info)->classes)
            classes.append(q(n));
        out.insert("dataset", QJsonObject{{"kind", sourceKindName((*info)->kind)}, {"root", q((*info)->root)},
                                          {"imported_from", q((*info)->importedFrom)}, {"classes", classes}});
    }
    out.insert("train", qint64(*train));
    out.insert("test", qint64(*test));
    out.insert("label_changes", int(history->size()));
    out.insert("skipped", int(skipped->size()));
    QJsonArray ms;
    for (const auto &m : *models) {
        auto cps = p.checkpoints(m.id);
        if (!cps.ok())
            return fail(cps.status());
        QJsonArray cpa;
        int64_t complete = 0;
        for (const auto &cp : *cps) {
            auto n = p.factorCount(cp.id);
            if (!n.ok())
                return fail(n.status());
            cpa.append(QJsonObject{{"file", q(cp.file)}, {"learning_rate", cp.learningRate}, {"factors", qint64(*n)}});
            complete += *n;
        }
        ms.append(QJsonObject{{"id", qint64(m.id)}, {"name", q(m.name)}, {"directory", q(m.directory)},
                              {"classes", m.numClasses}, {"embedding_dim", m.embeddingDim},
                              {"active", active->has_value() && **active == m.id}, {"checkpoints", cpa},
                              {"factors_complete", complete == (*train + *test) * qint64(cps->size())},
                              {"warnings", modelWarningsJson(p, m.id)}});
    }
    out.insert("models", ms);
    if (c.json) {
        printJson(out);
        return ExitOk;
    }
    std::printf("project   %s (schema %d)\n", p.path().c_str(), p.schemaVersion());
    if (info->has_value()) {
        std::printf("dataset   %s (%s)\n", (*info)->importedFrom.c_str(), sourceKindName((*info)->kind));
        std::string names;
        for (const auto &n : (*info)->classes)
            names += (names.empty() ? "" : ", ") + n;
        std::printf("classes   %zu: %s\n", (*info)->classes.size(), names.c_str());
    } else {
        std::printf("dataset   none (run 'import')\n");
    }
    std::printf("examples  %lld train, %lld test, %zu skipped, %zu label changes\n", (long long)*train,
                (long long)*test, skipped->size(), history->size());
    for (const auto &v : ms) {
        const QJsonObject m = v.toObject();
        std::printf("model %lld%s  %s  %d classes, embedding %d, %lld checkpoints, factors %s\n",
                    (long long)m.value("id").toInteger(), m.value("active").toBool() ? " (active)" : "",
                    qPrintable(m.value("name").toString()), m.value("classes").toInt(),
                    m.value("embedding_dim").toInt(), (long long)m.value("checkpoints").toArray().size(),
                    m.value("factors_complete").toBool() ? "complete" : "incomplete (run 'compute')");
        printModelWarnings(m.value("warnings").toArray(), stdout);
    }
    return ExitOk;
}

// --- index, clusters, synth (issue #4)

Result<IndexParams> indexParams(Context &c)
{
    IndexParams p;
    const QString backend = c.parser.value("backend");
    if (backend == "cells")
        p.backend = IndexBackend::Cells;
    else if (backend == "hnsw")
        p.backend = IndexBackend::Hnsw;
    else
        return Status::invalid("--backend takes cells or hnsw");
    if (c.parser.isSet("dim"))
        p.projectionDim = c.parser.value("dim").toInt();
    const QString kind = c.parser.value("projection");
    if (kind == "gaussian")
        p.projection = ProjectionKind::Gaussian;
    else if (kind == "achlioptas")
        p.projection = ProjectionKind::Achlioptas;
    else if (kind == "pca")
        p.projection = ProjectionKind::Pca;
    else
        return Status::invalid("--projection takes gaussian, achlioptas or pca");
    p.cells = c.parser.value("cells").toInt();
    p.candidates = c.parser.value("candidates").toInt();
    p.M = c.parser.value("M").toInt();
    p.efConstruction = c.parser.value("ef-construction").toInt();
    p.efSearch = c.parser.value("ef").toInt();
    p.seed = c.parser.value("seed").toULongLong();
    const QString precision = c.parser.value("precision");
    if (precision == "f16")
        p.precision = IndexParams::Precision::Float16;
    else if (precision != "f32")
        return Status::invalid("--precision is f32 or f16");
    if (p.projectionDim < -1 || (c.parser.isSet("dim") && p.projectionDim < 0) || p.cells < 0 || p.candidates < 1
        || p.M < 2 || p.efConstruction < 1 || p.efSearch < 1)
        return Status::invalid("--dim ≥ 0, --cells ≥ 0, --candidates ≥ 1, --M ≥ 2, --ef-construction ≥ 1, --ef ≥ 1");
    return p;
}

int cmdIndex(Context &c)
{
    if (c.positional.size() != 1)
        return usage("index: expected <project>");
    auto params = indexParams(c);
    if (!params.ok())
        return usage(QString::fromStdString(params.status().message()));
    auto opened = openProjectModel(c);
    if (!opened.ok())
        return fail(opened.status());
    std::unique_ptr<ProjectDb> &db = opened->db;
    const int64_t model = opened->model;
    IndexOptions opt;
    opt.params = *params;
    opt.exactBelow = 1; // the user asked for an index: build it whatever the size
    opt.forceRebuild = c.parser.isSet("force");
    opt.threads = c.parser.value("threads").toInt();
    auto index = InfluenceIndex::open(*db, model, opt, progressPrinter(c.quiet), &g_cancel);
    if (!index.ok())
        return fail(index.status());
    const IndexInfo &info = (*index)->info();
    const int64_t train = (*index)->store().trainRows();
    QJsonObject out{{"model", qint64(model)},
                    {"directory", q(info.directory)},
                    {"built", info.built},
                    {"backend", indexBackendName(opt.params.backend)},
                    {"train", qint64(train)},
                    {"projection_dim", info.projectionDim},
                    {"factor_bytes", qint64(info.factorBytes)},
                    {"index_bytes", qint64(info.indexBytes)},
                    {"load_seconds", info.loadSeconds},
                    {"build_seconds", info.buildSeconds},
                    {"queries_use_index", train >= kExactSearchBelow},
                    {"exact_below", qint64(kExactSearchBelow)},
                    {"fingerprint", q(info.fingerprint)},
                    {"rebuilt_because", q(info.built ? info.staleReason : std::string())}};
    if (c.parser.isSet("query")) {
        ExampleResolver resolver(*db);
        auto id = resolver.find(c.parser.value("query"));
        if (!id.ok())
            return fail(id.status());
        const Scoring scoring = c.parser.isSet("normalised") ? Scoring::Normalised : Scoring::Raw;
        const SearchMode mode = c.parser.isSet("exact") ? SearchMode::Exact : SearchMode::Index;
        const auto q0 = std::chrono::steady_clock::now();
        auto r = (*index)->query(*id, c.parser.value("k").toInt(), scoring, mode);
        if (!r.ok())
            return fail(r.status());
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - q0).count();
        QJsonObject res{{"query", qint64(*id)}, {"mode", mode == SearchMode::Exact ? "exact" : "index"}, {"query_ms", ms}};
        const std::pair<const char *, const std::vector<Neighbour> *> lists[] = {
            {"proponents", &r->proponents}, {"opponents", &r->opponents}, {"nearest", &r->nearest},
            {"farthest", &r->farthest}};
        for (const auto &[name, list] : lists) {
            QJsonArray a;
            for (const auto &n : *list)
                a.append(QJsonObject{{"id", qint64(n.exampleId)}, {"score", n.score}});
            res.insert(name, a);
        }
        out.insert("result", res);
    }
    if (c.json) {
        printJson(out);
        return ExitOk;
    }
    std::printf("index %s: %s %s (%lld training examples, TracIn vectors of %d dimensions)\n",
                info.directory.c_str(), indexBackendName(opt.params.backend), info.built ? "built" : "up to date, loaded",
                (long long)train, info.projectionDim);
    if (info.built && !info.staleReason.empty())
        std::printf("  rebuilt because %s\n", info.staleReason.c_str());
    std::printf("  factors %.1f s (%.0f MiB), index %s %.1f s (%.0f MiB)\n", info.loadSeconds,
                double(info.factorBytes) / 1048576.0, info.built ? "build" : "load",
                info.built ? info.buildSeconds : info.indexLoadSeconds, double(info.indexBytes) / 1048576.0);
    std::printf("  queries use the index from %lld training examples: %s\n", (long long)kExactSearchBelow,
                train >= kExactSearchBelow ? "yes" : "no, exact search is as fast below that");
    if (out.contains("result")) {
        const QJsonObject res = out.value("result").toObject();
        std::printf("query %lld (%s, %.2f ms):\n", (long long)res.value("query").toInteger(),
                    qPrintable(res.value("mode").toString()), res.value("query_ms").toDouble());
        for (const char *name : {"proponents", "opponents", "nearest", "farthest"}) {
            std::printf("  %-10s", name);
            for (const auto &v : res.value(name).toArray())
                std::printf(" %lld(%.4g)", (long long)v.toObject().value("id").toInteger(),
                            v.toObject().value("score").toDouble());
            std::printf("\n");
        }
    }
    return ExitOk;
}

int cmdClusters(Context &c)
{
    if (c.positional.size() != 1)
        return usage("clusters: expected <project>");
    ClusterOptions opt;
    auto space = parseClusterSpace(c.parser.value("space").toStdString());
    if (!space)
        return usage("--space takes tracin or embedding");
    opt.space = *space;
    opt.k = c.parser.value("k").toInt();
    opt.representatives = c.parser.value("representatives").toInt();
    opt.force = c.parser.isSet("force");
    opt.threads = c.parser.value("threads").toInt();
    opt.seed = c.parser.value("seed").toULongLong();
    if (opt.k < 0 || opt.k == 1 || opt.representatives < 1)
        return usage("--k takes 0 (automatic) or at least 2; --representatives at least 1");
    auto opened = openProjectModel(c);
    if (!opened.ok())
        return fail(opened.status());
    std::unique_ptr<ProjectDb> &db = opened->db;
    const int64_t model = opened->model;
    auto classes = db->classes();
    if (!classes.ok())
        return fail(classes.status());
    if (c.parser.isSet("class")) {
        auto label = findLabel(*db, c.parser.value("class"));
        if (!label.ok())
            return fail(label.status());
        opt.classes = {*label};
    }
    auto summary = computeClusters(*db, model, opt, progressPrinter(c.quiet), &g_cancel);
    if (!summary.ok())
        return fail(summary.status());
    if (c.json) {
        QJsonArray sets;
        for (const auto &set : summary->sets) {
            QJsonArray clusters;
            for (const auto &cl : set.clusters) {
                QJsonArray medoids, members;
                for (size_t i = 0; i < cl.members.size(); ++i) {
                    if (int(i) < set.representatives)
                        medoids.append(qint64(cl.members[i].exampleId));
                    members.append(qint64(cl.members[i].exampleId));
                }
                clusters.append(QJsonObject{{"index", cl.index}, {"size", int(cl.members.size())},
                                            {"medoids", medoids}, {"members", members}});
            }
            sets.append(QJsonObject{{"class", q(className(*classes, set.classIdx))}, {"class_index", set.classIdx},
                                    {"k", int(set.clusters.size())}, {"k_requested", set.requestedK},
                                    {"silhouette", set.silhouette}, {"clusters", clusters}});
        }
        printJson({{"model", qint64(model)}, {"space", clusterSpaceName(opt.space)}, {"computed", summary->computed},
                   {"reused", summary->reused}, {"seconds", summary->seconds}, {"classes", sets}});
        return ExitOk;
    }
    std::printf("clusters in %s space (model %lld): %d computed, %d up to date, %.1f s\n", clusterSpaceName(opt.space),
                (long long)model, summary->computed, summary->reused, summary->seconds);
    for (const auto &set : summary->sets) {
        std::printf("%s: k=%zu%s, silhouette %.3f\n", className(*classes, set.classIdx).c_str(), set.clusters.size(),
                    set.requestedK > 0 ? " (given)" : " (chosen)", set.silhouette);
        for (const auto &cl : set.clusters) {
            std::printf("  cluster %d: %5zu examples; medoids", cl.index, cl.members.size());
            for (int i = 0; i < set.representatives && i < int(cl.members.size()); ++i)
                std::printf(" %lld", (long long)cl.members[size_t(i)].exampleId);
            std::printf("\n");
        }
    }
    return ExitOk;
}

int cmdSynth(Context &c)
{
    if (c.positional.size() != 1)
        return usage("synth: expected <project>");
    SynthOptions o;
    o.train = c.parser.value("train").toLongLong();
    o.test = c.parser.value("test").toLongLong();
    o.classes = c.parser.value("classes").toInt();
    o.dim = c.parser.value("dim").toInt();
    o.checkpoints = c.parser.value("checkpoints").toInt();
    o.clustersPerClass = c.parser.value("clusters-per-class").toInt();
    o.seed = c.parser.value("seed").toULongLong();
    o.chunk = c.parser.value("chunk").toLongLong();
    o.overwrite = c.parser.isSet("overwrite");
    auto summary = writeSyntheticProject(c.positional[0].toStdString(), o, progressPrinter(c.quiet), &g_cancel);
    if (!summary.ok())
        return fail(summary.status());
    if (c.json)
        printJson({{"model", qint64(summary->modelId)}, {"examples", qint64(summary->examples)},
                   {"factor_rows", qint64(summary->factorRows)}, {"seconds", summary->seconds}});
    else
        std::printf("synthetic project: %lld examples, %lld factor rows, model %lld, %.1f s (%.0f factor rows/s)\n",
                    (long long)summary->examples, (long long)summary->factorRows, (long long)summary->modelId,
                    summary->seconds, double(summary->factorRows) / std::max(1e-9, summary->seconds));
    return ExitOk;
}

// The whole pipeline on Fashion-MNIST from the Debian package, resuming whatever an
// earlier run left unfinished.
int cmdDemo(Context &c)
{
    const QString dataset = c.parser.value("dataset");
    QString project = c.parser.value("project");
    if (project.isEmpty())
        project = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/demo/fashion-mnist.traclens";
    QDir().mkpath(QFileInfo(project).absolutePath());
    std::printf("TracLens demo: %s\nproject: %s\n", qPrintable(dataset), qPrintable(project));
    auto db = openProject(project, ProjectDb::OpenMode::Create);
    if (!db.ok())
        return fail(db.status());
    ProjectDb &p = **db;
    const ProgressFn progress = progressPrinter(c.quiet);
    auto info = p.dataset();
    if (!info.ok())
        return fail(info.status());
    if (!info->has_value()) {
        auto summary = importDataset(p, dataset.toStdString(), progress, &g_cancel);
        if (!summary.ok())
            return fail(summary.status());
        std::printf("imported: %lld train, %lld test, %zu classes\n", (long long)summary->train,
                    (long long)summary->test, summary->classes.size());
    }
    auto active = p.activeModel();
    if (!active.ok())
        return fail(active.status());
    int64_t model;
    if (!active->has_value()) {
        TrainConfig cfg = TrainConfig::adaptiveDefault();
        if (!applyEpochOptions(c.parser, &cfg))
            return usage("demo: --epochs, --max-epochs and --patience must be positive, --time-budget 0 or more");
        ModelRunner::setThreads(0);
        auto id = trainProjectModel(p, cfg, "builtin-cnn", progress, &g_cancel);
        if (!id.ok())
            return fail(id.status());
        model = *id;
        printTrainingRecord(p, model);
        auto epochs = p.epochs(model);
        if (epochs.ok())
            for (const auto &e : *epochs)
                std::printf("epoch %d: lr %.3g, train acc %.3f, test acc %.3f\n", e.epoch, e.learningRate,
                            e.trainAccuracy, e.testAccuracy);
        printModelWarnings(modelWarningsJson(p, model), stdout);
    } else {
        model = **active;
    }
    auto computed = computeFactors(p, model, {}, progress, &g_cancel);
    if (!computed.ok())
        return fail(computed.status());
    std::printf("factors: %lld computed, %lld reused (%.0f vectors/s)\n", (long long)computed->computed,
                (long long)computed->reused, computed->vectorsPerSecond);
    auto engine = InfluenceIndex::open(p, model, IndexOptions::serving());
    if (!engine.ok())
        return fail(engine.status());
    auto classes = p.classes();
    auto values = p.selfInfluence(model);
    if (!classes.ok() || !values.ok())
        return fail(classes.ok() ? values.status() : classes.status());
    std::printf("\nhighest self-influence (likely mislabelled or unusual):\n");
    int shown = 0;
    for (const auto &[id, v] : *values) {
        auto e = p.example(id);
        if (!e.ok() || e->split != Split::Train)
            continue;
        std::printf("  %6lld  %10.4g  labelled %-12s predicted %-12s (p=%.2f)\n", (long long)id, v,
                    className(*classes, e->currentLabel).c_str(), className(*classes, (*engine)->predicted(id)).c_str(),
                    (*engine)->predictedProbability(id));
        if (++shown == 10)
            break;
    }
    auto tests = p.examples(Split::Test);
    if (!tests.ok() || tests->empty())
        return fail(tests.ok() ? Status::notFound("no test examples") : tests.status());
    const int64_t queryId = tests->front().id;
    auto r = (*engine)->query(queryId, 5, Scoring::Raw);
    if (!r.ok())
        return fail(r.status());
    std::printf("\nquery: test example %lld (%s), predicted %s\n", (long long)queryId,
                className(*classes, r->labelUsed).c_str(), className(*classes, r->predicted).c_str());
    auto line = [&](const char *name, const std::vector<Neighbour> &list) {
        std::printf("  %-10s", name);
        for (const auto &n : list) {
            auto e = p.example(n.exampleId);
            std::printf("  %lld:%s(%.3g)", (long long)n.exampleId,
                        e.ok() ? className(*classes, e->currentLabel).c_str() : "?", n.score);
        }
        std::printf("\n");
    };
    line("proponents", r->proponents);
    line("opponents", r->opponents);
    line("nearest", r->nearest);
    line("farthest", r->farthest);
    std::printf("\nexplore it: traclens-cli query %s --example <id>, or open it in the app\n", qPrintable(project));
    return ExitOk;
}

// --- cross-validated out-of-sample scores (docs/cross-validation.md)

// The stored out-of-sample scores of the training examples, highest first, with their
// current labels: rows for people on stdout, or the JSON array returned with --json.
Result<QJsonArray> printOutOfSampleRanking(Context &c, ProjectDb &db, OutOfSampleScore kind, int top)
{
    auto terms = loadOutOfSampleTerms(db);
    if (!terms.ok())
        return terms.status();
    auto classes = db.classes();
    if (!classes.ok())
        return classes.status();
    auto train = db.examples(Split::Train);
    if (!train.ok())
        return train.status();
    std::vector<int64_t> ids;
    std::vector<int> labels;
    std::unordered_map<int64_t, const ExampleRow *> byId;
    for (const auto &e : *train) {
        ids.push_back(e.id);
        labels.push_back(e.currentLabel);
        byId.emplace(e.id, &e);
    }
    const std::vector<double> scores = outOfSampleScores(*terms, ids, labels, kind);
    // Examples the run does not cover (added since) have no score and are left out.
    std::vector<int64_t> scoredIds;
    std::vector<double> scored;
    for (size_t i = 0; i < ids.size(); ++i)
        if (!std::isnan(scores[i])) {
            scoredIds.push_back(ids[i]);
            scored.push_back(scores[i]);
        }
    const auto ranked = sortRanking(scoredIds, scored);
    const size_t shown = top > 0 ? std::min(ranked.size(), size_t(top)) : ranked.size();
    const int k = terms->numClasses;
    const int cps = terms->numCheckpoints();
    QJsonArray rows;
    if (!c.json)
        std::printf("%s, %zu training examples, out-of-fold\n", outOfSampleScoreName(kind), ranked.size());
    for (size_t r = 0; r < shown; ++r) {
        const ExampleRow &e = *byId.at(ranked[r].exampleId);
        const size_t row = size_t(std::lower_bound(terms->ids.begin(), terms->ids.end(), e.id) - terms->ids.begin());
        const float *last = terms->probs.data() + (row * size_t(cps) + size_t(cps - 1)) * size_t(k);
        const int predicted = int(std::max_element(last, last + k) - last);
        const std::string &label = className(*classes, e.currentLabel);
        const std::string &pred = className(*classes, predicted);
        if (c.json)
            rows.append(QJsonObject{{"rank", int(r + 1)}, {"id", qint64(e.id)}, {"path", q(e.source)},
                                    {"label", q(label)}, {"predicted", q(pred)}, {"fold", terms->fold[row]},
                                    {"score", ranked[r].score}});
        else
            std::printf("%5zu  %8lld  %12.6g  %-14s predicted %-14s %s\n", r + 1, (long long)e.id, ranked[r].score,
                        label.c_str(), pred.c_str(), e.source.c_str());
    }
    return rows;
}

int cmdCrossValidate(Context &c)
{
    if (c.positional.size() != 1)
        return usage("crossvalidate: expected <project>");
    OutOfSampleScore kind = OutOfSampleScore::SelfConfidence;
    if (!parseOutOfSampleScore(c.parser.value("score").toStdString(), &kind))
        return usage("crossvalidate: --score takes self-confidence, margin or self-influence");
    bool okFolds = false, okSeed = false, okTop = false, okThreads = false;
    CrossValidationConfig cfg;
    cfg.folds = c.parser.value("folds").toInt(&okFolds);
    cfg.seed = c.parser.value("seed").toULongLong(&okSeed);
    const int top = c.parser.value("top").toInt(&okTop);
    const int threads = c.parser.value("threads").toInt(&okThreads);
    if (!okFolds || cfg.folds < 2 || !okSeed || !okTop || top < 0 || !okThreads || threads < 0)
        return usage("crossvalidate: --folds must be 2 or more, --seed, --top and --threads 0 or more");
    auto db = openProject(c.positional[0]);
    if (!db.ok())
        return fail(db.status());
    cfg.train.epochs = defaultCrossValidationEpochs(**db);
    if (c.parser.isSet("epochs")) {
        bool ok = false;
        cfg.train.epochs = c.parser.value("epochs").toInt(&ok);
        if (!ok || cfg.train.epochs < 1)
            return usage("crossvalidate: --epochs must be positive");
    }
    ModelRunner::setThreads(threads);
    const auto t0 = std::chrono::steady_clock::now();
    if (Status s = runCrossValidation(**db, cfg, progressPrinter(c.quiet), &g_cancel); !s)
        return fail(s);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!c.json)
        std::printf("cross-validation: %d folds, %d epochs, fold seed %llu, %.1f s\n", cfg.folds, cfg.train.epochs,
                    (unsigned long long)cfg.seed, seconds);
    auto rows = printOutOfSampleRanking(c, **db, kind, top);
    if (!rows.ok())
        return fail(rows.status());
    if (c.json)
        printJson({{"folds", cfg.folds}, {"epochs", cfg.train.epochs}, {"seed", qint64(cfg.seed)},
                   {"seconds", seconds}, {"score", outOfSampleScoreName(kind)}, {"examples", *rows}});
    return ExitOk;
}

// --- mislabel detection (issue #5): rank, retrain, evaluate

// Training options shared by 'evaluate' and 'retrain'; only options given on the command
// line change `cfg`, so 'retrain' keeps the recorded configuration otherwise.
bool applyTrainOptions(const QCommandLineParser &p, TrainConfig *cfg)
{
    auto set = [&](const char *name, auto *field, auto convert) {
        if (p.isSet(name))
            *field = convert(p.value(name));
    };
    set("epochs", &cfg->epochs, [](const QString &v) { return v.toInt(); });
    set("width", &cfg->width, [](const QString &v) { return v.toInt(); });
    set("embedding-dim", &cfg->embeddingDim, [](const QString &v) { return v.toInt(); });
    set("batch", &cfg->batchSize, [](const QString &v) { return v.toInt(); });
    set("lr", &cfg->learningRate, [](const QString &v) { return v.toDouble(); });
    set("lr-decay", &cfg->lrDecay, [](const QString &v) { return v.toDouble(); });
    set("lr-decay-every", &cfg->lrDecayEvery, [](const QString &v) { return v.toInt(); });
    set("checkpoint-every", &cfg->checkpointEvery, [](const QString &v) { return v.toInt(); });
    set("seed", &cfg->seed, [](const QString &v) { return v.toULongLong(); });
    // Adaptive training (core/trainer.h) when asked for; a fixed --epochs wins.
    if (p.isSet("adaptive") || p.isSet("time-budget")) {
        cfg->adaptive.enabled = true;
        if (p.isSet("time-budget"))
            cfg->adaptive.timeBudgetSeconds = p.value("time-budget").toDouble() * 60.0;
    }
    if (p.isSet("epochs"))
        cfg->adaptive.enabled = false;
    return cfg->epochs >= 1 && cfg->width >= 1 && cfg->embeddingDim >= 1 && cfg->batchSize >= 1
           && cfg->learningRate > 0 && cfg->checkpointEvery >= 1;
}

// `defaults`: the values a command trains with when an option is not given (evaluate);
// none for retrain, which keeps what the model was trained with.
void addTrainOptions(CommandOptions &p, const std::optional<TrainConfig> &defaults)
{
    auto text = [&](const char *what, const QString &value) {
        return QString("%1 Default: %2.").arg(what, defaults ? value : QString("as the model was trained"));
    };
    const TrainConfig d = defaults.value_or(TrainConfig{});
    p.addOption({"epochs", text("Epochs.", QString::number(d.epochs)), "n"});
    p.addOption({"width", text("Channels of the first convolution.", QString::number(d.width)), "n"});
    p.addOption({"embedding-dim", text("Size of the embedding fed to fc.", QString::number(d.embeddingDim)), "n"});
    p.addOption({"batch", text("Batch size.", QString::number(d.batchSize)), "n"});
    p.addOption({"lr", text("Initial learning rate.", QString::number(d.learningRate)), "rate"});
    p.addOption({"lr-decay", text("Learning-rate factor per decay step.", QString::number(d.lrDecay)), "factor"});
    p.addOption({"lr-decay-every", text("Epochs per decay step.", QString::number(d.lrDecayEvery)), "n"});
    p.addOption({"checkpoint-every", text("Epochs between checkpoints.", QString::number(d.checkpointEvery)), "n"});
    p.addOption({"seed", text("Training seed.", QString::number(d.seed)), "n"});
    p.addOption({"adaptive", "Train until validation accuracy stops improving instead of a fixed number of epochs."});
    p.addOption({"time-budget", "Adaptive training's time budget, minutes (implies --adaptive; 0 = none). Default: "
                                "none (a fixed number of epochs).",
                 "minutes"});
}

// "1,5,10" (percent) → {0.01, 0.05, 0.10}; "none" → {}.
std::optional<std::vector<double>> parsePercents(const QString &text)
{
    std::vector<double> out;
    if (text == "none" || text.isEmpty())
        return out;
    for (const QString &part : text.split(',')) {
        bool ok = false;
        const double v = part.trimmed().toDouble(&ok);
        if (!ok || !(v > 0.0 && v <= 100.0))
            return std::nullopt;
        out.push_back(v / 100.0);
    }
    return out;
}

// "self-influence, loss, …, ensemble" (every kind the rank command takes).
std::string rankingKindList()
{
    std::string out;
    const auto kinds = allRankingKinds();
    for (size_t i = 0; i < kinds.size(); ++i)
        out += std::string(i == 0 ? "" : i + 1 == kinds.size() ? " or " : ", ") + rankingKindName(kinds[i]);
    return out;
}

// `fallback`: the spec without --ranking (the project's default, projectDefaultRanking()).
Result<RankingSpec> rankingFromOptions(const QCommandLineParser &p, const RankingSpec &fallback)
{
    RankingSpec spec = fallback;
    if (p.isSet("ranking")) {
        auto kind = parseRankingKind(p.value("ranking").toStdString());
        if (!kind)
            return Status::invalid("--ranking takes " + rankingKindList());
        spec = defaultRankingFor(*kind);
    }
    if (p.isSet("checkpoints") || p.isSet("weighting")) {
        auto policy = CheckpointPolicy::parse(
            p.isSet("checkpoints") ? p.value("checkpoints").toStdString() : spec.checkpoints.selectionName(),
            p.isSet("weighting") ? p.value("weighting").toStdString() : spec.checkpoints.weightingName());
        if (!policy)
            return Status::invalid("--checkpoints takes all, skip-N, last-N or skip-N,last-N; --weighting lr or uniform");
        spec.checkpoints = *policy;
    }
    spec.seed = p.value("ranking-seed").toULongLong();
    return spec;
}

int cmdRank(Context &c)
{
    if (c.positional.size() != 1)
        return usage("rank: expected <project>");
    // Options are checked before the project is opened, so a typo is a usage error; the
    // project then supplies its own default (a calibration, or what its inputs allow).
    auto spec = rankingFromOptions(c.parser, defaultRanking());
    if (!spec.ok())
        return usage(q(spec.status().message()));
    auto opened = openProjectModel(c, ProjectDb::OpenMode::ReadOnly);
    if (!opened.ok())
        return fail(opened.status());
    std::unique_ptr<ProjectDb> &db = opened->db;
    if (!c.parser.isSet("ranking"))
        spec = rankingFromOptions(c.parser, projectDefaultRanking(*db));
    const int64_t model = opened->model;
    auto terms = loadCheckpointTerms(*db, model, {}, &g_cancel);
    if (!terms.ok())
        return fail(terms.status());
    const Status prepared = prepareRankingTerms(*db, &*terms, *spec, c.parser.value("threads").toInt(), {}, &g_cancel);
    if (!prepared.isOk())
        return fail(prepared);
    auto classes = db->classes();
    if (!classes.ok())
        return fail(classes.status());
    std::unordered_map<int64_t, size_t> rowOf;
    for (size_t i = 0; i < terms->ids.size(); ++i)
        rowOf.emplace(terms->ids[i], i);
    const auto ranked = sortRanking(terms->ids, rankingScores(*terms, *spec));
    const int top = c.parser.value("top").toInt();
    const size_t shown = top > 0 ? std::min(ranked.size(), size_t(top)) : ranked.size();
    QJsonArray rows;
    const QJsonArray warnings = modelWarningsJson(*db, model);
    if (!c.json) {
        printModelWarnings(warnings, stderr);
        std::printf("%s, model %lld, %zu training examples\n", spec->toString().c_str(), (long long)model,
                    ranked.size());
    }
    for (size_t r = 0; r < shown; ++r) {
        auto e = db->example(ranked[r].exampleId);
        if (!e.ok())
            return fail(e.status());
        const size_t i = rowOf.at(ranked[r].exampleId);
        const std::string &label = className(*classes, e->currentLabel);
        const std::string &predicted = className(*classes, terms->predictedLast[i]);
        if (c.json)
            rows.append(QJsonObject{{"rank", int(r + 1)}, {"id", qint64(e->id)}, {"path", q(e->source)},
                                    {"label", q(label)}, {"predicted", q(predicted)}, {"score", ranked[r].score}});
        else
            std::printf("%5zu  %8lld  %12.6g  %-14s predicted %-14s %s\n", r + 1, (long long)e->id, ranked[r].score,
                        label.c_str(), predicted.c_str(), e->source.c_str());
    }
    if (c.json)
        printJson({{"model", qint64(model)}, {"ranking", q(spec->toString())}, {"kind", rankingKindName(spec->kind)},
                   {"checkpoints", q(spec->checkpoints.selectionName())},
                   {"weighting", spec->checkpoints.weightingName()}, {"model_warnings", warnings},
                   {"examples", rows}});
    return ExitOk;
}

int cmdRetrain(Context &c)
{
    if (c.positional.size() != 1)
        return usage("retrain: expected <project>");
    auto opened = openProjectModel(c);
    if (!opened.ok())
        return fail(opened.status());
    std::unique_ptr<ProjectDb> &db = opened->db;
    const int64_t model = opened->model;
    std::optional<TrainConfig> cfg;
    auto recorded = recordedTrainConfig(*db, model);
    if (recorded.ok())
        cfg = *recorded;
    else if (!c.parser.isSet("epochs"))
        return fail(recorded.status()); // an imported model: say why, unless told how to train
    else
        cfg = TrainConfig{};
    if (!applyTrainOptions(c.parser, &*cfg))
        return usage("retrain: epochs, width, embedding-dim, batch and checkpoint-every must be positive, lr > 0");
    ModelRunner::setThreads(c.parser.value("threads").toInt());
    auto r = retrainWithCorrections(*db, model, cfg, c.parser.value("name").toStdString(), progressPrinter(c.quiet),
                                    &g_cancel);
    if (!r.ok())
        return fail(r.status());
    if (c.parser.isSet("compute")) {
        ComputeOptions opt;
        opt.threads = c.parser.value("threads").toInt();
        auto computed = computeFactors(*db, r->newModel, opt, progressPrinter(c.quiet), &g_cancel);
        if (!computed.ok())
            return fail(computed.status());
    }
    const double delta = r->newTestAccuracy - r->previousTestAccuracy;
    if (c.json) {
        printJson({{"previous_model", qint64(r->previousModel)}, {"model", qint64(r->newModel)},
                   {"previous_test_accuracy", r->previousTestAccuracy}, {"test_accuracy", r->newTestAccuracy},
                   {"change", delta}, {"label_changes_since", qint64(r->labelChangesSince)},
                   {"seconds", r->seconds}, {"factors_computed", c.parser.isSet("compute")}});
    } else {
        std::printf("model %lld trained on the current labels (%lld label changes since model %lld), %.0f s\n",
                    (long long)r->newModel, (long long)r->labelChangesSince, (long long)r->previousModel, r->seconds);
        if (r->previousTestAccuracy >= 0 && r->newTestAccuracy >= 0)
            std::printf("test accuracy: %.2f%% → %.2f%% (%+.2f points)\n", 100.0 * r->previousTestAccuracy,
                        100.0 * r->newTestAccuracy, 100.0 * delta);
        else
            std::printf("test accuracy: not measured (the project has no test split)\n");
        if (!c.parser.isSet("compute"))
            std::printf("the new model is active; run 'compute' for its TracIn factors\n");
    }
    return ExitOk;
}

int cmdEvaluate(Context &c)
{
    if (!c.positional.isEmpty())
        return usage("evaluate: takes options only (see --help)");
    if (!c.parser.isSet("out"))
        return usage("evaluate: --out <directory> is required (e.g. docs/evaluation)");
    EvaluationConfig cfg;
    cfg.dataset = c.parser.value("dataset").toStdString();
    // --calibrate: the project is checked now (not after an hour of training) and lends its
    // dataset unless --dataset names another. Read-only here: the app may have it open.
    const QString calibrate = c.parser.value("calibrate");
    if (!calibrate.isEmpty()) {
        auto db = ProjectDb::open(calibrate.toStdString(), ProjectDb::OpenMode::ReadOnly);
        if (!db.ok())
            return fail(db.status());
        if (!c.parser.isSet("dataset")) {
            auto info = (*db)->dataset();
            if (!info.ok())
                return fail(info.status());
            if (!info->has_value())
                return usage("evaluate --calibrate: the project has no dataset; give --dataset");
            cfg.dataset = (*info)->importedFrom.empty() ? (*info)->root : (*info)->importedFrom;
        }
    }
    cfg.workDirectory = c.parser.isSet("work") ? c.parser.value("work").toStdString()
                                               : (QDir::tempPath() + "/traclens-evaluation").toStdString();
    cfg.truthFile = c.parser.value("truth").toStdString();
    bool rateOk = false;
    // Known errors are scored without injected noise: --truth alone means --noise 0.
    cfg.noiseRate = !cfg.truthFile.empty() && !c.parser.isSet("noise") ? 0.0 : c.parser.value("noise").toDouble(&rateOk);
    if (cfg.truthFile.empty() || c.parser.isSet("noise")) {
        if (!rateOk || !(cfg.noiseRate >= 0.0 && cfg.noiseRate < 1.0))
            return usage("--noise takes a fraction between 0 and 1, e.g. 0.1 (0 only with --truth)");
        if (cfg.truthFile.empty() && cfg.noiseRate == 0.0)
            return usage("evaluate: --noise 0 leaves nothing to find: give --truth FILE with the errors you know, "
                         "or a noise rate such as 0.1");
        if (!cfg.truthFile.empty() && cfg.noiseRate != 0.0)
            return usage("evaluate: --truth scores the errors you know without injected noise: use --noise 0 (or "
                         "leave --noise out)");
    }
    const auto noiseType = parseNoiseType(c.parser.value("noise-type").toStdString());
    if (!noiseType)
        return usage("--noise-type takes uniform, pair or confusion");
    cfg.noiseType = *noiseType;
    cfg.confusionFile = c.parser.value("confusion").toStdString();
    if (!cfg.confusionFile.empty() && cfg.noiseType != NoiseType::Confusion)
        return usage("--confusion FILE is the matrix of --noise-type confusion");
    if (!cfg.truthFile.empty() && c.parser.isSet("noise-type"))
        return usage("evaluate: --noise-type describes injected noise; --truth injects none");
    cfg.noiseSeed = c.parser.value("noise-seed").toULongLong();
    cfg.trainLimit = c.parser.value("train-limit").toLongLong();
    cfg.testLimit = c.parser.value("test-limit").toLongLong();
    if (!applyTrainOptions(c.parser, &cfg.train))
        return usage("evaluate: epochs, width, embedding-dim, batch and checkpoint-every must be positive, lr > 0");
    cfg.compute.threads = c.parser.value("threads").toInt();
    auto budgets = parsePercents(c.parser.value("budgets"));
    auto cleaning = parsePercents(c.parser.value("cleaning"));
    if (!budgets || budgets->empty() || !cleaning)
        return usage("--budgets and --cleaning take percentages, e.g. 1,5,10 (--cleaning none skips the loop)");
    cfg.budgets = *budgets;
    cfg.cleaningBudgets = *cleaning;
    cfg.cleaningUpperBound = !c.parser.isSet("no-upper-bound");
    cfg.seedReplicates = c.parser.value("seed-replicates").toInt();
    if (cfg.seedReplicates < 0)
        return usage("--seed-replicates takes a count, 0 or more");
    bool foldsOk = false;
    cfg.folds = c.parser.value("folds").toInt(&foldsOk);
    if (!foldsOk || cfg.folds == 1 || cfg.folds < 0)
        return usage("--folds takes 0 (no cross-validation) or a count of 2 or more");
    bool seedsOk = false;
    cfg.cleaningSeeds = c.parser.value("cleaning-seeds").toInt(&seedsOk);
    if (!seedsOk || cfg.cleaningSeeds < 1)
        return usage("--cleaning-seeds takes a count, 1 or more");
    QStringList words = QCoreApplication::arguments().mid(1);
    words.prepend("traclens-cli");
    cfg.command = words.join(' ').toStdString();

    const auto t0 = std::chrono::steady_clock::now();
    auto report = runEvaluation(cfg, progressPrinter(c.quiet), &g_cancel);
    if (!report.ok())
        return fail(report.status());
    const std::string out = c.parser.value("out").toStdString();
    const Status written = writeEvaluationReport(*report, out);
    if (!written.isOk())
        return fail(written);
    if (!calibrate.isEmpty()) {
        auto db = ProjectDb::open(calibrate.toStdString(), ProjectDb::OpenMode::ReadWrite);
        if (!db.ok())
            return fail(db.status());
        const std::string reportFile = QFileInfo(QDir(q(out)).filePath("report.json")).absoluteFilePath().toStdString();
        const Status recorded = recordCalibration(**db, *report, reportFile);
        if (!recorded.isOk())
            return fail(recorded);
        const RankingEvaluation *best = bestCalibrationRanking(*report);
        // The headline budget is 10 %; a run without it quotes its largest budget.
        size_t at = cfg.budgets.size() - 1;
        for (size_t i = 0; i < cfg.budgets.size(); ++i)
            if (std::abs(cfg.budgets[i] - 0.10) < 1e-9)
                at = i;
        // Beside --json the report is stdout's only content.
        std::fprintf(c.json ? stderr : stdout, "default review queue of %s: %s (measured: %.1f%% of the %s in the top %.3g%%)\n",
                     calibrate.toStdString().c_str(), best->name.c_str(),
                     at < best->recall.size() ? 100.0 * best->recall[at] : 0.0,
                     cfg.truthFile.empty() ? "flips" : "known errors", 100.0 * cfg.budgets[at]);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (c.json) {
        QFile f(QDir(q(out)).filePath("report.json"));
        f.open(QIODevice::ReadOnly);
        std::fputs(f.readAll().constData(), stdout);
        return ExitOk;
    }
    const EvaluationReport &r = *report;
    if (cfg.truthFile.empty())
        std::printf("%zu of %lld training labels flipped (%s noise); model test accuracy %.2f%%\n\n", r.flips.size(),
                    (long long)r.trainCount, noiseTypeName(cfg.noiseType), 100.0 * r.testAccuracyBefore);
    else
        std::printf("%zu known errors (%s) among %lld training labels, no injected noise; model test accuracy "
                    "%.2f%%\n\n",
                    r.flips.size(), cfg.truthFile.c_str(), (long long)r.trainCount, 100.0 * r.testAccuracyBefore);
    std::printf("%-44s", cfg.truthFile.empty() ? "flips found in the top" : "known errors found in the top");
    for (double b : cfg.budgets)
        std::printf(" %6.3g%%", 100.0 * b);
    std::printf("     AUC\n");
    for (const auto &e : r.rankings) {
        std::printf("%-44s", (e.name + (e.name == r.defaultSpec.toString() ? " *" : "")).c_str());
        for (double v : e.recall)
            std::printf(" %6.1f%%", 100.0 * v);
        std::printf("  %.4f\n", e.auc);
    }
    std::printf("(* the default queue; best checkpoint policy measured: %s)\n", r.bestPolicy.c_str());
    if (!r.cleaning.empty()) {
        std::printf("\ncleaning loop: test accuracy %.2f%% before\n", 100.0 * r.testAccuracyBefore);
        for (const auto &run : r.cleaning)
            std::printf("  %-16s %5.1f%% reviewed: %6lld flips fixed, test accuracy %.2f%% (%+.2f)\n",
                        run.strategy.c_str(), 100.0 * run.budget, (long long)run.fixed, 100.0 * run.testAccuracy,
                        100.0 * (run.testAccuracy - r.testAccuracyBefore));
    }
    for (const auto &run : r.seedRuns)
        std::printf("  noisy labels, seed %llu: test accuracy %.2f%% (%+.2f)\n", (unsigned long long)run.seed,
                    100.0 * run.testAccuracy, 100.0 * (run.testAccuracy - r.testAccuracyBefore));
    if (!r.cleaningSkipped.empty())
        std::printf("\ncleaning loop not run: %s\n", r.cleaningSkipped.c_str());
    std::printf("\nmeasured on %s\n", describeMachine(r.machine).c_str());
    std::printf("\nreport: %s/report.md (%.0f s this run, %.0f s of work in total)\n", out.c_str(), seconds,
                r.totalSeconds);
    return ExitOk;
}

struct Command {
    const char *name;
    const char *summary;
    const char *args;
    std::function<void(CommandOptions &)> options;
    std::function<int(Context &)> run;
};

// A command's help: the usage line names the command and its arguments (QCommandLineParser
// would print the program path and the command as a positional argument), then Qt's
// option list.
QString commandHelp(const Command &command, const QCommandLineParser &parser)
{
    QString usage = QString("Usage: traclens-cli %1 [options]").arg(command.name);
    if (*command.args)
        usage += QString(" ") + command.args;
    QString options = parser.helpText();
    options = options.mid(options.indexOf("\nOptions:") + 1);
    // Qt shows a one-letter option as "-k"; the README and scripts write "--k", which
    // Qt accepts as well: show that spelling, in the same column.
    static const QRegularExpression oneLetter("^  -([A-Za-z]) <", QRegularExpression::MultilineOption);
    options.replace(oneLetter, " --\\1 <");
    return usage + "\n" + command.summary + "\n\n" + options;
}

} // namespace

int main(int argc, char **argv)
{
    // 'evaluate' draws PNG charts, and Qt draws text only under a QGuiApplication; the
    // offscreen platform needs no display.
    const bool charts = argc > 1 && std::strcmp(argv[1], "evaluate") == 0;
    if (charts && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    std::unique_ptr<QCoreApplication> application(charts ? new QGuiApplication(argc, argv)
                                                          : new QCoreApplication(argc, argv));
    QCoreApplication &app = *application;
    QCoreApplication::setOrganizationName("TracLens");
    QCoreApplication::setApplicationName("TracLens");
    QCoreApplication::setApplicationVersion("0.1.0");
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);

    const QCommandLineOption help({"h", "help"}, "This help.");
    const QCommandLineOption json("json", "Machine-readable output (JSON on stdout).");
    const QCommandLineOption quiet("quiet", "No progress on stderr.");
    const QCommandLineOption progressLines("progress-lines",
                                           "Every progress report as a line on stderr: "
                                           "progress<TAB>stage<TAB>done<TAB>total<TAB>detail.");
    const QCommandLineOption model("model", "Model id (see 'info'). Default: the active model.", "id");
    const QCommandLineOption threads("threads", "LibTorch threads (0 = all cores).", "n", "0");
    const QCommandLineOption precisionOption(
        "precision", "Factors held for exact scoring: f32, or f16 (half the memory; near-ties may reorder).",
        "f32|f16", "f32");
    const QCommandLineOption trustModel(
        "trust-model", "Run the model even though its directory is outside the project, and remember that you trust "
                       "it for this project. TorchScript models are programs: trust only models from people you trust.");

    const std::vector<Command> commands = {
        {"import", "Import a dataset (image folder, CSV manifest or IDX folder) into a project; re-import updates it.",
         "<project> <dataset>", [](CommandOptions &) {}, cmdImport},
        {"train",
         "Train the built-in CNN with SGD, a checkpoint per epoch, until held-out accuracy stops improving (or a "
         "fixed --epochs).",
         "<project>",
         [&](CommandOptions &p) {
             addEpochOptions(p);
             p.addOption({"width", "Channels of the first convolution.", "n", "16"});
             p.addOption({"embedding-dim", "Size of the embedding fed to fc.", "n", "64"});
             p.addOption({"batch", "Batch size.", "n", "64"});
             p.addOption({"lr", "Initial learning rate.", "rate", "0.05"});
             p.addOption({"lr-decay", "Learning-rate factor per decay step.", "factor", "0.5"});
             p.addOption({"lr-decay-every", "Epochs per decay step.", "n", "2"});
             p.addOption({"checkpoint-every", "Epochs between checkpoints.", "n", "1"});
             p.addOption({"seed", "Random seed.", "n", "1"});
             p.addOption({"name", "Model name.", "name", "builtin-cnn"});
             p.addOption(threads);
         },
         cmdTrain},
        {"import-model",
         "Register a traclens-model/1 directory (TorchScript checkpoints). TorchScript files are programs: importing "
         "runs them to validate them and records that you trust this directory for this project.",
         "<project> <directory>",
         [](CommandOptions &p) {
             p.addOption({"copy", "Copy the model (its traclens-model.json and the checkpoint files it lists) into "
                                  "<project>.d/models, so the project keeps working when the original folder is "
                                  "moved or deleted. Without it the project refers to the folder where it is."});
         },
         cmdImportModel},
        {"compute", "Compute TracIn factors and self-influence (resumable).", "<project>",
         [&](CommandOptions &p) {
             p.addOption(model);
             p.addOption(threads);
             p.addOption(trustModel);
             p.addOption({"accept-changed-checkpoints",
                          "A checkpoint file changed since its factors were computed: drop that checkpoint's "
                          "factors and recompute them with the new file (others are kept). Without it compute "
                          "refuses and keeps everything."});
             p.addOption({"batch", "Inference batch size.", "n", "256"});
             p.addOption({"chunk", "Examples per transaction.", "n", "2048"});
             p.addOption({"distributed", "One process of a run over many processes or machines, started by a "
                                         "launcher (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT or srun's SLURM_*): "
                                         "rank 0 writes the project, the others compute. See the README."});
             p.addOption({"heartbeat-timeout", "With --distributed: a worker silent this long is taken as dead.",
                          "seconds", "10"});
         },
         cmdCompute},
        {"self-influence", "Rank examples by self-influence, highest first.", "<project>",
         [&](CommandOptions &p) {
             p.addOption(model);
             p.addOption({"top", "How many rows to print (0 = all).", "n", "20"});
             p.addOption({"split", "train, test or all.", "split", "train"});
         },
         cmdSelfInfluence},
        {"query",
         "Proponents, opponents and embedding neighbours of examples or of an image file. Examples are named by id, "
         "by path relative to the dataset root, or by absolute path under it.",
         "<project>",
         [&](CommandOptions &p) {
             p.addOption(model);
             p.addRepeatable({"example", "An example to query (id or path). With --json, several give a JSON line each.",
                              "id|path"});
             p.addOption({"examples-from",
                          "Query every example listed in this file, one id or path per line (blank lines and lines "
                          "starting with # are skipped; - reads stdin). With --json, a JSON line each.",
                          "file"});
             p.addOption({"split", "Query every example of this split: train or test. With --json, a JSON line each.",
                          "split"});
             p.addOption({"image", "An image file outside the project.", "file"});
             p.addOption({"label", "Label for --image. Default: its predicted class.", "label"});
             p.addOption({"include-self",
                          "Let a training example appear in its own lists (by default it is left out of them, "
                          "and the answer says so)."});
             p.addOption(trustModel);
             p.addOption({"k", "How many of each list.", "n", "10"});
             p.addOption({"normalised", "Normalised TracIn (cosine of gradients)."});
             p.addOption(precisionOption);
         },
         cmdQuery},
        {"relabel",
         "Change an example's label (kept in the label history). The example is an id, its path relative to the "
         "dataset root, or an absolute path under it.",
         "<project> <example> <label>", [](CommandOptions &) {}, cmdRelabel},
        {"export", "Export corrected labels (CSV), the change log and/or an ImageFolder tree.", "<project>",
         [](CommandOptions &p) {
             p.addOption({"csv", "Write labels to this CSV: id,path,label,original_label,changed.", "file"});
             p.addOption({"log", "Write the change log to this CSV.", "file"});
             p.addOption({"tree", "Write an ImageFolder tree with the current labels into this folder.", "dir"});
             p.addOption({"hardlink", "Hard-link files into the tree instead of copying."});
             p.addOption({"overwrite", "Replace existing CSV files and files in the tree."});
         },
         cmdExport},
        {"info", "What a project holds.", "<project>", [](CommandOptions &) {}, cmdInfo},
        {"index", "Build (if missing or stale) the approximate TracIn and embedding indexes.", "<project>",
         [&](CommandOptions &p) {
             p.addOption(model);
             p.addOption(threads);
             p.addOption({"force", "Rebuild even when the index is up to date."});
             p.addOption({"backend", "cells (cone-bound cell scan) or hnsw (hnswlib graphs).", "kind", "cells"});
             p.addOption({"dim", "Projection dimension of the TracIn vectors (0 = exact vectors). Default: 128 for "
                                 "cells, 64 for hnsw.",
                          "m"});
             p.addOption({"projection", "pca (principal directions of the gradients), gaussian or achlioptas.", "kind",
                          "pca"});
             p.addOption({"cells", "Cells: cells of each index (0 = about the square root of the training rows).",
                          "n", "0"});
             p.addOption({"candidates", "Cells: candidates per TracIn list at query time (scored exactly).", "n",
                          QString::number(IndexParams{}.candidates)});
             p.addOption({"M", "Hnsw: graph degree.", "n", QString::number(IndexParams{}.M)});
             p.addOption({"ef-construction", "Hnsw: candidate list while building.", "n",
                          QString::number(IndexParams{}.efConstruction)});
             p.addOption({"ef", "Hnsw: candidates per list and graph at query time (rescored exactly).", "n",
                          QString::number(IndexParams{}.efSearch)});
             p.addOption({"seed", "Projection seed.", "n", "1"});
             p.addOption(precisionOption);
             p.addOption({"query", "Then answer a query for this example (id or path) through the index.", "id|path"});
             p.addOption({"k", "How many of each for --query.", "n", "10"});
             p.addOption({"normalised", "Normalised TracIn for --query."});
             p.addOption({"exact", "Answer --query by exact search instead."});
         },
         cmdIndex},
        {"clusters", "Cluster each class's training examples by TracIn (or embedding) similarity.", "<project>",
         [&](CommandOptions &p) {
             p.addOption(model);
             p.addOption(threads);
             p.addOption({"space", "tracin or embedding.", "space", "tracin"});
             p.addOption({"k", "Clusters per class (0 = chosen by silhouette in 2..12).", "n", "0"});
             p.addOption({"class", "Only this class (name or index). Default: every class.", "name"});
             p.addOption({"representatives", "Medoids per cluster.", "n", "8"});
             p.addOption({"seed", "Random seed.", "n", "1"});
             p.addOption({"force", "Recompute even when stored clusters are up to date."});
         },
         cmdClusters},
        {"synth", "Write a synthetic project with planted clusters (for benchmarks and tests).", "<project>",
         [](CommandOptions &p) {
             p.addOption({"train", "Training examples.", "n", "10000"});
             p.addOption({"test", "Test examples.", "n", "1000"});
             p.addOption({"classes", "Classes.", "k", "10"});
             p.addOption({"dim", "Embedding size.", "d", "64"});
             p.addOption({"checkpoints", "Checkpoints.", "c", "3"});
             p.addOption({"clusters-per-class", "Planted clusters per class.", "q", "3"});
             p.addOption({"seed", "Random seed.", "n", "1"});
             p.addOption({"chunk", "Examples per transaction.", "n", "20000"});
             p.addOption({"overwrite", "Replace an existing project file."});
         },
         cmdSynth},
        {"rank", "Review-queue ranking of the training examples (default: the project's measured best).", "<project>",
         [&](CommandOptions &p) {
             p.addOption(model);
             p.addOption({"ranking",
                          QString("%1. The cv- kinds and ensemble need 'crossvalidate' first. Default: the "
                                  "project's measured default (Report ▸ Calibrate), else ensemble with "
                                  "cross-validation, else %2 (the review queue's order).")
                              .arg(QString::fromStdString(rankingKindList()), rankingKindName(defaultRanking().kind)),
                          "kind"});
             p.addOption({"checkpoints",
                          "Checkpoints used: all, skip-N, last-N or skip-N,last-N. Default: the ranking's own (see "
                          "the first line of the output).",
                          "which"});
             p.addOption({"weighting", "Checkpoint weights: lr (as recorded) or uniform. Default: the ranking's own.",
                          "w"});
             p.addOption({"ranking-seed", "Seed of the random ranking.", "n", "1"});
             p.addOption({"top", "How many rows to print (0 = all).", "n", "20"});
             p.addOption({"threads", "Threads of the neighbour search (0 = all cores).", "n", "0"});
         },
         cmdRank},
        {"crossvalidate",
         "K-fold cross-validation of the built-in CNN: every training example scored by a fold model that never saw "
         "it (resumable), then the examples ranked by that score.",
         "<project>",
         [&](CommandOptions &p) {
             p.addOption({"folds", "Folds K (2 or more), stratified by label.", "n", "4"});
             p.addOption({"epochs",
                          QString("Epochs of each fold model. Default: the active model's epoch count when it was "
                                  "trained in the project, else %1.")
                              .arg(kDefaultCrossValidationEpochs),
                          "n"});
             p.addOption({"seed", "Seed of the fold assignment.", "n", "1"});
             p.addOption({"score", "Ranking printed afterwards: self-confidence (1 - p[label]), margin or "
                                   "self-influence (TracIn on the out-of-fold checkpoints).",
                          "kind", "self-confidence"});
             p.addOption({"top", "How many rows to print (0 = all).", "n", "20"});
             p.addOption(threads);
         },
         cmdCrossValidate},
        {"retrain", "Retrain on the current labels (your corrections) and compare test accuracy.", "<project>",
         [&](CommandOptions &p) {
             p.addOption(model);
             p.addOption(threads);
             addTrainOptions(p, std::nullopt);
             p.addOption({"name", "Name of the new model. Default: the model's name with \"-retrained\".", "name"});
             p.addOption({"compute", "Then compute the new model's TracIn factors."});
         },
         cmdRetrain},
        {"evaluate", "Measure mislabel detection: inject label noise, train, rank, retrain after review.", "",
         [&](CommandOptions &p) {
             p.addOption({"dataset", "Dataset to import.", "path", "/usr/share/datasets/fashion-mnist"});
             p.addOption({"out", "Report directory (report.md, report.json, PNG plots); required.", "dir"});
             p.addOption({"calibrate",
                          "Afterwards make the best measured ranking this project's default review queue (its "
                          "dataset is evaluated when --dataset is not given). Default: none.",
                          "project"});
             p.addOption({"work", "Work directory for the project and models (reused by a rerun). Default: "
                                  "traclens-evaluation in the temporary folder.",
                          "dir"});
             p.addOption({"noise", "Fraction of training labels to flip (0, the default with --truth, injects none).",
                          "rate", "0.1"});
             p.addOption({"noise-type",
                          "uniform (to any other class), pair (class c to class c+1 mod K) or confusion (drawn from a "
                          "confusion matrix).",
                          "type", "uniform"});
             p.addOption({"confusion",
                          "Matrix for --noise-type confusion: K rows of K numbers (row = true class). Without it, "
                          "the built-in CNN is trained on the clean labels and its test-split confusion is used. Default: none.",
                          "file"});
             p.addOption({"truth",
                          "Score against known wrong labels instead of injected noise: one example per line (its "
                          "path relative to the dataset root, or its id), optionally ',<correct label>'. Default: none (inject noise).",
                          "file"});
             p.addOption({"noise-seed", "Seed of the label noise.", "n", "1"});
             p.addOption({"train-limit", "Use a seeded subset of this many training images (0 = all).", "n", "0"});
             p.addOption({"test-limit", "Use a seeded subset of this many test images (0 = all).", "n", "0"});
             p.addOption({"budgets", "Review budgets for recall, percent.", "list", "1,5,10,20,30"});
             p.addOption({"cleaning", "Review budgets of the cleaning loop, percent (none = skip).", "list", "10"});
             p.addOption({"no-upper-bound", "Skip the retraining with every flip fixed."});
             p.addOption({"seed-replicates", "Extra trainings on the noisy labels with other seeds (the spread).", "n",
                          "2"});
             p.addOption({"folds",
                          "Cross-validation folds for the out-of-sample rankings and the confident-learning "
                          "baseline (0 = none).",
                          "n", "4"});
             p.addOption({"cleaning-seeds",
                          "Trainings per cleaning-loop cell, each compared with the noisy-label model of its seed.",
                          "n", "3"});
             addTrainOptions(p, EvaluationConfig{}.train);
             p.addOption(threads);
         },
         cmdEvaluate},
        {"demo", "Import Fashion-MNIST, train, compute and show what TracIn finds.", "",
         [](CommandOptions &p) {
             p.addOption({"project", "Project file. Default: the app's demo project.", "file"});
             p.addOption({"dataset", "Dataset to use.", "path", "/usr/share/datasets/fashion-mnist"});
             addEpochOptions(p);
         },
         cmdDemo},
    };

    QStringList args = app.arguments();
    auto printOverview = [&](FILE *to) {
        std::fprintf(to, "Usage: traclens-cli <command> [options]\n\nTracIn influence for image datasets.\n\nCommands:\n");
        for (const auto &c : commands)
            std::fprintf(to, "  %-15s %s\n", c.name, c.summary);
        std::fprintf(to, "\n'traclens-cli <command> --help' describes a command.\n"
                         "Exit codes: 0 ok, 1 failed, 2 bad usage, 3 not found, 4 cancelled.\n");
    };
    if (args.size() < 2 || args[1] == "--help" || args[1] == "-h" || args[1] == "help") {
        printOverview(args.size() < 2 ? stderr : stdout);
        return args.size() < 2 ? ExitUsage : ExitOk;
    }
    if (args[1] == "--version") {
        std::printf("traclens-cli %s\n", qPrintable(QCoreApplication::applicationVersion()));
        return ExitOk;
    }
    const QString name = args[1];
    auto it = std::find_if(commands.begin(), commands.end(), [&](const Command &c) { return name == c.name; });
    if (it == commands.end()) {
        std::fprintf(stderr, "traclens-cli: unknown command '%s'\n\n", qPrintable(name));
        printOverview(stderr);
        return ExitUsage;
    }
    Context ctx;
    CommandOptions options;
    options.addOption(help);
    options.addOption(json);
    options.addOption(quiet);
    options.addOption(progressLines);
    it->options(options);
    options.install(ctx.parser);
    args.removeAt(1);
    if (!ctx.parser.parse(args))
        return usage(QString("%1: %2").arg(it->name, ctx.parser.errorText()));
    if (ctx.parser.isSet(help)) {
        std::fputs(qPrintable(commandHelp(*it, ctx.parser)), stdout);
        return ExitOk;
    }
    if (const QString repeated = options.repeatedOption(ctx.parser); !repeated.isEmpty())
        return usage(QString("%1: %2").arg(it->name, repeated));
    ctx.json = ctx.parser.isSet(json);
    ctx.quiet = ctx.parser.isSet(quiet);
    g_progressLines = ctx.parser.isSet(progressLines);
    ctx.positional = ctx.parser.positionalArguments();
    return it->run(ctx);
}
