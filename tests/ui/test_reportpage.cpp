// The report view: the flagged count is the number of training examples whose
// last-checkpoint prediction differs from their label; the self-influence histogram is
// drawn; an evaluation report beside the project is found and shown (rankings table,
// recall chart, cleaning loop), and an unreadable one is refused with a message.

#include "evaluation/calibration.h"
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
    void calibrationByCleaningLoopIsExplained();
    void olderEnsembleFormulaIsNamed_data();
    void olderEnsembleFormulaIsNamed();
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
    std::string error;
    m_session = traclens::testing::buildAndOpenSession(*m_fixture, &error);
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
    auto run = [](const char *strategy, uint64_t seed, int64_t fixed, double accuracy) {
        CleaningRun c;
        c.strategy = strategy;
        c.seed = seed;
        c.budget = 0.1;
        c.reviewed = 10;
        c.fixed = fixed;
        c.testAccuracy = accuracy;
        return c;
    };
    // Two seeds; seed 2's noisy-label model scores 0.85, so its runs gain over 0.85, not
    // over seed 1's 0.80: queue +2 and +1 points, random −1 and +2, the other ranking +1 and 0.
    r.config.train.seed = 1;
    r.config.cleaningSeeds = 2;
    r.config.cleaningRankings = {RankingSpec{RankingKind::CvNoiseRate, {}, 1}};
    r.seedRuns = {run("seed", 2, 0, 0.85)};
    r.cleaning = {run("queue", 1, 1, 0.82),         run("random", 1, 0, 0.79), run("cv-noise-rate", 1, 1, 0.81),
                  run("queue", 2, 2, 0.86),         run("random", 2, 0, 0.87), run("cv-noise-rate", 2, 1, 0.85)};
    // Two unflipped labels at the top of the queue, with pixels for the report's picture.
    for (int64_t rank : {3, 7}) {
        UnflippedSuspect u;
        u.id = 10 + rank;
        u.source = "c" + std::to_string(rank) + ".png";
        u.rank = rank;
        u.label = 1;
        u.modelClass = 0;
        u.labelProbability = 0.01;
        u.outOfSample = true;
        u.image = QImage(28, 28, QImage::Format_Grayscale8);
        u.image.fill(Qt::gray);
        r.unflippedAtTop.push_back(u);
    }
    const QString dir = QFileInfo(QString::fromStdString(m_fixture->projectPath())).absolutePath();
    QVERIFY(writeEvaluationReport(r, dir.toStdString()).isOk());
    QVERIFY(QFileInfo::exists(dir + "/unflipped-at-top.png"));

    m_page->refresh();
    QVERIFY(m_page->evaluation());
    QCOMPARE(m_page->evaluation()->flips.size(), size_t(2));
    QTableWidget *recall = nullptr, *cleaning = nullptr;
    for (QTableWidget *t : m_page->findChildren<QTableWidget *>())
        (t->columnCount() == 5 && t->rowCount() == 3 ? cleaning : recall) = t;
    QVERIFY(recall && cleaning);
    QCOMPARE(recall->rowCount(), 2);
    QCOMPARE(recall->columnCount(), 4); // name, two budgets, AUC
    QVERIFY(recall->item(0, 0)->text().contains("(default)"));
    QCOMPARE(recall->item(1, 2)->text(), QLocale().toString(50.0, 'f', 1) + QStringLiteral("\u00a0%"));
    // Rows: the default queue, the other ranking reviewed, random; gains paired by seed.
    QVERIFY2(cleaning->item(0, 1)->text().startsWith("queue"), qPrintable(cleaning->item(0, 1)->text()));
    QVERIFY2(cleaning->item(0, 3)->text().contains("+1.50 (+1.00 to +2.00, 2 seeds)"),
             qPrintable(cleaning->item(0, 3)->text()));
    QCOMPARE(cleaning->item(0, 4)->text(), QString("3.0×"));
    QCOMPARE(cleaning->item(1, 1)->text(), QString("cv-noise-rate"));
    QVERIFY2(cleaning->item(1, 3)->text().startsWith("+0.50"), qPrintable(cleaning->item(1, 3)->text()));
    QCOMPARE(cleaning->item(1, 4)->text(), QString("1.0×"));
    QCOMPARE(cleaning->item(2, 1)->text(), QString("random"));
    QVERIFY2(cleaning->item(2, 3)->text().startsWith("+0.50 (-1.00 to +2.00"), qPrintable(cleaning->item(2, 3)->text()));
    // The unflipped labels: their ranks, and the picture drawn beside report.json.
    auto *unflipped = m_page->findChild<QLabel *>("unflippedLabel");
    auto *view = m_page->findChild<QLabel *>("unflippedView");
    QVERIFY(unflipped && view);
    QVERIFY(!unflipped->isHidden());
    QVERIFY2(unflipped->text().contains("The first 2 labels of the default queue that were not flipped, at ranks 3, 7:"),
             qPrintable(unflipped->text()));
    QVERIFY(!view->isHidden());
    QVERIFY(!view->pixmap().isNull());
    // The report reads back with the ranking it reviewed, and its Markdown says the same.
    auto back = readEvaluationReport((dir + "/report.json").toStdString());
    QVERIFY(back.ok());
    QCOMPARE(back->config.cleaningRankings.size(), size_t(1));
    QCOMPARE(back->config.cleaningRankings.front().kind, RankingKind::CvNoiseRate);
    QFile md(dir + "/report.md");
    QVERIFY(md.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(md.readAll());
    QVERIFY2(text.contains("| 10% (10) | cv-noise-rate | 1 of 2 | +0.50 [+0.00, +1.00] (2 seeds) | 1.0× |"),
             qPrintable(text));
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
    QVERIFY(m_page->findChild<QLabel *>("unflippedLabel")->isHidden());
    QVERIFY(m_page->findChild<QLabel *>("unflippedView")->isHidden());
    bool message = false;
    for (const QLabel *l : m_page->findChildren<QLabel *>())
        message = message || l->text().contains("not a TracLens evaluation report");
    QVERIFY(message);
}

void TestReportPage::calibrationByCleaningLoopIsExplained()
{
    // A calibration whose cleaning loop reviewed the queue (loss) and margin over three
    // seeds: margin found fewer flips but gained more, so it is the default, and the page
    // quotes the gains it was chosen on.
    EvaluationReport r;
    r.config.budgets = {0.1};
    r.config.cleaningBudgets = {0.1};
    r.config.cleaningRankings = {defaultRankingFor(RankingKind::Margin)};
    r.config.train.seed = 1;
    r.defaultSpec = defaultRankingFor(RankingKind::Loss);
    r.testAccuracyBefore = 0.80;
    for (RankingKind kind : {RankingKind::Loss, RankingKind::Margin}) {
        RankingEvaluation e;
        e.spec = defaultRankingFor(kind);
        e.name = e.spec.toString();
        e.recall = {kind == RankingKind::Loss ? 0.9 : 0.5};
        r.rankings.push_back(e);
    }
    const double gains[3][3] = {{0.2, 0.1, 0.3}, {0.9, 0.8, 1.0}, {0.3, 0.2, 0.4}}; // loss, margin, random
    // A reviewed ranking's runs are filed under its spec's name, as runEvaluation files them.
    const std::string strategies[3] = {"queue", r.config.cleaningRankings.front().toString(), "random"};
    for (int s = 0; s < 3; ++s)
        for (int seed = 1; seed <= 3; ++seed) {
            CleaningRun c;
            c.strategy = strategies[s];
            c.seed = uint64_t(seed);
            c.budget = 0.1;
            c.testAccuracy = 0.80 + gains[s][seed - 1] / 100.0;
            r.cleaning.push_back(c);
            if (s == 0 && seed > 1) {
                CleaningRun noisy;
                noisy.strategy = "seed";
                noisy.seed = uint64_t(seed);
                noisy.testAccuracy = 0.80;
                r.seedRuns.push_back(noisy);
            }
        }
    QVERIFY(recordCalibration(m_session->db(), r, "/reports/report.json").isOk());
    m_session->reloadDefaultRanking(); // as the app does when its calibration job finishes
    QCOMPARE(m_session->defaultSpec().kind, RankingKind::Margin);
    m_page->refresh();
    auto *line = m_page->findChild<QLabel *>(QStringLiteral("calibrationLine"));
    QVERIFY(line);
    const QString text = line->text();
    const QString margin = QString::fromStdString(r.rankings[1].name), loss = QString::fromStdString(r.rankings[0].name);
    QVERIFY2(text.contains("This project's default review queue: " + margin + " — "), qPrintable(text));
    QVERIFY2(text.contains("gained the most test accuracy in the cleaning loop: +0.90 points (mean of 3 seeds), "
                           + loss + " +0.20, a random review +0.30; report: "),
             qPrintable(text));
    QVERIFY2(!text.contains("lacks"), qPrintable(text));
}

void TestReportPage::olderEnsembleFormulaIsNamed_data()
{
    QTest::addColumn<int>("formula");
    QTest::addColumn<bool>("withEnsemble");
    QTest::addColumn<QString>("note"); // empty: no note expected
    QTest::newRow("today's formula") << kEnsembleFormulaVersion << true << QString();
    QTest::newRow("an older formula named")
        << kEnsembleFormulaVersion - 1 << true
        << QString("Its ensemble was measured with formula %1; the queue's ensemble is formula %2 now.")
               .arg(kEnsembleFormulaVersion - 1)
               .arg(kEnsembleFormulaVersion);
    QTest::newRow("a report from before the field")
        << 0 << true
        << QString("Its ensemble was measured with an older formula than the queue's (formula %1 now).")
               .arg(kEnsembleFormulaVersion);
    QTest::newRow("no ensemble row, nothing to say") << 0 << false << QString();
}

void TestReportPage::olderEnsembleFormulaIsNamed()
{
    QFETCH(int, formula);
    QFETCH(bool, withEnsemble);
    QFETCH(QString, note);
    EvaluationReport r;
    r.config.dataset = "/data/tiny";
    r.config.noiseRate = 0.1;
    r.config.budgets = {0.1};
    r.trainCount = 100;
    r.flips = {{1, 0, 1}};
    r.flipSources = {"a.png"};
    r.defaultSpec = withEnsemble ? RankingSpec{RankingKind::Ensemble, {}, 1} : defaultRanking();
    r.ensembleFormula = formula;
    RankingEvaluation row;
    row.spec = r.defaultSpec;
    row.name = row.spec.toString();
    row.recall = {1.0};
    row.auc = 1.0;
    row.curve = {{0.0, 0.0}, {0.1, 1.0}, {1.0, 1.0}};
    r.rankings = {row};
    const QString dir = QFileInfo(QString::fromStdString(m_fixture->projectPath())).absolutePath();
    QVERIFY(writeEvaluationReport(r, dir.toStdString()).isOk());
    // The same path as the report shown before: load it explicitly (refresh() reloads only
    // a report found at another path).
    QVERIFY(m_page->loadEvaluation(dir + "/report.json"));
    QVERIFY(m_page->evaluation());
    QCOMPARE(m_page->evaluation()->ensembleFormula, formula);
    auto *summary = m_page->findChild<QLabel *>(QStringLiteral("evaluationSummary"));
    QVERIFY(summary);
    if (note.isEmpty())
        QVERIFY2(!summary->text().contains("formula"), qPrintable(summary->text()));
    else
        QVERIFY2(summary->text().contains(note), qPrintable(summary->text()));
}

void TestReportPage::cleanupTestCase()
{
    m_page.reset();
    m_session.reset();
}

QTEST_MAIN(TestReportPage)
#include "test_reportpage.moc"
