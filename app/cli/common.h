#pragma once
// What every traclens-cli command shares: exit codes, the cancel flag the signal handler
// sets, error and JSON printing, the progress printer, the options of one command
// (CommandOptions) and the parsed command line (Context), and finding the project, the
// model and the examples that the arguments name.
//
// Thread safety: the main thread only, except g_cancel (atomic, set from the signal
// handler). Failure: helpers return Status values; fail() and usage() print the message
// on stderr and return the exit code for it.

#include "store/projectdb.h"
#include "util/progress.h"
#include "util/status.h"

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace traclens::cli {

// Exit codes: 0 success, 1 the work failed, 2 bad usage, 3 not found, 4 cancelled.
enum Exit { ExitOk = 0, ExitFailed = 1, ExitUsage = 2, ExitNotFound = 3, ExitCancelled = 4 };

// Set by SIGINT and SIGTERM; every long engine call polls it.
extern CancelFlag g_cancel;
// --progress-lines (see progressPrinter()).
extern bool g_progressLines;

const std::string &className(const std::vector<std::string> &classes, int64_t label);
void onSignal(int);
int exitFor(const Status &s);
// Prints "traclens-cli: <message>" on stderr; returns the exit code for the status.
int fail(const Status &s);
// Prints the message on stderr; returns ExitUsage.
int usage(const QString &message);
QString q(const std::string &s);
void printJson(const QJsonObject &o);
ProgressFn progressPrinter(bool quiet);

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

// The options of a command that has none of its own.
void noOptions(CommandOptions &);
// Options several commands take, with the same text everywhere.
QCommandLineOption modelOption();
QCommandLineOption threadsOption();
QCommandLineOption precisionOption();
QCommandLineOption trustModelOption();
// --cv-views auto|plain|mirrored: how the fold models score their held-out images.
QCommandLineOption cvViewsOption();
// Its value: nullopt for auto (mirroredViewsByDefault), else whether mirrored. False for
// any other word.
bool parseCvViews(const QString &value, std::optional<bool> *mirrored);

Result<std::unique_ptr<ProjectDb>> openProject(const QString &path, ProjectDb::OpenMode mode = ProjectDb::OpenMode::ReadWrite);
Result<int64_t> chooseModel(ProjectDb &db, const QString &option);

// The project of the first argument and the model --model names (the active one when
// --model is not given). Failure: the Status to pass to fail().
struct ProjectModel {
    std::unique_ptr<ProjectDb> db;
    int64_t model = 0;
};
Result<ProjectModel> openProjectModel(Context &c, ProjectDb::OpenMode mode = ProjectDb::OpenMode::ReadWrite);

Status prepareModelRun(ProjectDb &db, int64_t model, bool trust, bool accept, bool quiet, const QString &project);

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

// A class by name or index; the error lists the classes.
Result<int> findLabel(ProjectDb &db, const QString &text);

} // namespace traclens::cli
