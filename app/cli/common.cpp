// Helpers every traclens-cli command shares (see common.h).

#include "common.h"

#include "model/checkpointcheck.h"
#include "model/modeltrust.h"
#include "store/projectdb.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

namespace traclens::cli {

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

Result<std::unique_ptr<ProjectDb>> openProject(const QString &path, ProjectDb::OpenMode mode)
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

Result<ProjectModel> openProjectModel(Context &c, ProjectDb::OpenMode mode)
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

QCommandLineOption modelOption()
{
    return {"model", "Model id (see 'info'). Default: the active model.", "id"};
}

QCommandLineOption threadsOption()
{
    return {"threads", "LibTorch threads (0 = all cores).", "n", "0"};
}

QCommandLineOption cvViewsOption()
{
    return {"cv-views",
            "How the fold models score the images they did not train on: plain (as given), mirrored (also "
            "mirrored left-right, the mean of the two views' probabilities; for models trained with --augment "
            "flip) or auto (the measured default: mirrored for fold models trained with --augment flip, plain "
            "for any other). Changing it re-scores the trained fold models; nothing is trained again.",
            "auto|plain|mirrored", "auto"};
}

bool parseCvViews(const QString &value, std::optional<bool> *mirrored)
{
    if (value == "auto")
        *mirrored = std::nullopt;
    else if (value == "plain")
        *mirrored = false;
    else if (value == "mirrored")
        *mirrored = true;
    else
        return false;
    return true;
}

QCommandLineOption precisionOption()
{
    return {"precision", "Factors held for exact scoring: f32, or f16 (half the memory; near-ties may reorder).",
            "f32|f16", "f32"};
}

QCommandLineOption trustModelOption()
{
    return {"trust-model", "Run the model even though its directory is outside the project, and remember that you trust "
                           "it for this project. TorchScript models are programs: trust only models from people you trust."};
}

void noOptions(CommandOptions &)
{
}

} // namespace traclens::cli
