// The report view: the flagged count is the number of training examples whose
// last-checkpoint prediction differs from their label; the self-influence histogram is
// drawn; an evaluation report beside the project is found and shown (rankings table,
// recall chart, cleaning loop), and an unreadable one is refused with a message.

#include "evaluation/evaluation.h"
#include "influence/flagging.h"
#include "reportpage.h"
#include "sessionfixture.h"
#include "testproject.h"

#include <QFile>
#include <QLabel>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

using namespace traclens;
using traclens::testing::TestProject;

class TestReportPage : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void flaggedCountMatchesEngine();
    void warnsAboutWeakModel();
    void noEvaluationSaysHowToMakeOne();
    void evaluationBesideProjectIsShown();
    void unreadableReportIsRefused();
    void cleanupTestCase();

private:
    QTemporaryDir m_dir;
    std::unique_ptr<TestProject> m_fixture;
    std::unique_ptr<ProjectSession> m_session;
    std::unique_ptr<ReportPage> m_page;
};

void TestReportPage::initTestCase()
{
    QVERIFY(m_dir.isValid());
    traclens::testing::SyntheticSpec spec;
    spec.flipEvery = 7;
    m_fixture = std::make_unique<TestProject>(m_dir.path().toStdString(), spec);
    const Status built = m_fixture->build();
    QVERIFY2(built.isOk(), built.message().c_str());
    std::string error;
    m_session = traclens::testing::openSessionWithEngine(m_fixture->projectPath(), &error);
    QVERIFY2(m_session, error.c_str());
    m_page = std::make_unique<ReportPage>(m_session.get());
    m_page->resize(1000, 900);
    m_page->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_page.get()));
}

void TestReportPage::flaggedCountMatchesEngine()
{
    m_page->refresh();
    const auto engine = m_session->engine();
    qint64 expected = 0;
    for (const ExampleRow &r : m_session->examples())
        if (r.split == Split::Train && engine->predicted(r.id) != r.currentLabel
            && isFlaggedLoss(engine->lossAtLast(r.id)))
            ++expected;
    QCOMPARE(m_page->flaggedCount(), expected);
    const auto labels = m_page->findChildren<QLabel *>();
    bool histogram = false, counts = false;
    for (const QLabel *l : labels) {
        histogram = histogram || (!l->pixmap().isNull() && l->pixmap().width() > 200);
        counts = counts || l->text().contains(QString::number(expected) + "</b> flagged");
    }
    QVERIFY(histogram);
    QVERIFY(counts);
}

void TestReportPage::warnsAboutWeakModel()
{
    // The fixture's model: 3 classes, 20 training examples each, 2 epochs.
    m_page->refresh();
    QString summary;
    for (const QLabel *l : m_page->findChildren<QLabel *>())
        if (l->text().contains("</b> flagged"))
            summary = l->text();
    QVERIFY(summary.contains("too weak"));
    QVERIFY(summary.contains("Train more epochs: Project ▸ Train Model"));
    QVERIFY(summary.contains("training examples per class"));
}

void TestReportPage::noEvaluationSaysHowToMakeOne()
{
    QVERIFY(!m_page->evaluation());
    // The page points at its own Run Evaluation… button, not at tools a desktop user lacks.
    bool hint = false;
    for (const QLabel *l : m_page->findChildren<QLabel *>()) {
        hint = hint || l->text().contains("Run Evaluation…");
        QVERIFY2(!l->text().contains("traclens-cli") && !l->text().contains("docs/"), qPrintable(l->text()));
    }
    QVERIFY(hint);
}

void TestReportPage::evaluationBesideProjectIsShown()
{
    // A hand-made report: two rankings and a cleaning loop at one budget.
    EvaluationReport r;
    r.config.dataset = "/data/tiny";
    r.config.noiseRate = 0.1;
    r.config.budgets = {0.1, 0.2};
    r.config.cleaningBudgets = {0.1};
    r.trainCount = 100;
    r.testCount = 20;
    r.flips = {{1, 0, 1}, {5, 2, 0}};
    r.flipSources = {"a.png", "b.png"};
    r.defaultSpec = defaultRanking();
    RankingEvaluation best;
    best.name = r.defaultSpec.toString();
    best.spec = r.defaultSpec;
    best.recall = {0.5, 1.0};
    best.auc = 0.9;
    best.curve = {{0.0, 0.0}, {0.1, 0.5}, {0.2, 1.0}, {1.0, 1.0}};
    RankingEvaluation random = best;
    random.name = "random";
    random.spec = RankingSpec{RankingKind::Random, {}, 1};
    random.recall = {0.0, 0.5};
    random.auc = 0.5;
    r.rankings = {best, random};
    r.testAccuracyBefore = 0.8;
    auto run = [](const char *strategy, int64_t fixed, double accuracy) {
        CleaningRun c;
        c.strategy = strategy;
        c.seed = 1;
        c.budget = 0.1;
        c.reviewed = 10;
        c.fixed = fixed;
        c.testAccuracy = accuracy;
        return c;
    };
    r.cleaning = {run("queue", 1, 0.82), run("random", 0, 0.79)};
    const QString dir = QFileInfo(QString::fromStdString(m_fixture->projectPath())).absolutePath();
    QVERIFY(writeEvaluationReport(r, dir.toStdString()).isOk());

    m_page->refresh();
    QVERIFY(m_page->evaluation());
    QCOMPARE(m_page->evaluation()->flips.size(), size_t(2));
    QTableWidget *recall = nullptr, *cleaning = nullptr;
    for (QTableWidget *t : m_page->findChildren<QTableWidget *>())
        (t->columnCount() == 5 && t->rowCount() == 1 ? cleaning : recall) = t;
    QVERIFY(recall && cleaning);
    QCOMPARE(recall->rowCount(), 2);
    QCOMPARE(recall->columnCount(), 4); // name, two budgets, AUC
    QVERIFY(recall->item(0, 0)->text().contains("(default)"));
    QCOMPARE(recall->item(1, 2)->text(), QLocale().toString(50.0, 'f', 1) + " %");
    QVERIFY(cleaning->item(0, 2)->text().contains("+2.00"));
    QVERIFY(cleaning->item(0, 4)->text().contains("-1.00"));
    // For people checking the layout: TRACLENS_SCREENSHOT_DIR=/tmp/shots ./test_reportpage
    const QString shots = qEnvironmentVariable("TRACLENS_SCREENSHOT_DIR");
    if (!shots.isEmpty()) {
        QTest::qWait(50); // let the layout settle
        QVERIFY(m_page->grab().save(shots + "/reportpage.png"));
    }
}

void TestReportPage::unreadableReportIsRefused()
{
    const QString bad = m_dir.filePath("bad.json");
    QFile f(bad);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("{\"format\": \"something-else\"}");
    f.close();
    QVERIFY(!m_page->loadEvaluation(bad));
    QVERIFY(!m_page->evaluation());
    bool message = false;
    for (const QLabel *l : m_page->findChildren<QLabel *>())
        message = message || l->text().contains("not a TracLens evaluation report");
    QVERIFY(message);
}

void TestReportPage::cleanupTestCase()
{
    m_page.reset();
    m_session.reset();
}

QTEST_MAIN(TestReportPage)
#include "test_reportpage.moc"
