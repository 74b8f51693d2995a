// The project's measured default in the app: a stored calibration makes the review
// page's recommended entry that ranking, the queue switches to its order when the worker's
// answer arrives (unless the person picked another order), and the report page shows the
// evidence — or, uncalibrated, what the default is and how to measure it.

#include "evaluation/calibration.h"
#include "evaluation/evaluation.h"
#include "influence/ranking.h"
#include "reportpage.h"
#include "reviewpage.h"
#include "sessionfixture.h"
#include "testproject.h"

#include <QComboBox>
#include <QLabel>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace traclens;
using traclens::testing::TestProject;

class TestCalibrationView : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void notCalibratedSaysHow();
    void storedCalibrationIsRecommended_data();
    void storedCalibrationIsRecommended();
    void personsChoiceIsKept();
    void cleanupTestCase();

private:
    // Stores a calibration whose best ranking is `kind` (with its own checkpoint policy).
    void calibrate(RankingKind kind);
    QString calibrationLine() const;

    QTemporaryDir m_dir;
    std::unique_ptr<TestProject> m_fixture;
    std::unique_ptr<ProjectSession> m_session;
    std::unique_ptr<ReviewPage> m_review;
    std::unique_ptr<ReportPage> m_report;
};

void TestCalibrationView::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_fixture = std::make_unique<TestProject>(m_dir.path().toStdString());
    std::string error;
    m_session = traclens::testing::buildAndOpenSession(*m_fixture, &error);
    QVERIFY2(m_session, error.c_str());
    m_review = std::make_unique<ReviewPage>(m_session.get());
    m_report = std::make_unique<ReportPage>(m_session.get());
    m_report->resize(900, 700);
    m_report->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_report.get()));
}

void TestCalibrationView::calibrate(RankingKind kind)
{
    auto row = [](RankingKind k, std::vector<double> recall, double auc) {
        RankingEvaluation r;
        r.spec = defaultRankingFor(k);
        r.name = r.spec.toString();
        r.recall = std::move(recall);
        r.auc = auc;
        return r;
    };
    EvaluationReport report;
    report.config.budgets = {0.05, 0.10};
    report.config.noiseRate = 0.1;
    report.baselineName = defaultRankingFor(RankingKind::CvSelfConfidence).toString();
    report.rankings = {row(RankingKind::CvSelfConfidence, {0.30, 0.55}, 0.80), row(kind, {0.61, 0.87}, 0.95),
                       row(RankingKind::Random, {0.05, 0.10}, 0.5)};
    if (kind == RankingKind::CvSelfConfidence)
        report.rankings.erase(report.rankings.begin());
    const Status s = recordCalibration(m_session->db(), report, "/tmp/calibration/report.json");
    QVERIFY2(s.isOk(), s.message().c_str());
}

QString TestCalibrationView::calibrationLine() const
{
    auto *label = m_report->findChild<QLabel *>(QStringLiteral("calibrationLine"));
    return label ? label->text() : QString();
}

void TestCalibrationView::notCalibratedSaysHow()
{
    // A project without cross-validation or calibration: the loss, recommended.
    QCOMPARE(int(m_session->defaultSpec().kind), int(RankingKind::Loss));
    auto *order = m_review->findChild<QComboBox *>();
    QVERIFY(order);
    QCOMPARE(order->itemData(0).toInt(), int(RankingKind::Loss));
    QVERIFY(order->itemText(0).contains(QStringLiteral("recommended")));
    QCOMPARE(m_session->reviewOrderKind(), int(RankingKind::Loss));
    QVERIFY(!m_session->defaultOrderPending());
    m_report->refresh();
    const QString line = calibrationLine();
    QVERIFY2(line.contains(QStringLiteral("not calibrated")), qPrintable(line));
    QVERIFY2(line.contains(QString::fromStdString(defaultRanking().toString())), qPrintable(line));
    QVERIFY2(line.contains(QStringLiteral("Calibrate…")), qPrintable(line));
}

void TestCalibrationView::storedCalibrationIsRecommended_data()
{
    QTest::addColumn<int>("stored");
    QTest::addColumn<int>("expected");    // the default without cross-validation
    QTest::addColumn<bool>("needsWorker"); // the engine cannot give its order
    QTest::newRow("margin") << int(RankingKind::Margin) << int(RankingKind::Margin) << true;
    QTest::newRow("self-influence") << int(RankingKind::SelfInfluence) << int(RankingKind::SelfInfluence) << false;
    QTest::newRow("ensemble needs cross-validation: loss")
        << int(RankingKind::Ensemble) << int(RankingKind::Loss) << false;
    QTest::newRow("back to the loss") << int(RankingKind::Loss) << int(RankingKind::Loss) << false;
}

void TestCalibrationView::storedCalibrationIsRecommended()
{
    QFETCH(int, stored);
    QFETCH(int, expected);
    QFETCH(bool, needsWorker);
    calibrate(RankingKind(stored));
    QSignalSpy wanted(m_session.get(), &ProjectSession::defaultRankingWanted);
    QSignalSpy changed(m_session.get(), &ProjectSession::defaultRankingChanged);
    m_session->reloadDefaultRanking();
    QCOMPARE(changed.count(), 1);
    QCOMPARE(int(m_session->defaultSpec().kind), expected);

    auto *order = m_review->findChild<QComboBox *>();
    QCOMPARE(order->itemData(0).toInt(), expected);
    QVERIFY(order->itemText(0).contains(QStringLiteral("recommended")));
    QCOMPARE(order->findText(QStringLiteral("recommended"), Qt::MatchContains), 0);

    QCOMPARE(m_session->defaultOrderPending(), needsWorker);
    QCOMPARE(wanted.count(), needsWorker ? 1 : 0);
    if (needsWorker) {
        // What the application's rank job answers (JobWorker::rankBySpec).
        const RankingSpec spec = m_session->defaultSpec();
        auto ranked = rankTrainingExamples(m_session->db(), *m_session->modelId(), spec);
        QVERIFY(ranked.ok());
        std::vector<qint64> ids;
        for (const RankedExample &r : *ranked)
            ids.push_back(r.exampleId);
        m_session->setDefaultOrder(*m_session->modelId(), spec, ids);
        QVERIFY(!m_session->defaultOrderPending());
        QCOMPARE(m_session->reviewQueue(), ids);
    }
    QCOMPARE(m_session->reviewOrderKind(), expected);
    QCOMPARE(order->currentIndex(), 0);

    m_report->refresh();
    const QString line = calibrationLine();
    const RankingSpec storedSpec = defaultRankingFor(RankingKind(stored));
    QVERIFY2(line.contains(QStringLiteral("This project's default review queue: ")
                           + QString::fromStdString(storedSpec.toString())),
             qPrintable(line));
    QVERIFY2(line.contains(QStringLiteral("87.0\u00a0% of injected flips in the top 10\u00a0%")), qPrintable(line));
    QVERIFY2(line.contains(QStringLiteral("(baseline 55.0\u00a0%)")) || stored == int(RankingKind::CvSelfConfidence),
             qPrintable(line));
    QVERIFY2(line.contains(QStringLiteral("report: /tmp/calibration/report.json")), qPrintable(line));
    QVERIFY2(line.contains(QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyy-MM-dd"))), qPrintable(line));
    if (expected != stored)
        QVERIFY2(line.contains(QStringLiteral("cross-validation")), qPrintable(line));
}

void TestCalibrationView::personsChoiceIsKept()
{
    // The worker's answer arrives after the person picked another order: it waits.
    calibrate(RankingKind::Margin);
    m_session->reloadDefaultRanking();
    QVERIFY(m_session->defaultOrderPending());
    m_session->useSelfInfluenceOrder();
    const std::vector<qint64> chosen = m_session->reviewQueue();
    const RankingSpec spec = m_session->defaultSpec();
    auto ranked = rankTrainingExamples(m_session->db(), *m_session->modelId(), spec);
    QVERIFY(ranked.ok());
    std::vector<qint64> ids;
    for (const RankedExample &r : *ranked)
        ids.push_back(r.exampleId);
    m_session->setDefaultOrder(*m_session->modelId(), spec, ids);
    QCOMPARE(m_session->reviewQueue(), chosen);
    QCOMPARE(m_session->reviewOrderKind(), int(RankingKind::SelfInfluence));
    // Back to the default: its order is at hand now.
    m_session->resetReviewOrder();
    QCOMPARE(m_session->reviewQueue(), ids);
    QCOMPARE(m_session->reviewOrderKind(), int(RankingKind::Margin));
}

void TestCalibrationView::cleanupTestCase()
{
    m_report.reset();
    m_review.reset();
    m_session.reset();
}

QTEST_MAIN(TestCalibrationView)
#include "test_calibrationview.moc"
