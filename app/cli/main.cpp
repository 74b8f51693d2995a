// traclens-cli: the engine from the command line, for scripts, benchmarks and machines
// without a display. main() parses the command line and dispatches through the command
// table below; each command is in commands/<name>.cpp, what they share in common.cpp and
// trainingoptions.cpp. The work is in core/.

#include "commands.h"
#include "common.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QGuiApplication>
#include <QRegularExpression>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

using namespace traclens;
using namespace traclens::cli;

namespace {

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
    const std::vector<Command> commands = {
        {"import", "Import a dataset (image folder, CSV manifest or IDX folder) into a project; re-import updates it.",
         "<project> <dataset>", noOptions, cmdImport},
        {"train",
         "Train a built-in network (--network; the small CNN by default), a checkpoint per epoch, until held-out "
         "accuracy stops improving (or a fixed --epochs).",
         "<project>",
         trainOptions,
         cmdTrain},
        {"import-model",
         "Register a traclens-model/1 directory (TorchScript checkpoints). TorchScript files are programs: importing "
         "runs them to validate them and records that you trust this directory for this project.",
         "<project> <directory>",
         importModelOptions,
         cmdImportModel},
        {"compute", "Compute TracIn factors and self-influence (resumable).", "<project>",
         computeOptions,
         cmdCompute},
        {"self-influence", "Rank examples by self-influence, highest first.", "<project>",
         selfInfluenceOptions,
         cmdSelfInfluence},
        {"query",
         "Proponents, opponents and embedding neighbours of examples or of an image file. Examples are named by id, "
         "by path relative to the dataset root, or by absolute path under it.",
         "<project>",
         queryOptions,
         cmdQuery},
        {"relabel",
         "Change an example's label (kept in the label history). The example is an id, its path relative to the "
         "dataset root, or an absolute path under it.",
         "<project> <example> <label>", noOptions, cmdRelabel},
        {"export", "Export corrected labels (CSV), the change log and/or an ImageFolder tree.", "<project>",
         exportOptions,
         cmdExport},
        {"info", "What a project holds.", "<project>", noOptions, cmdInfo},
        {"index", "Build (if missing or stale) the approximate TracIn and embedding indexes.", "<project>",
         indexOptions,
         cmdIndex},
        {"clusters", "Cluster each class's training examples by TracIn (or embedding) similarity.", "<project>",
         clustersOptions,
         cmdClusters},
        {"synth", "Write a synthetic project with planted clusters (for benchmarks and tests).", "<project>",
         synthOptions,
         cmdSynth},
        {"rank", "Review-queue ranking of the training examples (default: the project's measured best).", "<project>",
         rankOptions,
         cmdRank},
        {"crossvalidate",
         "K-fold cross-validation of the active model's built-in network: every training example scored by a fold "
         "model that never saw it (resumable), then the examples ranked by that score.",
         "<project>",
         crossValidateOptions,
         cmdCrossValidate},
        {"retrain", "Retrain on the current labels (your corrections) and compare test accuracy.", "<project>",
         retrainOptions,
         cmdRetrain},
        {"evaluate", "Measure mislabel detection: inject label noise, train, rank, retrain after review.", "",
         evaluateOptions,
         cmdEvaluate},
        {"demo", "Import Fashion-MNIST, train, compute and show what TracIn finds.", "",
         demoOptions,
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
