// The project's measured default from the command line: `evaluate --calibrate <project>`
// evaluates the project's own dataset and records the best ranking in the project; `rank`
// without --ranking follows the project's default.

#include "evaluation/calibration.h"
#include "evaluation/evaluation.h"
#include "clirun.h"
#include "store/projectdb.h"
#include "influence/ranking.h"
#include "testproject.h"

#include <QDir>
#include <QJsonArray>
#include <QTemporaryDir>
#include <QTest>

using namespace traclens;
using traclens::testing::TestProject;

class TestCliCalibrate : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void missingProjectIsRefusedFirst();
    void calibrateRecordsTheBest();
    void cleaningLoopChoosesByGain();
    void rankFollowsTheDefault_data();
    void rankFollowsTheDefault();

private:
    QTemporaryDir m_dir;
    std::unique_ptr<TestProject> m_fixture;
};

void TestCliCalibrate::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_fixture = std::make_unique<TestProject>(m_dir.path().toStdString());
    const Status built = m_fixture->build();
    QVERIFY2(built.isOk(), built.message().c_str());
}

void TestCliCalibrate::missingProjectIsRefusedFirst()
{
    auto run = testing::runCli({"evaluate", "--out", m_dir.filePath("nothing"), "--calibrate",
                                m_dir.filePath("missing.traclens"), "--quiet"});
    QVERIFY2(run.exitCode != 0, run.out.constData());
    QVERIFY(!QFileInfo::exists(m_dir.filePath("nothing/report.json")));
}

void TestCliCalibrate::calibrateRecordsTheBest()
{
    const QString project = QString::fromStdString(m_fixture->projectPath());
    const QString out = m_dir.filePath("report");
    auto run = testing::runCli({"evaluate", "--calibrate", project, "--out", out, "--work", m_dir.filePath("work"),
                                "--noise", "0.2", "--epochs", "1", "--width", "4", "--embedding-dim", "8", "--batch",
                                "16", "--cleaning", "none", "--seed-replicates", "0", "--folds", "0", "--threads",
                                "1", "--quiet"});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    auto db = ProjectDb::open(project.toStdString(), ProjectDb::OpenMode::ReadOnly);
    QVERIFY(db.ok());
    auto stored = storedCalibration(**db);
    QVERIFY(stored.ok() && stored->has_value());
    const CalibrationEvidence &e = **stored;
    QVERIFY(e.spec.kind != RankingKind::Random);
    QCOMPARE(QFileInfo(QString::fromStdString(e.reportPath)).canonicalFilePath(),
             QFileInfo(out + "/report.json").canonicalFilePath());
    QVERIFY(e.recallAt(0.10).has_value());
    const QString said = QStringLiteral("default review queue of %1: %2 (measured: %3% of the flips in the top 10%)")
                             .arg(project, QString::fromStdString(e.name))
                             .arg(100.0 * *e.recallAt(0.10), 0, 'f', 1);
    QVERIFY2(run.out.contains(said.toUtf8()), run.out.constData());
}

void TestCliCalibrate::cleaningLoopChoosesByGain()
{
    // With folds and the cleaning loop, --calibrate reviews both orders the default chooses
    // between (as the app's Calibrate… does) and keeps the one whose review gained more.
    const QString project = QString::fromStdString(m_fixture->projectPath());
    const QString out = m_dir.filePath("report-cleaning");
    auto run = testing::runCli({"evaluate", "--calibrate", project, "--out", out, "--work",
                                m_dir.filePath("work-cleaning"), "--noise", "0.2", "--epochs", "1", "--width", "4",
                                "--embedding-dim", "8", "--batch", "16", "--cleaning", "10", "--cleaning-seeds", "3",
                                "--no-upper-bound", "--seed-replicates", "2", "--folds", "2", "--threads", "1",
                                "--quiet"});
    QVERIFY2(run.exitCode == 0, run.err.constData());
    auto report = readEvaluationReport((out + "/report.json").toStdString());
    QVERIFY2(report.ok(), report.status().message().c_str());
    QCOMPARE(report->config.cleaningRankings.size(), size_t(2));

    // The review with the highest mean gain, recomputed from the runs (the queue on a tie).
    std::string bestName;
    double bestGain = -1e9;
    for (const CleaningRow &row : cleaningRows(*report)) {
        if (row.strategy == "random" || row.gains.empty())
            continue;
        QCOMPARE(int(row.gains.size()), 3);
        const std::string name = row.strategy == "queue" ? report->defaultSpec.toString() : row.strategy;
        if (row.meanGain() > bestGain + 1e-12) {
            bestGain = row.meanGain();
            bestName = name;
        }
    }
    QVERIFY(!bestName.empty());

    auto db = ProjectDb::open(project.toStdString(), ProjectDb::OpenMode::ReadOnly);
    QVERIFY(db.ok());
    auto stored = storedCalibration(**db);
    QVERIFY(stored.ok() && stored->has_value());
    const CalibrationEvidence &e = **stored;
    QCOMPARE(e.name, bestName);
    QVERIFY(e.spec.kind == RankingKind::Ensemble || e.spec.kind == RankingKind::CvBoundary);
    QVERIFY(e.cleaning.has_value());
    QCOMPARE(e.cleaning->seeds, 3);
    QVERIFY(qAbs(e.cleaning->gain - bestGain) < 1e-9);
    QVERIFY(e.cleaning->runnerUp != e.name);
    const QString said = QStringLiteral("chosen by the cleaning loop: reviewing its top 10% gained ")
                         + QString::asprintf("%+.2f points", 100.0 * bestGain);
    QVERIFY2(run.out.contains(said.toUtf8()), run.out.constData());
}

void TestCliCalibrate::rankFollowsTheDefault_data()
{
    QTest::addColumn<QString>("stored");   // kind of the stored calibration
    QTest::addColumn<QString>("option");   // --ranking, "" for none
    QTest::addColumn<QString>("expected"); // kind ranked
    QTest::newRow("calibrated margin") << "margin" << "" << "margin";
    QTest::newRow("--ranking wins") << "margin" << "loss" << "loss";
    QTest::newRow("ensemble without cross-validation: loss") << "ensemble" << "" << "loss";
    QTest::newRow("neighbours") << "neighbours" << "" << "neighbours";
}

void TestCliCalibrate::rankFollowsTheDefault()
{
    QFETCH(QString, stored);
    QFETCH(QString, option);
    QFETCH(QString, expected);
    const QString project = QString::fromStdString(m_fixture->projectPath());
    {
        auto db = ProjectDb::open(project.toStdString(), ProjectDb::OpenMode::ReadWrite);
        QVERIFY(db.ok());
        EvaluationReport report;
        report.config.budgets = {0.10};
        RankingEvaluation best;
        best.spec = defaultRankingFor(*parseRankingKind(stored.toStdString()));
        best.name = best.spec.toString();
        best.recall = {0.9};
        report.rankings = {best};
        QVERIFY(recordCalibration(**db, report, "r.json").isOk());
    }
    QStringList args{"rank", project, "--json", "--top", "3"};
    if (!option.isEmpty())
        args << "--ranking" << option;
    auto run = testing::runCli(args);
    QVERIFY2(run.exitCode == 0, run.err.constData());
    QCOMPARE(run.json().value("kind").toString(), expected);
    QCOMPARE(run.json().value("examples").toArray().size(), 3);
}

QTEST_GUILESS_MAIN(TestCliCalibrate)
#include "test_clicalibrate.moc"
