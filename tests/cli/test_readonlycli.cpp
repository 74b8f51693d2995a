// The read-only commands of traclens-cli (query, info, self-influence, rank, export) answer
// while another process has the project open for writing — the desktop app keeps its
// project open, and a script must be able to ask it questions meanwhile.
//
// The writer is this test process: a ReadWrite ProjectDb holds the project's writer lock
// (core/store/projectlock.h) and has written a row the readers must see. That the lock is really
// held is checked first: a writing command (relabel) must fail as busy.

#include "clirun.h"
#include "store/projectdb.h"
#include "testproject.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

using traclens::ProjectDb;
using traclens::testing::CliRun;
using traclens::testing::runCli;
using traclens::testing::TestProject;

class TestReadOnlyCli : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void writingCommandIsBusy();
    void answersBesideWriter_data();
    void answersBesideWriter();
    void cleanupTestCase();

private:
    QTemporaryDir m_dir;
    QString m_project;
    std::unique_ptr<TestProject> m_fixture;
    std::unique_ptr<ProjectDb> m_writer;
    qint64 m_relabelled = 0;
};

void TestReadOnlyCli::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_fixture = std::make_unique<TestProject>(m_dir.path().toStdString());
    const traclens::Status built = m_fixture->build(TestProject::Stage::Computed);
    QVERIFY2(built.isOk(), built.message().c_str());
    m_project = QString::fromStdString(m_fixture->projectPath());

    auto writer = ProjectDb::open(m_fixture->projectPath(), ProjectDb::OpenMode::ReadWrite);
    QVERIFY2(writer.ok(), writer.status().message().c_str());
    m_writer = std::move(writer).value();
    // A change made by the writer, which the readers' answers must include.
    auto examples = m_writer->examples();
    QVERIFY(examples.ok() && !examples->empty());
    for (const auto &e : *examples)
        if (e.split == traclens::Split::Train) {
            auto change = m_writer->relabel(e.id, (e.currentLabel + 1) % 3);
            QVERIFY2(change.ok(), change.status().message().c_str());
            m_relabelled = e.id;
            break;
        }
    QVERIFY(m_relabelled > 0);
}

void TestReadOnlyCli::writingCommandIsBusy()
{
    const CliRun r = runCli({"relabel", m_project, QString::number(m_relabelled), "stripes-0"});
    QVERIFY2(r.exitCode != 0, r.out.constData());
    QVERIFY2(r.err.contains("open in another"), r.err.constData());
}

void TestReadOnlyCli::answersBesideWriter_data()
{
    QTest::addColumn<QStringList>("args");
    // A key of the --json answer that shows the command did its work.
    QTest::addColumn<QString>("key");
    QTest::newRow("query") << QStringList{"query", "--example", "1", "--k", "3"} << "proponents";
    QTest::newRow("query-image") << QStringList{"query", "--image", "data/test/stripes-0/61.png", "--k", "3"}
                                 << "nearest";
    QTest::newRow("info") << QStringList{"info"} << "label_changes";
    QTest::newRow("self-influence") << QStringList{"self-influence", "--top", "5"} << "ranking";
    QTest::newRow("rank") << QStringList{"rank", "--top", "5"} << "examples";
    QTest::newRow("export") << QStringList{"export", "--csv", "labels.csv", "--log", "changes.csv"} << "changed";
}

void TestReadOnlyCli::answersBesideWriter()
{
    QFETCH(QStringList, args);
    QFETCH(QString, key);
    // Relative file arguments live in the test's directory.
    for (QString &a : args)
        if (a.contains('/') || a.endsWith(".csv"))
            a = m_dir.filePath(a);
    args.insert(1, m_project);
    args << "--json" << "--quiet";
    const QByteArray before = [&] {
        QFile f(m_project);
        return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    }();

    const CliRun r = runCli(args);
    QVERIFY2(r.exitCode == 0, (args.join(' ') + ": " + r.err).toUtf8().constData());
    const QJsonObject o = r.json();
    QVERIFY2(o.contains(key), r.out.constData());
    const QJsonValue v = o.value(key);
    if (v.isArray())
        QVERIFY2(!v.toArray().isEmpty(), r.out.constData());

    const QString command = args.first();
    if (command == "query") {
        for (const char *list : {"proponents", "opponents", "nearest", "farthest"})
            QCOMPARE(o.value(list).toArray().size(), 3);
    } else if (command == "info") {
        QCOMPARE(o.value("label_changes").toInt(), 1); // the writer's change, seen by the reader
        QCOMPARE(o.value("train").toInt(), 60);
    } else if (command == "self-influence" || command == "rank") {
        QCOMPARE(o.value(key).toArray().size(), 5);
    } else if (command == "export") {
        QCOMPARE(o.value("changed").toInt(), 1);
        QFile log(m_dir.filePath("changes.csv"));
        QVERIFY(log.open(QIODevice::ReadOnly));
        QCOMPARE(log.readAll().count('\n'), 2); // header + the writer's one change
    }
    // A reader leaves the project file as it found it.
    QFile f(m_project);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QVERIFY(f.readAll() == before);
}

void TestReadOnlyCli::cleanupTestCase()
{
    m_writer.reset();
}

QTEST_GUILESS_MAIN(TestReadOnlyCli)
#include "test_readonlycli.moc"
