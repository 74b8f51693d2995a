// Known label errors as the evaluation's truth (core/evaluation/evaluationtruth.h): the file format
// (ids or paths, optional correct label, comments), errors that name the file and line,
// matching to a project's training examples, exact recall / ROC AUC of a known ranking
// against a truth file, and `traclens-cli evaluate --noise 0 --truth FILE` end to end on
// a tiny generated dataset, with the machine named in its report.

#include "clirun.h"
#include "evaluation/evaluation.h"
#include "evaluation/evaluationtruth.h"
#include "syntheticimages.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QTemporaryDir>
#include <QtTest>

using namespace traclens;

namespace {

bool writeText(const QString &path, const QByteArray &text)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(text) == text.size();
}

// Training examples "train/<i>.png" (label i mod 3) and test examples "test/<i>.png";
// classes c0, c1, c2.
std::unique_ptr<ProjectDb> smallProject(const QString &path, int train, int test)
{
    auto db = ProjectDb::open(path.toStdString(), ProjectDb::OpenMode::Create);
    if (!db.ok())
        return nullptr;
    if (!(*db)->setDataset({SourceKind::ImageFolder, "/data", "/data", {"c0", "c1", "c2"}}).isOk())
        return nullptr;
    for (int i = 0; i < train + test; ++i) {
        ScannedExample ex;
        const bool isTrain = i < train;
        ex.source = std::string(isTrain ? "train/" : "test/") + std::to_string(isTrain ? i : i - train) + ".png";
        ex.split = isTrain ? Split::Train : Split::Test;
        ex.label = i % 3;
        if (!(*db)->upsertExample(ex, "h").ok())
            return nullptr;
    }
    return std::move(db).value();
}

} // namespace

class TestTruthFile : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void parse_data();
    void parse();
    void resolve_data();
    void resolve();
    void resolveInASubset();
    void recallAndAucByHand();
    void cliEvaluatesAgainstTheTruth();
    void correctLabelsDriveTheCleaningLoop();

private:
    QTemporaryDir m_dir;
    std::unique_ptr<ProjectDb> m_db;
    std::map<std::string, int64_t> m_idOf; // source → id
    QString m_data;                         // images, 15 of the 90 training images in the wrong folder
    std::vector<std::string> m_wrong;       // their paths
};

void TestTruthFile::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_db = smallProject(m_dir.filePath("small.traclens"), 10, 3);
    QVERIFY(m_db);
    auto all = m_db->examples();
    QVERIFY(all.ok());
    for (const auto &e : *all)
        m_idOf[e.source] = e.id;
    // A dataset with real mislabels: every 6th training image sits in the next class's folder.
    m_data = m_dir.filePath("data");
    testing::SyntheticSpec spec;
    spec.classes = 3;
    spec.trainPerClass = 30;
    spec.testPerClass = 5;
    spec.flipEvery = 6;
    m_wrong = testing::writeSyntheticImageFolder(m_data.toStdString(), spec);
}

void TestTruthFile::parse_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<int>("entries");
    QTest::addColumn<bool>("labelled");
    QTest::addColumn<QString>("error"); // "" = parses; else the message after the file name
    QTest::newRow("paths, comments, blank lines") << QByteArray("# known errors\n\ntrain/1.png\n  train/4.png  \n#x\n")
                                                  << 2 << false << "";
    QTest::newRow("labels after commas") << QByteArray("train/1.png,c2\ntrain/4.png, c0\n") << 2 << true << "";
    QTest::newRow("labels after tabs, CRLF") << QByteArray("train/1.png\tc2\r\n7\t0\r\n") << 2 << true << "";
    QTest::newRow("a tab keeps commas in paths") << QByteArray("train/a,b.png\tc1\n") << 1 << true << "";
    QTest::newRow("three fields") << QByteArray("train/1.png\ntrain/2.png,c1,c2\n") << 0 << false
                                  << ":2: expected '<example>' or '<example>,<correct label>', found 3 fields";
    QTest::newRow("empty label") << QByteArray("# h\ntrain/1.png,\n") << 0 << false
                                 << ":2: an empty correct label after the separator";
    QTest::newRow("no example") << QByteArray(",c1\n") << 0 << false << ":1: no example before the separator";
    QTest::newRow("labels on some lines only") << QByteArray("train/1.png,c1\n\ntrain/2.png\n") << 0 << false
                                               << ":3: gives no correct label, but line 1 does; give one on every "
                                                  "line or on none";
    QTest::newRow("nothing listed") << QByteArray("# only a comment\n\n") << 0 << false
                                    << ": lists no examples (one known-wrong example per line)";
}

void TestTruthFile::parse()
{
    QFETCH(QByteArray, text);
    QFETCH(int, entries);
    QFETCH(bool, labelled);
    QFETCH(QString, error);
    const QString path = m_dir.filePath("parse.txt");
    QVERIFY(writeText(path, text));
    auto parsed = readTruthFile(path.toStdString());
    if (!error.isEmpty()) {
        QVERIFY(!parsed.ok());
        QCOMPARE(QString::fromStdString(parsed.status().message()), path + error);
        return;
    }
    QVERIFY2(parsed.ok(), parsed.status().message().c_str());
    QCOMPARE(int(parsed->size()), entries);
    for (const auto &e : *parsed) {
        QCOMPARE(!e.correctLabel.empty(), labelled);
        QVERIFY(e.line > 0);
        QVERIFY(!e.example.empty() && !std::isspace(static_cast<unsigned char>(e.example.front()))
                && !std::isspace(static_cast<unsigned char>(e.example.back())));
    }
}

void TestTruthFile::resolve_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QString>("error"); // "" = resolves
    QTest::addColumn<QString>("expected"); // "id:correct,…" in id order, sources given as train/<i>.png
    QTest::newRow("paths and ids") << QByteArray("train/4.png\n./train/1.png\n@ID(train/7.png)\n") << ""
                                   << "train/1.png:-1,train/4.png:-1,train/7.png:-1";
    QTest::newRow("labels by name and index") << QByteArray("train/4.png,c0\ntrain/2.png,0\n") << ""
                                              << "train/2.png:0,train/4.png:0";
    QTest::newRow("unknown path") << QByteArray("train/4.png\ntrain/99.png\n")
                                  << ":2: 'train/99.png' is no example of the dataset (no example has this path "
                                     "relative to the dataset root)"
                                  << "";
    QTest::newRow("unknown id") << QByteArray("# ids\n999\n")
                                << ":2: '999' is no example of the dataset (no example has this id)" << "";
    QTest::newRow("test example") << QByteArray("test/1.png\n")
                                  << ":1: 'test/1.png' is a test example; the rankings cover the training split" << "";
    QTest::newRow("listed twice") << QByteArray("train/4.png\n@ID(train/4.png)\n")
                                  << ":2: '@ID(train/4.png)' is listed twice" << "";
    QTest::newRow("unknown class") << QByteArray("train/4.png,c7\n") << ":1: 'c7' is not a class of the dataset" << "";
    QTest::newRow("label is the current one") << QByteArray("train/4.png,c1\n")
                                              << ":1: the correct label given, 'c1', is the example's current label"
                                              << "";
}

void TestTruthFile::resolve()
{
    QFETCH(QByteArray, text);
    QFETCH(QString, error);
    QFETCH(QString, expected);
    // "@ID(source)" stands for the example's id, which the project assigned.
    for (const auto &[source, id] : m_idOf) {
        text.replace(QByteArray("@ID(") + QByteArray::fromStdString(source) + ")", QByteArray::number(qint64(id)));
        error.replace("@ID(" + QString::fromStdString(source) + ")", QString::number(id));
    }
    const QString path = m_dir.filePath("resolve.txt");
    QVERIFY(writeText(path, text));
    auto entries = readTruthFile(path.toStdString());
    QVERIFY2(entries.ok(), entries.status().message().c_str());
    auto known = resolveTruth(*m_db, *entries, path.toStdString(), false);
    if (!error.isEmpty()) {
        QVERIFY(!known.ok());
        QCOMPARE(QString::fromStdString(known.status().message()), path + error);
        return;
    }
    QVERIFY2(known.ok(), known.status().message().c_str());
    QStringList got;
    for (size_t i = 0; i < known->errors.size(); ++i) {
        const LabelFlip &f = known->errors[i];
        QCOMPARE(f.exampleId, m_idOf.at(known->sources[i]));
        // The label the example has now: i mod 3 for train/<i>.png.
        const int i0 = std::stoi(known->sources[i].substr(6));
        QCOMPARE(f.noisyLabel, i0 % 3);
        got << QString("%1:%2").arg(QString::fromStdString(known->sources[i])).arg(f.trueLabel);
    }
    QCOMPARE(got.join(','), expected);
    QCOMPARE(known->labelled, expected.contains(":-1") == false);
    QCOMPARE(known->notInProject, int64_t(0));
}

void TestTruthFile::resolveInASubset()
{
    // In a seeded subset, examples the subset left out are counted, not errors.
    const QString path = m_dir.filePath("subset.txt");
    QVERIFY(writeText(path, "train/4.png\ntrain/99.png\ntrain/98.png\n"));
    auto entries = readTruthFile(path.toStdString());
    QVERIFY(entries.ok());
    auto known = resolveTruth(*m_db, *entries, path.toStdString(), true);
    QVERIFY2(known.ok(), known.status().message().c_str());
    QCOMPARE(known->errors.size(), size_t(1));
    QCOMPARE(known->notInProject, int64_t(2));
    // None left is an error that names the file.
    QVERIFY(writeText(path, "train/99.png\n"));
    entries = readTruthFile(path.toStdString());
    QVERIFY(entries.ok());
    known = resolveTruth(*m_db, *entries, path.toStdString(), true);
    QVERIFY(!known.ok());
    QCOMPARE(QString::fromStdString(known.status().message()),
             path + ": none of its 1 examples is in the evaluated training set");
}

void TestTruthFile::recallAndAucByHand()
{
    // Ten training examples reviewed in the order of their scores 10, 9, …, 1:
    //   train/2, train/0, train/6, train/1, train/3, train/4, train/5, train/7, train/8, train/9.
    // The truth lists train/2 and train/6: reviewed 1st and 3rd.
    const QString path = m_dir.filePath("byhand.txt");
    QVERIFY(writeText(path, "# two known errors\ntrain/6.png,c1\ntrain/2.png,c0\n"));
    auto entries = readTruthFile(path.toStdString());
    QVERIFY(entries.ok());
    auto known = resolveTruth(*m_db, *entries, path.toStdString(), false);
    QVERIFY2(known.ok(), known.status().message().c_str());
    QVERIFY(known->labelled);
    const int order[] = {2, 0, 6, 1, 3, 4, 5, 7, 8, 9};
    std::vector<int64_t> ids;
    std::vector<double> scores;
    for (int i = 0; i < 10; ++i) {
        ids.push_back(m_idOf.at("train/" + std::to_string(order[i]) + ".png"));
        scores.push_back(10.0 - i);
    }
    const RankingEvaluation r =
        scoreRanking("by hand", RankingSpec{}, ids, scores, known->errors, {0.1, 0.2, 0.3, 0.5}, true);
    // Top 10 % = 1 reviewed (train/2): 1 of 2. Top 20 %: still 1. Top 30 %: both. Top 50 %: both.
    QCOMPARE(r.recall, (std::vector<double>{0.5, 0.5, 1.0, 1.0}));
    // AUC: the positive scored 10 beats all 8 negatives, the one scored 8 beats 7 of them
    // (not the 9): 15 of 16 pairs.
    QCOMPARE(r.auc, 15.0 / 16.0);
    QCOMPARE(r.curve.back().second, 1.0);
    // The same examples listed by id give the same numbers.
    QVERIFY(writeText(path, QByteArray::number(qint64(m_idOf.at("train/2.png"))) + "\n"
                                + QByteArray::number(qint64(m_idOf.at("train/6.png"))) + "\n"));
    entries = readTruthFile(path.toStdString());
    QVERIFY(entries.ok());
    known = resolveTruth(*m_db, *entries, path.toStdString(), false);
    QVERIFY(known.ok());
    QVERIFY(!known->labelled);
    const RankingEvaluation byId = scoreRanking("by id", RankingSpec{}, ids, scores, known->errors, {0.1, 0.2, 0.3, 0.5});
    QCOMPARE(byId.recall, r.recall);
    QCOMPARE(byId.auc, r.auc);
}

void TestTruthFile::cliEvaluatesAgainstTheTruth()
{
    const QString data = m_data;
    const std::vector<std::string> &wrong = m_wrong;
    QCOMPARE(wrong.size(), size_t(15));
    QByteArray text = "# the images known to sit in the wrong folder\n";
    for (const auto &w : wrong)
        text += QByteArray::fromStdString(w) + "\n";
    const QString truth = m_dir.filePath("truth.txt");
    QVERIFY(writeText(truth, text));
    const QString out = m_dir.filePath("report"), work = m_dir.filePath("work");
    const QStringList tiny{"--dataset", data, "--work", work, "--epochs", "1", "--width", "4", "--embedding-dim", "8",
                           "--batch", "16", "--cleaning", "none", "--seed-replicates", "0", "--threads", "1",
                           "--quiet"};

    // Neither noise nor truth: refused before any work.
    auto none = testing::runCli(QStringList{"evaluate", "--out", out, "--noise", "0"} + tiny);
    QCOMPARE(none.exitCode, 2);
    QVERIFY2(none.err.contains("--truth"), none.err.constData());
    // Truth with injected noise: refused.
    auto both = testing::runCli(QStringList{"evaluate", "--out", out, "--noise", "0.1", "--truth", truth} + tiny);
    QCOMPARE(both.exitCode, 2);
    // A bad line names the file and line.
    const QString bad = m_dir.filePath("bad.txt");
    QVERIFY(writeText(bad, "# x\n" + QByteArray::fromStdString(wrong[0]) + "\ntrain/nothing.png\n"));
    auto badRun = testing::runCli(QStringList{"evaluate", "--out", out, "--noise", "0", "--truth", bad} + tiny);
    QCOMPARE(badRun.exitCode, 1);
    QVERIFY2(badRun.err.contains((bad + ":3: 'train/nothing.png' is no example").toUtf8()), badRun.err.constData());

    // A cleaning loop is asked for, but the file gives no correct labels: skipped, and said so.
    QStringList withCleaning = tiny;
    withCleaning[withCleaning.indexOf("none")] = "10";
    auto run = testing::runCli(QStringList{"evaluate", "--out", out, "--noise", "0", "--truth", truth} + withCleaning);
    QVERIFY2(run.exitCode == 0, run.err.constData());
    QVERIFY2(run.out.contains("15 known errors"), run.out.constData());
    QVERIFY2(run.out.contains("logical cores"), run.out.constData());
    QVERIFY2(run.out.contains("cleaning loop not run"), run.out.constData());
    QVERIFY2(run.out.contains("the default queue's first unlisted labels (often the dataset's own errors"),
             run.out.constData());

    QFile json(out + "/report.json");
    QVERIFY(json.open(QIODevice::ReadOnly));
    const QJsonObject o = QJsonDocument::fromJson(json.readAll()).object();
    QCOMPARE(o.value("noise").toObject().value("type").toString(), QString("none"));
    QCOMPARE(o.value("noise").toObject().value("flips").toArray().size(), 15);
    QCOMPARE(o.value("truth").toObject().value("count").toInt(), 15);
    QCOMPARE(o.value("truth").toObject().value("labelled").toBool(), false);
    const QJsonObject machine = o.value("machine").toObject();
    QVERIFY(machine.value("logical_cores").toInt() >= 1);
    QCOMPARE(machine.value("torch_threads").toInt(), 1);
    QCOMPARE(machine.value("load_start").toArray().size(), 3);
    QVERIFY(machine.value("load_end").toArray().at(0).toDouble(-1) >= 0.0);

    QFile md(out + "/report.md");
    QVERIFY(md.open(QIODevice::ReadOnly));
    const QString text2 = QString::fromUtf8(md.readAll());
    QVERIFY(text2.contains("15 known errors"));
    QVERIFY(text2.contains("**Known errors** (no injected noise)"));
    QVERIFY(text2.contains("## Known errors found in the top of each ranking"));
    QVERIFY(text2.contains("Not run: " + truth + " gives no correct labels"));
    QVERIFY(text2.contains("Measured on "));
    QVERIFY(text2.contains("logical cores), 1 LibTorch threads; load average"));
    QVERIFY(!text2.contains("2-core development machine"));
    // The examples the queue puts first that the file does not list: named as such.
    QVERIFY(text2.contains("### Unlisted labels at the top of the default queue"));
    QVERIFY(text2.contains("Some of them may be wrong labels the truth file misses."));

    auto back = readEvaluationReport((out + "/report.json").toStdString());
    QVERIFY2(back.ok(), back.status().message().c_str());
    QCOMPARE(back->config.truthFile, truth.toStdString());
    QCOMPARE(back->flips.size(), size_t(15));
    QCOMPARE(back->machine.torchThreads, 1);
}

void TestTruthFile::correctLabelsDriveTheCleaningLoop()
{
    // writeSyntheticImageFolder put image <serial> of class c into class c+1's folder when
    // serial % 6 == 0; serials run 1..30 for class 0, 31..60 for class 1, …
    const QString data = m_data;
    QByteArray text;
    int listed = 0;
    for (int c = 0; c < 3; ++c)
        for (int serial = c * 30 + 1; serial <= (c + 1) * 30; ++serial)
            if (serial % 6 == 0) {
                text += QByteArray::fromStdString("train/" + testing::className((c + 1) % 3) + "/"
                                                  + std::to_string(serial) + ".png," + testing::className(c) + "\n");
                ++listed;
            }
    QCOMPARE(listed, 15);
    QCOMPARE(int(m_wrong.size()), listed);
    const QString truth = m_dir.filePath("truth-labelled.txt");
    QVERIFY(writeText(truth, text));

    EvaluationConfig cfg;
    cfg.dataset = data.toStdString();
    cfg.workDirectory = m_dir.filePath("work-labelled").toStdString();
    cfg.noiseRate = 0.0;
    cfg.truthFile = truth.toStdString();
    cfg.train.width = 4;
    cfg.train.embeddingDim = 8;
    cfg.train.epochs = 1;
    cfg.train.batchSize = 16;
    cfg.compute.threads = 1;
    cfg.cleaningBudgets = {0.2};
    cfg.cleaningSeeds = 1;
    cfg.seedReplicates = 0;
    auto r = runEvaluation(cfg);
    QVERIFY2(r.ok(), r.status().message().c_str());
    QVERIFY(r->truthLabelled);
    QVERIFY(r->cleaningSkipped.empty());
    QCOMPARE(r->flips.size(), size_t(15));
    for (size_t i = 0; i < r->flips.size(); ++i) {
        // "train/<folder>/<serial>.png": labelled as its folder, truly of class (serial − 1) / 30.
        const QStringList parts = QString::fromStdString(r->flipSources[i]).split('/');
        QCOMPARE(parts.size(), 3);
        const int serial = parts[2].section('.', 0, 0).toInt();
        QCOMPARE(r->classes[size_t(r->flips[i].noisyLabel)], parts[1].toStdString());
        QCOMPARE(r->classes[size_t(r->flips[i].trueLabel)], testing::className((serial - 1) / 30));
    }
    // Queue and random at 20 % (18 of 90 reviewed each), then every known error fixed.
    QCOMPARE(r->cleaning.size(), size_t(3));
    QCOMPARE(r->cleaning[0].reviewed, int64_t(18));
    QCOMPARE(r->cleaning[2].strategy, std::string("all flips fixed"));
    QCOMPARE(r->cleaning[2].fixed, int64_t(15));

    // Another truth file: the model and factors are reused, the cleaning runs redone.
    QByteArray fewer = text.left(text.indexOf('\n') + 1);
    QVERIFY(writeText(truth, fewer));
    auto again = runEvaluation(cfg);
    QVERIFY2(again.ok(), again.status().message().c_str());
    QCOMPARE(again->modelId, r->modelId);
    QCOMPARE(again->flips.size(), size_t(1));
    QCOMPARE(again->cleaning[2].fixed, int64_t(1));
    QVERIFY(again->cleaning[0].fixed <= 1);
}

QTEST_MAIN(TestTruthFile)
#include "test_truthfile.moc"
