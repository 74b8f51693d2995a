// traclens-cli's help and option handling, the same for every command: the usage line
// names the command whole; every option that takes a value shows its default (or is one
// that has none by nature); every option README.md writes beside a command exists in that
// command's help; and a single-valued option given twice is refused, naming it.

#include "clirun.h"

#include <QFile>
#include <QRegularExpression>
#include <QSet>
#include <QtTest>

namespace {

using Run = traclens::testing::CliRun;

Run cli(const QStringList &args) { return traclens::testing::runCli(args, 60000); }

// The command names listed by `traclens-cli --help` (asked once: each run loads LibTorch).
QStringList commandNames()
{
    static QStringList cached;
    if (!cached.isEmpty())
        return cached;
    const Run r = cli({"--help"});
    QStringList names;
    bool inList = false;
    for (const QString &line : QString::fromUtf8(r.out).split('\n')) {
        if (line.startsWith("Commands:")) {
            inList = true;
            continue;
        }
        if (inList && line.trimmed().isEmpty())
            break;
        if (inList)
            names << line.trimmed().section(' ', 0, 0);
    }
    cached = names;
    return names;
}

// `traclens-cli <command> --help`, run once per command.
Run helpOf(const QString &command)
{
    static QHash<QString, Run> cached;
    if (!cached.contains(command))
        cached.insert(command, cli({command, "--help"}));
    return cached.value(command);
}

struct HelpOption {
    QString name;  // without dashes
    QString value; // "<n>", or empty for a flag
    QString text;  // the description, continuation lines joined
};

// The options of a command's --help, as printed.
QList<HelpOption> helpOptions(const QString &help)
{
    QList<HelpOption> out;
    static const QRegularExpression optionLine("^ {1,2}(?:-h, )?--?([A-Za-z][A-Za-z0-9-]*)( <[^>]+>)?\\s+(.*)$");
    bool inOptions = false;
    for (const QString &line : help.split('\n')) {
        if (line.startsWith("Options:")) {
            inOptions = true;
            continue;
        }
        if (!inOptions || line.trimmed().isEmpty())
            continue;
        const auto m = optionLine.match(line);
        if (m.hasMatch())
            out.push_back({m.captured(1), m.captured(2).trimmed(), m.captured(3)});
        else if (!out.isEmpty())
            out.back().text += ' ' + line.trimmed();
    }
    return out;
}

// Options that take a value but have no default by nature: what to query or write.
const QSet<QString> kNoDefault{"example", "examples-from", "split", "image", "csv", "log", "tree", "out", "query"};

} // namespace

class TestCliHelp : public QObject {
    Q_OBJECT
private slots:
    void everyCommandIsListed();
    void helpOfEveryCommand_data();
    void helpOfEveryCommand();
    void statedDefaults_data();
    void statedDefaults();
    void readmeOptionsExist_data();
    void readmeOptionsExist();
    void repeatedOptionRefused_data();
    void repeatedOptionRefused();
    void repeatableOptionAccepted();
};

void TestCliHelp::everyCommandIsListed()
{
    const QStringList names = commandNames();
    for (const char *expected : {"import", "train", "import-model", "compute", "self-influence", "query", "relabel",
                                 "export", "info", "index", "clusters", "rank", "crossvalidate", "retrain", "evaluate",
                                 "demo"})
        QVERIFY2(names.contains(expected), qPrintable(names.join(' ')));
}

void TestCliHelp::helpOfEveryCommand_data()
{
    QTest::addColumn<QString>("command");
    for (const QString &name : commandNames())
        QTest::newRow(qPrintable(name)) << name;
}

void TestCliHelp::helpOfEveryCommand()
{
    QFETCH(QString, command);
    const Run r = helpOf(command);
    QCOMPARE(r.exitCode, 0);
    const QString help = QString::fromUtf8(r.out);
    const QString usage = help.section('\n', 0, 0);
    // The usage line names the command whole, right after the program, before its options.
    QVERIFY2(usage.startsWith("Usage: traclens-cli " + command + " [options]"), qPrintable(usage));
    QVERIFY2(!usage.contains('/'), qPrintable(usage)); // not the program's path
    const QList<HelpOption> options = helpOptions(help);
    QVERIFY2(options.size() >= 4, qPrintable(help)); // at least help, json, quiet, progress-lines
    for (const HelpOption &o : options) {
        if (o.value.isEmpty() || kNoDefault.contains(o.name))
            continue;
        QVERIFY2(o.text.contains("Default: ") || o.text.contains("Repeatable"),
                 qPrintable(QString("%1 --%2 does not show its default: %3").arg(command, o.name, o.text)));
    }
    // One-letter options are shown as README writes them (--k), not as "-k".
    QVERIFY2(!QRegularExpression("\\n  -[A-Za-z] <").match(help).hasMatch(), qPrintable(help));
}

void TestCliHelp::statedDefaults_data()
{
    QTest::addColumn<QString>("command");
    QTest::addColumn<QString>("option");
    QTest::addColumn<QString>("expected");
    QTest::newRow("self-influence --top") << "self-influence" << "top" << "(0 = all). Default: 20.";
    QTest::newRow("self-influence --split") << "self-influence" << "split" << "Default: train.";
    QTest::newRow("self-influence --model") << "self-influence" << "model" << "Default: the active model.";
    QTest::newRow("query --k") << "query" << "k" << "Default: 10.";
    QTest::newRow("query --label") << "query" << "label" << "Default: its predicted class.";
    QTest::newRow("query --example") << "query" << "example" << "Repeatable";
    QTest::newRow("query --precision") << "query" << "precision" << "Default: f32.";
    QTest::newRow("compute --chunk") << "compute" << "chunk" << "Default: 2048.";
    QTest::newRow("index --dim") << "index" << "dim" << "Default: 128 for cells, 64 for hnsw.";
    QTest::newRow("rank --ranking") << "rank" << "ranking" << "Default: the project's measured default (Report ▸ Calibrate), else with cross-validation ensemble, or cv-boundary where it estimated 18% or more of the labels wrong, else loss";
    QTest::newRow("retrain --epochs") << "retrain" << "epochs" << "Default: as the model was trained.";
    QTest::newRow("evaluate --epochs") << "evaluate" << "epochs" << "Default: 3.";
    QTest::newRow("clusters --class") << "clusters" << "class" << "Default: every class.";
}

void TestCliHelp::statedDefaults()
{
    QFETCH(QString, command);
    QFETCH(QString, option);
    QFETCH(QString, expected);
    const Run r = helpOf(command);
    QCOMPARE(r.exitCode, 0);
    for (const HelpOption &o : helpOptions(QString::fromUtf8(r.out)))
        if (o.name == option) {
            QVERIFY2(o.text.contains(expected), qPrintable(o.text));
            return;
        }
    QFAIL(qPrintable("no --" + option + " in " + command + " --help"));
}

void TestCliHelp::readmeOptionsExist_data()
{
    QTest::addColumn<QString>("command");
    QTest::addColumn<QString>("option");
    QFile readme(QStringLiteral(TRACLENS_SOURCE_DIR "/README.md"));
    QVERIFY(readme.open(QIODevice::ReadOnly));
    const QStringList commands = commandNames();
    static const QRegularExpression invocation("traclens-cli ([a-z-]+)");
    static const QRegularExpression option("(?<![A-Za-z0-9-])--([a-z][a-z0-9-]*)");
    QSet<QString> seen;
    for (const QString &line : QString::fromUtf8(readme.readAll()).split('\n')) {
        const auto m = invocation.match(line);
        if (!m.hasMatch() || !commands.contains(m.captured(1)))
            continue;
        auto it = option.globalMatch(line);
        while (it.hasNext()) {
            const QString name = it.next().captured(1);
            const QString key = m.captured(1) + " --" + name;
            if (!seen.contains(key) && name != "help") {
                seen.insert(key);
                QTest::newRow(qPrintable(key)) << m.captured(1) << name;
            }
        }
    }
    QVERIFY(seen.size() >= 10);
}

void TestCliHelp::readmeOptionsExist()
{
    QFETCH(QString, command);
    QFETCH(QString, option);
    const Run r = helpOf(command);
    QCOMPARE(r.exitCode, 0);
    QStringList names;
    for (const HelpOption &o : helpOptions(QString::fromUtf8(r.out)))
        names << o.name;
    QVERIFY2(names.contains(option),
             qPrintable(QString("README.md writes %1 --%2; its options are %3").arg(command, option, names.join(' '))));
}

void TestCliHelp::repeatedOptionRefused_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    const QString p = "/nonexistent/p.traclens";
    QTest::newRow("self-influence --top") << QStringList{"self-influence", p, "--top", "5", "--top", "0"}
                                          << "--top given twice";
    QTest::newRow("query --k") << QStringList{"query", p, "--example", "1", "--k", "3", "--k=4"} << "--k given twice";
    QTest::newRow("query --split three times")
        << QStringList{"query", p, "--split", "test", "--split", "train", "--split", "test"}
        << "--split given 3 times";
    QTest::newRow("train --epochs") << QStringList{"train", p, "--epochs", "1", "--epochs", "2"}
                                    << "--epochs given twice";
    QTest::newRow("compute --model") << QStringList{"compute", p, "--model", "1", "--model", "2"}
                                     << "--model given twice";
    QTest::newRow("export --csv") << QStringList{"export", p, "--csv", "a.csv", "--csv", "b.csv"}
                                  << "--csv given twice";
    QTest::newRow("index --backend") << QStringList{"index", p, "--backend", "cells", "--backend", "hnsw"}
                                     << "--backend given twice";
    QTest::newRow("rank --ranking") << QStringList{"rank", p, "--ranking", "loss", "--ranking", "margin"}
                                    << "--ranking given twice";
    QTest::newRow("evaluate --noise") << QStringList{"evaluate", "--noise", "0.1", "--noise", "0.2"}
                                      << "--noise given twice";
}

void TestCliHelp::repeatedOptionRefused()
{
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    const Run r = cli(args);
    QCOMPARE(r.exitCode, 2); // bad usage, before any work
    QVERIFY2(QString::fromUtf8(r.err).contains(message), r.err.constData());
    QVERIFY2(r.err.contains(args[0].toUtf8() + ":"), r.err.constData()); // names the command
}

void TestCliHelp::repeatableOptionAccepted()
{
    // --example is documented as repeatable: parsing passes, and the missing project is
    // what fails (not found), not the repetition.
    const Run r = cli({"query", "/nonexistent/p.traclens", "--example", "1", "--example", "2"});
    QCOMPARE(r.exitCode, 3);
    QVERIFY2(!r.err.contains("given twice"), r.err.constData());
}

QTEST_GUILESS_MAIN(TestCliHelp)
#include "test_clihelp.moc"
