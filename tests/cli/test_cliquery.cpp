// `traclens-cli query` for scripts: many examples in one process (--example repeated,
// --examples-from FILE or stdin, --split), one JSON line per query, errors that name the
// file and line, and whether a training example is left out of its own lists
// (--include-self keeps it).

#include "clirun.h"
#include "store/projectdb.h"
#include "testproject.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

namespace {

using Run = traclens::testing::CliRun;

Run cli(const QStringList &args, const QByteArray &input = {})
{
    QProcess p;
    p.start(QStringLiteral(TRACLENS_CLI), args);
    p.waitForStarted();
    p.write(input);
    p.closeWriteChannel();
    p.waitForFinished(120000);
    return {p.exitCode(), p.readAllStandardOutput(), p.readAllStandardError()};
}

// stdout as JSON lines, each an object; fails the parse when a line is not one.
QList<QJsonObject> jsonLines(const QByteArray &out, bool *ok)
{
    QList<QJsonObject> lines;
    *ok = true;
    for (const QByteArray &line : out.split('\n')) {
        if (line.isEmpty())
            continue;
        const QJsonDocument d = QJsonDocument::fromJson(line);
        *ok = *ok && d.isObject();
        lines << d.object();
    }
    return lines;
}

bool listsContain(const QJsonObject &o, qint64 id)
{
    for (const char *list : {"proponents", "opponents", "nearest", "farthest"})
        for (const auto &v : o.value(list).toArray())
            if (v.toObject().value("id").toInteger() == id)
                return true;
    return false;
}

} // namespace

class TestCliQuery : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void manyExamples_data();
    void manyExamples();
    void wholeSplit_data();
    void wholeSplit();
    void badInput_data();
    void badInput();
    void selfExclusion_data();
    void selfExclusion();

private:
    // Replaces @project, @root, @list, and @train0 / @test0 / @train1 (ids), @rel1 (path
    // of @train1), @abs2 (absolute path of the second test example).
    QString expand(QString text) const;

    QTemporaryDir m_dir;
    QString m_project, m_root;
    std::vector<traclens::ExampleRow> m_train, m_test;
};

void TestCliQuery::initTestCase()
{
    QVERIFY(m_dir.isValid());
    traclens::testing::TestProject project(m_dir.path().toStdString());
    const traclens::Status built = project.build();
    QVERIFY2(built.isOk(), built.message().c_str());
    m_project = QString::fromStdString(project.projectPath());
    m_root = QString::fromStdString(project.datasetPath());
    auto db = traclens::ProjectDb::open(project.projectPath(), traclens::ProjectDb::OpenMode::ReadOnly);
    QVERIFY(db.ok());
    auto train = db.value()->examples(traclens::Split::Train);
    auto test = db.value()->examples(traclens::Split::Test);
    QVERIFY(train.ok() && test.ok());
    m_train = *train;
    m_test = *test;
    QVERIFY(m_train.size() >= 3 && m_test.size() >= 3);
}

QString TestCliQuery::expand(QString text) const
{
    text.replace("@project", m_project);
    text.replace("@list", m_dir.filePath("list.txt"));
    text.replace("@root", m_root);
    text.replace("@train0", QString::number(m_train[0].id));
    text.replace("@train1", QString::number(m_train[1].id));
    text.replace("@test0", QString::number(m_test[0].id));
    text.replace("@rel1", QString::fromStdString(m_train[1].source));
    text.replace("@abs2", m_root + "/" + QString::fromStdString(m_test[2].source));
    return text;
}

void TestCliQuery::manyExamples_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("list");      // written to @list; "" for none
    QTest::addColumn<QString>("stdinText"); // fed to the process
    QTest::addColumn<QStringList>("expected"); // query ids, in order
    const QString listText = "# queries for the nightly check\n@train0\n\n   @rel1  \n# the last one\n@abs2\n";
    const QStringList three{"@train0", "@train1", "@test2"};
    QTest::newRow("--examples-from: comments, blank lines, spaces, three path forms")
        << QStringList{"--examples-from", "@list"} << listText << "" << three;
    QTest::newRow("--examples-from - reads stdin") << QStringList{"--examples-from", "-"} << "" << listText << three;
    QTest::newRow("--example repeated") << QStringList{"--example", "@train0", "--example", "@rel1"} << "" << ""
                                        << QStringList{"@train0", "@train1"};
    QTest::newRow("--example first, then the file's lines")
        << QStringList{"--example", "@test0", "--examples-from", "@list"} << listText << ""
        << QStringList{"@test0", "@train0", "@train1", "@test2"};
    QTest::newRow("a list of one still gives a JSON line")
        << QStringList{"--examples-from", "@list"} << "@test0\n" << "" << QStringList{"@test0"};
}

void TestCliQuery::manyExamples()
{
    QFETCH(QStringList, args);
    QFETCH(QString, list);
    QFETCH(QString, stdinText);
    QFETCH(QStringList, expected);
    if (!list.isEmpty()) {
        QFile f(m_dir.filePath("list.txt"));
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(expand(list).toUtf8());
    }
    QStringList full{"query", m_project, "--k", "3", "--json"};
    for (const QString &a : args)
        full << expand(a);
    const Run r = cli(full, expand(stdinText).toUtf8());
    QVERIFY2(r.exitCode == 0, r.err.constData());
    bool ok = false;
    const QList<QJsonObject> lines = jsonLines(r.out, &ok);
    QVERIFY2(ok, r.out.constData());
    QCOMPARE(lines.size(), expected.size());
    for (int i = 0; i < expected.size(); ++i) {
        QString want = expected[i];
        want.replace("@test2", QString::number(m_test[2].id));
        QCOMPARE(lines[i].value("query").toInteger(), expand(want).toLongLong());
        QCOMPARE(lines[i].value("proponents").toArray().size(), 3);
    }
}

void TestCliQuery::wholeSplit_data()
{
    QTest::addColumn<QString>("split");
    QTest::addColumn<bool>("json");
    QTest::newRow("test, JSON lines") << "test" << true;
    QTest::newRow("train, JSON lines") << "train" << true;
    QTest::newRow("test, text") << "test" << false;
}

void TestCliQuery::wholeSplit()
{
    QFETCH(QString, split);
    QFETCH(bool, json);
    const auto &rows = split == "test" ? m_test : m_train;
    QStringList args{"query", m_project, "--split", split, "--k", "2"};
    if (json)
        args << "--json";
    const Run r = cli(args);
    QVERIFY2(r.exitCode == 0, r.err.constData());
    if (!json) {
        // One block per query, each opened by its header line naming the example's path.
        const QStringList headers = QString::fromUtf8(r.out).split('\n').filter(QRegularExpression("^query "));
        QCOMPARE(headers.size(), int(rows.size()));
        QVERIFY2(headers.first().contains(QString::fromStdString(rows.front().source)), qPrintable(headers.first()));
        return;
    }
    bool ok = false;
    const QList<QJsonObject> lines = jsonLines(r.out, &ok);
    QVERIFY(ok);
    QCOMPARE(lines.size(), int(rows.size()));
    for (int i = 0; i < lines.size(); ++i) {
        QCOMPARE(lines[i].value("query").toInteger(), rows[size_t(i)].id);
        QCOMPARE(lines[i].value("split").toString(), split);
        QCOMPARE(lines[i].value("path").toString(), QString::fromStdString(rows[size_t(i)].source));
    }
}

void TestCliQuery::badInput_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("list");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QStringList>("messages");
    QTest::newRow("unknown path on line 3")
        << QStringList{"--examples-from", "@list"} << "@train0\n# fine so far\nno/such/image.png\n@train1\n" << 3
        << QStringList{"@list:3:", "no/such/image.png"};
    QTest::newRow("unknown id on line 2") << QStringList{"--examples-from", "@list"} << "@train0\n987654\n" << 3
                                          << QStringList{"@list:2:", "987654"};
    QTest::newRow("path outside the dataset root on line 1")
        << QStringList{"--examples-from", "@list"} << "/etc/passwd\n" << 1
        << QStringList{"@list:1:", "outside the dataset root @root"};
    QTest::newRow("a missing list file") << QStringList{"--examples-from", "@dir/none.txt"} << "" << 3
                                         << QStringList{"@dir/none.txt"};
    QTest::newRow("an empty list") << QStringList{"--examples-from", "@list"} << "# nothing\n\n" << 3
                                   << QStringList{"no examples to query"};
    QTest::newRow("--split takes train or test") << QStringList{"--split", "all"} << "" << 2
                                                 << QStringList{"--split takes train or test"};
    QTest::newRow("--image with --example") << QStringList{"--example", "@train0", "--image", "@root/x.png"} << ""
                                            << 2 << QStringList{"alone"};
}

void TestCliQuery::badInput()
{
    QFETCH(QStringList, args);
    QFETCH(QString, list);
    QFETCH(int, exitCode);
    QFETCH(QStringList, messages);
    if (!list.isEmpty()) {
        QFile f(m_dir.filePath("list.txt"));
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(expand(list).toUtf8());
    }
    QStringList full{"query", m_project, "--json"};
    for (const QString &a : args)
        full << expand(a).replace("@dir", m_dir.path());
    const Run r = cli(full);
    QCOMPARE(r.exitCode, exitCode);
    for (const QString &m : messages)
        QVERIFY2(QString::fromUtf8(r.err).contains(expand(m).replace("@dir", m_dir.path())), r.err.constData());
    QVERIFY2(r.out.isEmpty(), r.out.constData()); // nothing answered before the error
}

void TestCliQuery::selfExclusion_data()
{
    QTest::addColumn<QString>("example");
    QTest::addColumn<bool>("includeSelf");
    QTest::addColumn<bool>("excluded");
    QTest::addColumn<QString>("note"); // in the text answer's header
    QTest::newRow("training example: left out, and said") << "@train0" << false << true << "left out of its lists";
    QTest::newRow("training example, --include-self") << "@train0" << true << false << "may appear in its lists";
    QTest::newRow("test example: nothing to leave out") << "@test0" << false << false << "";
}

void TestCliQuery::selfExclusion()
{
    QFETCH(QString, example);
    QFETCH(bool, includeSelf);
    QFETCH(bool, excluded);
    QFETCH(QString, note);
    const qint64 id = expand(example).toLongLong();
    // Normalised scores and a k as large as the training split: the example, when in its
    // lists, is its own best proponent (cosine 1) and nearest neighbour.
    QStringList args{"query", m_project, "--example", expand(example), "--normalised", "--k",
                     QString::number(m_train.size())};
    if (includeSelf)
        args << "--include-self";
    Run r = cli(args + QStringList{"--json"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject o = r.json();
    QCOMPARE(o.value("self_excluded").toBool(), excluded);
    QCOMPARE(listsContain(o, id), includeSelf);
    if (includeSelf) {
        QCOMPARE(o.value("proponents").toArray().first().toObject().value("id").toInteger(), id);
        QCOMPARE(o.value("nearest").toArray().first().toObject().value("id").toInteger(), id);
        QVERIFY(std::abs(o.value("nearest").toArray().first().toObject().value("score").toDouble() - 1.0) < 1e-5);
    }
    r = cli(args);
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QString header = QString::fromUtf8(r.out).section('\n', 0, 0);
    if (note.isEmpty())
        QVERIFY2(!header.contains("its lists"), qPrintable(header));
    else
        QVERIFY2(header.contains(note), qPrintable(header));
}

QTEST_GUILESS_MAIN(TestCliQuery)
#include "test_cliquery.moc"
