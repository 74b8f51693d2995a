// The command line of issue #4: `synth` writes a project, `index` builds (then loads) the
// index with either backend and answers a query like exact search, `query` goes through a
// saved index from kExactSearchBelow training examples, `clusters` prints the planted
// clusters; bad options are usage errors.

#include "clirun.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

namespace {

using Run = traclens::testing::CliRun;

Run cli(const QStringList &args) { return traclens::testing::runCli(args, 120000); }

QJsonObject json(const Run &r) { return r.json(); }

} // namespace

class TestIndexCli : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void indexBuildsThenLoads_data();
    void indexBuildsThenLoads();
    void queryUsesSavedIndexAboveThreshold();
    void clustersPrintPlantedStructure_data();
    void clustersPrintPlantedStructure();
    void badOptionsAreUsageErrors_data();
    void badOptionsAreUsageErrors();

private:
    QTemporaryDir m_dir;
    QString m_project;
};

void TestIndexCli::initTestCase()
{
    m_project = m_dir.filePath("s.traclens");
    const Run r = cli({"synth", m_project, "--train", "2000", "--test", "20", "--classes", "4", "--dim", "16",
                       "--clusters-per-class", "3", "--seed", "5", "--json", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QCOMPARE(json(r).value("examples").toInt(), 2020);
    QCOMPARE(json(r).value("factor_rows").toInt(), 2020 * 3);
}

void TestIndexCli::indexBuildsThenLoads_data()
{
    QTest::addColumn<QStringList>("options");
    QTest::addColumn<QString>("backend");
    QTest::newRow("cells (default)") << QStringList{"--candidates", "1000"} << "cells";
    QTest::newRow("hnsw") << QStringList{"--backend", "hnsw", "--ef", "1000"} << "hnsw";
}

void TestIndexCli::indexBuildsThenLoads()
{
    QFETCH(QStringList, options);
    QFETCH(QString, backend);
    const QStringList common = QStringList{"index", m_project, "--query", "5", "--json", "--quiet"} + options;
    const Run first = cli(common);
    QVERIFY2(first.exitCode == 0, first.err.constData());
    QVERIFY(json(first).value("built").toBool());
    QCOMPARE(json(first).value("backend").toString(), backend);
    QVERIFY(!json(first).value("queries_use_index").toBool()); // 2 000 rows: exact by default
    const Run second = cli(common);
    QVERIFY(second.exitCode == 0);
    QVERIFY(!json(second).value("built").toBool());
    const Run exact = cli(common + QStringList{"--exact"});
    QVERIFY(exact.exitCode == 0);
    for (const char *list : {"proponents", "opponents", "nearest", "farthest"}) {
        const QJsonArray a = json(second).value("result").toObject().value(list).toArray();
        const QJsonArray b = json(exact).value("result").toObject().value(list).toArray();
        QCOMPARE(a.size(), 10);
        for (int i = 0; i < a.size(); ++i)
            QCOMPARE(a[i].toObject().value("id").toInteger(), b[i].toObject().value("id").toInteger());
    }
}

// 66 000 training examples (just above kExactSearchBelow = 65 000): `query` is exact until
// an index is saved, then answers through it with the exact lists' members.
void TestIndexCli::queryUsesSavedIndexAboveThreshold()
{
    const QString project = m_dir.filePath("large.traclens");
    const Run synth = cli({"synth", project, "--train", "66000", "--test", "10", "--classes", "4", "--dim", "8",
                           "--clusters-per-class", "2", "--seed", "3", "--quiet"});
    QVERIFY2(synth.exitCode == 0, synth.err.constData());
    const QStringList query{"query", project, "--example", "66004", "--k", "10", "--json"};
    const Run before = cli(query);
    QVERIFY2(before.exitCode == 0, before.err.constData());
    QCOMPARE(json(before).value("search").toString(), QString("exact"));
    const Run index = cli({"index", project, "--quiet"});
    QVERIFY2(index.exitCode == 0, index.err.constData());
    const Run after = cli(query);
    QVERIFY2(after.exitCode == 0, after.err.constData());
    QCOMPARE(json(after).value("search").toString(), QString("index"));
    for (const char *list : {"proponents", "opponents", "nearest", "farthest"}) {
        const QJsonArray exact = json(before).value(list).toArray();
        const QJsonArray found = json(after).value(list).toArray();
        QCOMPARE(found.size(), 10);
        QSet<qint64> exactIds;
        for (const auto &v : exact)
            exactIds.insert(v.toObject().value("id").toInteger());
        int shared = 0;
        for (const auto &v : found)
            shared += exactIds.contains(v.toObject().value("id").toInteger());
        QVERIFY2(shared >= 9, list); // recall@10 ≥ 0.9 on one query; bench_index measures it at scale
    }

    // A damaged index file: `query` says which file and answers exactly, `index` rebuilds.
    const QString cells = project + ".d/index/model-1/tracin.cells";
    QVERIFY(QFile::resize(cells, 1000));
    const Run damaged = cli(query);
    QVERIFY2(damaged.exitCode == 0, damaged.err.constData());
    QCOMPARE(json(damaged).value("search").toString(), QString("exact"));
    QVERIFY2(damaged.err.contains("tracin.cells") && damaged.err.contains("wrong size"), damaged.err.constData());
    QVERIFY(json(damaged).value("index_problem").toString().contains("tracin.cells"));
    QCOMPARE(json(damaged).value("proponents").toArray(), json(before).value("proponents").toArray());
    const Run rebuilt = cli({"index", project, "--json", "--quiet"});
    QVERIFY2(rebuilt.exitCode == 0, rebuilt.err.constData());
    QVERIFY(json(rebuilt).value("built").toBool());
    QVERIFY(json(rebuilt).value("rebuilt_because").toString().contains("tracin.cells"));
    QCOMPARE(json(cli(query)).value("search").toString(), QString("index"));
}

void TestIndexCli::clustersPrintPlantedStructure_data()
{
    QTest::addColumn<QString>("space");
    QTest::newRow("tracin") << "tracin";
    QTest::newRow("embedding") << "embedding";
}

void TestIndexCli::clustersPrintPlantedStructure()
{
    QFETCH(QString, space);
    const Run r = cli({"clusters", m_project, "--space", space, "--class", "class1", "--json", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonArray classes = json(r).value("classes").toArray();
    QCOMPARE(classes.size(), 1);
    const QJsonObject set = classes[0].toObject();
    QCOMPARE(set.value("class").toString(), QString("class1"));
    QCOMPARE(set.value("k").toInt(), 3);
    for (const auto &c : set.value("clusters").toArray())
        QCOMPARE(c.toObject().value("medoids").toArray().size(), 8);
    const Run text = cli({"clusters", m_project, "--space", space, "--k", "2", "--class", "1", "--quiet"});
    QVERIFY(text.exitCode == 0);
    QVERIFY2(text.out.contains("k=2 (given)"), text.out.constData());
}

void TestIndexCli::badOptionsAreUsageErrors_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::newRow("unknown space") << QStringList{"clusters", "P", "--space", "pixels"};
    QTest::newRow("k of one") << QStringList{"clusters", "P", "--k", "1"};
    QTest::newRow("bad projection") << QStringList{"index", "P", "--projection", "fourier"};
    QTest::newRow("bad backend") << QStringList{"index", "P", "--backend", "faiss"};
    QTest::newRow("negative dim") << QStringList{"index", "P", "--dim", "-3"};
}

void TestIndexCli::badOptionsAreUsageErrors()
{
    QFETCH(QStringList, args);
    args.replaceInStrings("P", m_project);
    const Run r = cli(args);
    QCOMPARE(r.exitCode, 2);
}

QTEST_GUILESS_MAIN(TestIndexCli)
#include "test_indexcli.moc"
