// traclens-cli end to end on a generated image folder: import (with bad files),
// re-import, train, compute, self-influence, query, relabel, export, info; and the
// errors a script meets, with their exit codes and messages.

#include "clirun.h"
#include "model/trainer.h"
#include "syntheticimages.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <sqlite3.h>

namespace {

using Run = traclens::testing::CliRun;

Run cli(const QStringList &args) { return traclens::testing::runCli(args); }

} // namespace

class TestCli : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void importRecordsSkippedFiles();
    void reimportChangesOnlyWhatChanged();
    void trainComputeQuery();
    void selfInfluenceRanksFlippedLabelsHigh();
    void relabelAndExport();
    void adaptiveTraining_data();
    void adaptiveTraining();
    void errors_data();
    void errors();

private:
    QTemporaryDir m_dir;
    QString m_data, m_project;
    std::vector<std::string> m_flipped;
};

void TestCli::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_data = m_dir.filePath("data");
    m_project = m_dir.filePath("p.traclens");
    traclens::testing::SyntheticSpec spec;
    spec.trainPerClass = 60;
    spec.testPerClass = 8;
    spec.flipEvery = 15; // 12 of 180 training images in the wrong folder
    m_flipped = traclens::testing::writeSyntheticImageFolder(m_data.toStdString(), spec);
    QCOMPARE(m_flipped.size(), size_t(12));
    QFile zero(m_data + "/train/stripes-0/zero.png");
    QVERIFY(zero.open(QIODevice::WriteOnly));
    zero.close();
    QFile text(m_data + "/train/stripes-60/notes.png");
    QVERIFY(text.open(QIODevice::WriteOnly));
    text.write("this is not an image\n");
    text.close();
}

void TestCli::importRecordsSkippedFiles()
{
    const Run r = cli({"import", m_project, m_data, "--json", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject o = r.json();
    QCOMPARE(o.value("train").toInt(), 180);
    QCOMPARE(o.value("test").toInt(), 24);
    QCOMPARE(o.value("added").toInt(), 204);
    QCOMPARE(o.value("classes").toArray().size(), 3);
    QStringList skipped;
    for (const auto &v : o.value("skipped").toArray())
        skipped << v.toObject().value("path").toString() + ": " + v.toObject().value("reason").toString();
    QCOMPARE(skipped.size(), 2);
    QVERIFY2(skipped.join("\n").contains("zero.png") && skipped.join("\n").contains("notes.png"),
             qPrintable(skipped.join("\n")));
}

void TestCli::reimportChangesOnlyWhatChanged()
{
    QVERIFY(QFile::remove(m_data + "/test/stripes-60/190.png"));
    const Run r = cli({"import", m_project, m_data, "--json", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject o = r.json();
    QCOMPARE(o.value("added").toInt(), 0);
    QCOMPARE(o.value("updated").toInt(), 0);
    QCOMPARE(o.value("removed").toInt(), 1);
    QCOMPARE(o.value("unchanged").toInt(), 203);
}

void TestCli::trainComputeQuery()
{
    // The step schedule (a constant rate over three epochs): the annealed default gives the
    // last checkpoints little weight in the η-weighted TracIn sum, and three epochs of this
    // tiny model need the late ones for self-influence to single out the flips
    // (docs/adaptive-training.md, "The scored run anneals").
    Run r = cli({"train", m_project, "--epochs", "3", "--width", "4", "--embedding-dim", "8", "--batch", "16",
                 "--lr", "0.1", "--lr-schedule", "step", "--json", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QCOMPARE(r.json().value("checkpoints").toInt(), 3);
    QCOMPARE(r.json().value("epochs").toArray().size(), 3);

    r = cli({"compute", m_project, "--json", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QCOMPARE(r.json().value("computed").toInt(), 203 * 3);
    r = cli({"compute", m_project, "--json", "--quiet"});
    QCOMPARE(r.json().value("computed").toInt(), 0); // cached
    QCOMPARE(r.json().value("reused").toInt(), 203 * 3);

    r = cli({"query", m_project, "--example", "test/stripes-0/186.png", "--k", "4", "--json"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QJsonObject o = r.json();
    for (const char *list : {"proponents", "opponents", "nearest", "farthest"})
        QCOMPARE(o.value(list).toArray().size(), 4);
    const QJsonArray pro = o.value("proponents").toArray();
    for (int i = 1; i < pro.size(); ++i)
        QVERIFY(pro[i - 1].toObject().value("score").toDouble() >= pro[i].toObject().value("score").toDouble());
    QVERIFY(!o.value("label_is_prediction").toBool());

    // An image from outside the project, without a label: its prediction is used and said.
    const QString outside = m_data + "/test/stripes-120/200.png";
    r = cli({"query", m_project, "--image", outside, "--k", "3", "--normalised", "--json"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    o = r.json();
    QVERIFY(o.value("label_is_prediction").toBool());
    QCOMPARE(o.value("scoring").toString(), QString("normalised"));
    for (const auto &v : o.value("proponents").toArray())
        QVERIFY(std::abs(v.toObject().value("score").toDouble()) <= 1.0 + 1e-5); // a cosine
}

void TestCli::selfInfluenceRanksFlippedLabelsHigh()
{
    const Run r = cli({"self-influence", m_project, "--top", "0", "--json"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonArray ranking = r.json().value("ranking").toArray();
    QCOMPARE(ranking.size(), 180);
    int found = 0;
    for (int i = 0; i < 36; ++i) { // the top 20%
        const std::string path = ranking[i].toObject().value("path").toString().toStdString();
        found += std::count(m_flipped.begin(), m_flipped.end(), path) > 0;
    }
    // 12 flipped of 180: random ranking would put ~2.4 in the top 36.
    QVERIFY2(found >= 8, qPrintable(QString("only %1 of 12 flipped labels in the top 20%").arg(found)));
}

void TestCli::relabelAndExport()
{
    Run r = cli({"relabel", m_project, "train/stripes-0/1.png", "stripes-120", "--json"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QCOMPARE(r.json().value("old_label").toString(), QString("stripes-0"));
    QCOMPARE(r.json().value("new_label").toString(), QString("stripes-120"));
    const QString csv = m_dir.filePath("labels.csv"), log = m_dir.filePath("changes.csv");
    const QString tree = m_dir.filePath("tree");
    r = cli({"export", m_project, "--csv", csv, "--log", log, "--tree", tree, "--json", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QCOMPARE(r.json().value("changed").toInt(), 1);
    QFile f(csv);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QStringList lines = QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 204);
    QCOMPARE(lines[0], QString("id,path,label,original_label,changed"));
    // The id column is the example id the app shows (#id).
    QCOMPARE(lines.filter(QRegularExpression("^\\d+,train/stripes-0/1\\.png,stripes-120,stripes-0,1$")).size(), 1);
    QCOMPARE(lines.filter(QRegularExpression("^\\d+,train/stripes-0/2\\.png,stripes-0,stripes-0,0$")).size(), 1);
    QFile l(log);
    QVERIFY(l.open(QIODevice::ReadOnly));
    const QStringList changes = QString::fromUtf8(l.readAll()).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(changes.size(), 2);
    QVERIFY(changes[1].endsWith(",train/stripes-0/1.png,stripes-0,stripes-120,cli"));
    QVERIFY(QFile::exists(tree + "/train/stripes-120/1.png"));
    QVERIFY(!QFile::exists(tree + "/train/stripes-0/1.png"));
    // An existing CSV is not overwritten without --overwrite.
    r = cli({"export", m_project, "--csv", csv});
    QCOMPARE(r.exitCode, 1);
    QVERIFY(r.err.contains("already exists"));
    // Nor is a file of the tree; the refusal names it and nothing is written.
    QFile edited(tree + "/train/stripes-120/1.png");
    QVERIFY(edited.open(QIODevice::WriteOnly | QIODevice::Truncate));
    edited.write("edited");
    edited.close();
    r = cli({"export", m_project, "--tree", tree, "--quiet"});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("already exists") && r.err.contains(tree.toUtf8() + "/"), r.err.constData());
    QVERIFY(edited.open(QIODevice::ReadOnly));
    QCOMPARE(edited.readAll(), QByteArray("edited"));
    edited.close();
    r = cli({"export", m_project, "--tree", tree, "--overwrite", "--quiet"});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY(edited.open(QIODevice::ReadOnly));
    QVERIFY(edited.readAll() != QByteArray("edited"));
}

// `train` without --epochs trains adaptively with the automatic epoch limit; a limit given
// is kept. On a copy of the project, so the other tests keep their model.
void TestCli::adaptiveTraining_data()
{
    QTest::addColumn<QStringList>("options");
    QTest::addColumn<int>("maxEpochs"); // 0: the automatic limit for this split
    QTest::newRow("defaults") << QStringList{} << 0;
    QTest::newRow("--max-epochs 5") << QStringList{"--max-epochs", "5"} << 5;
}

void TestCli::adaptiveTraining()
{
    QFETCH(QStringList, options);
    QFETCH(int, maxEpochs);
    const QString project = m_dir.filePath(QString("adaptive-%1.traclens").arg(maxEpochs));
    QVERIFY(QFile::copy(m_project, project));
    Run r = cli(QStringList{"train", project, "--width", "4", "--embedding-dim", "8", "--batch", "16", "--time-budget",
                            "0", "--json", "--quiet"}
                + options);
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject t = r.json().value("training").toObject();
    QCOMPARE(t.value("mode").toString(), QStringLiteral("adaptive"));
    const int64_t trainCount = t.value("train_count").toInteger();
    QCOMPARE(trainCount, int64_t(180));
    using namespace traclens;
    const AdaptiveTraining defaults;
    const int64_t held = adaptiveValidationCount(trainCount, defaults);
    QCOMPARE(t.value("validation_count").toInteger(), held);
    // 36 held out (a fifth of 180 is below 100): a small part, so the automatic limit is
    // ⌈20·√(1000/36)⌉ = 106 and the patience ⌈4·√(1000/36)⌉ = 22.
    const int expectedMax = maxEpochs > 0 ? maxEpochs : adaptiveMaxEpochs(held, defaults);
    QCOMPARE(expectedMax, maxEpochs > 0 ? 5 : 106);
    QCOMPARE(adaptivePatience(held, defaults), 22);
    QCOMPARE(t.value("max_epochs").toInt(), expectedMax);
    QCOMPARE(t.value("patience").toInt(), adaptivePatience(held, defaults));
    QCOMPARE(t.value("smoothing").toInt(), defaults.smoothing);
    const int validationEpochs = int(t.value("validation").toArray().size());
    QVERIFY(validationEpochs >= 1 && validationEpochs <= expectedMax);
    if (t.value("stop").toString() == "max-epochs")
        QCOMPARE(validationEpochs, expectedMax);
}

void TestCli::errors_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("message");
    QTest::newRow("no command") << QStringList{} << 2 << "Usage";
    QTest::newRow("unknown command") << QStringList{"frobnicate"} << 2 << "unknown command 'frobnicate'";
    QTest::newRow("missing project") << QStringList{"info", "/nonexistent/x.traclens"} << 3
                                     << "/nonexistent/x.traclens: no such project file";
    QTest::newRow("missing dataset") << QStringList{"import", "@dir/new.traclens", "/nonexistent/data"} << 3
                                     << "/nonexistent/data";
    QTest::newRow("unknown label") << QStringList{"relabel", "@project", "1", "zebra"} << 1
                                   << "unknown label 'zebra'";
    QTest::newRow("unknown example") << QStringList{"query", "@project", "--example", "99999"} << 3 << "99999";
    QTest::newRow("bad option") << QStringList{"train", "@project", "--epochs", "0"} << 2 << "positive";
    QTest::newRow("bad epoch limit") << QStringList{"train", "@project", "--max-epochs", "0"} << 2 << "positive";
    QTest::newRow("unknown schedule") << QStringList{"train", "@project", "--lr-schedule", "linear"} << 2
                                      << "--lr-schedule must be cosine or step";
    QTest::newRow("unknown schedule, retrain")
        << QStringList{"retrain", "@project", "--lr-schedule", "linear"} << 2 << "--lr-schedule cosine or step";
    QTest::newRow("unknown views") << QStringList{"crossvalidate", "@project", "--cv-views", "rotated"} << 2
                                   << "--cv-views takes auto, plain or mirrored";
    QTest::newRow("text file as project") << QStringList{"info", "@dir/data/train/stripes-60/notes.png"} << 1
                                          << "not a TracLens project";
    QTest::newRow("newer schema") << QStringList{"info", "@newer"} << 1 << "newer TracLens";
}

void TestCli::errors()
{
    QFETCH(QStringList, args);
    QFETCH(int, exitCode);
    QFETCH(QString, message);
    const QString newer = m_dir.filePath("newer.traclens");
    if (!QFile::exists(newer)) {
        QVERIFY(QFile::copy(m_project, newer));
        sqlite3 *db = nullptr;
        QCOMPARE(sqlite3_open(newer.toUtf8().constData(), &db), SQLITE_OK);
        QCOMPARE(sqlite3_exec(db, "UPDATE meta SET value='42' WHERE key='schema_version'", nullptr, nullptr, nullptr),
                 SQLITE_OK);
        sqlite3_close(db);
    }
    for (QString &a : args) {
        a.replace("@project", m_project);
        a.replace("@newer", newer);
        a.replace("@dir", m_dir.path());
    }
    const Run r = cli(args);
    QCOMPARE(r.exitCode, exitCode);
    QVERIFY2(QString::fromUtf8(r.err).contains(message), r.err.constData());
}

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
