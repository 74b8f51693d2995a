// Running the mislabel evaluation from the Report page: the button opens the settings
// dialog, the evaluation runs as a worker job on a copy of the project's dataset, and
// its report is shown on the page (recall table, summary); the project's own labels and
// label history are unchanged. A cancelled dialog starts nothing.

#include "evaluation/calibration.h"
#include "evaluation/evaluation.h"
#include "evaluationdialog.h"
#include "jobcontroller.h"
#include "metatypes.h"
#include "model/crossvalidation.h"
#include "model/trainjob.h"
#include "store/projectdb.h"
#include "reportpage.h"
#include "sessionfixture.h"
#include "testproject.h"

#include <QApplication>
#include <QDir>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

using namespace traclens;
using traclens::testing::TestProject;

namespace {

// Every example's id and current label, read back through a read-only connection.
std::vector<std::pair<int64_t, int>> labelsOf(const std::string &projectPath)
{
    std::vector<std::pair<int64_t, int>> out;
    auto db = ProjectDb::open(projectPath, ProjectDb::OpenMode::ReadOnly);
    if (!db.ok())
        return out;
    auto rows = (*db)->examples();
    if (!rows.ok())
        return out;
    for (const ExampleRow &r : *rows)
        out.emplace_back(r.id, int(r.currentLabel));
    return out;
}

// Answers the next EvaluationDialog: `settings` and Run, or Cancel. `note` (when given)
// receives the text of its calibration note when that is shown, else "".
void answerDialog(const EvaluationSettings &settings, bool accept, QString *note = nullptr)
{
    QTimer::singleShot(0, [settings, accept, note] {
        for (QWidget *w : QApplication::topLevelWidgets())
            if (auto *dialog = qobject_cast<EvaluationDialog *>(w); dialog && dialog->isVisible()) {
                if (note) {
                    auto *label = dialog->findChild<QLabel *>(QStringLiteral("calibrationNote"));
                    *note = label && label->isVisible() ? label->text() : QString();
                }
                dialog->setSettings(settings);
                accept ? dialog->accept() : dialog->reject();
                return;
            }
        // Not shown yet: try again.
        answerDialog(settings, accept, note);
    });
}

QPushButton *runButton(ReportPage *page)
{
    for (auto *b : page->findChildren<QPushButton *>())
        if (b->text().startsWith(QStringLiteral("Run Evaluation")))
            return b;
    return nullptr;
}

} // namespace

class TestReportEvaluation : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void cancelledDialogStartsNothing();
    void dialogStartsFromTheProjectModel_data();
    void dialogStartsFromTheProjectModel();
    void evaluationRunsAndIsShown();
    void calibrationBecomesTheDefault();
    void dialogTrainsAsTheModelDid_data();
    void dialogTrainsAsTheModelDid();
    void cleanupTestCase();

private:
    QTemporaryDir m_dir;
    std::unique_ptr<TestProject> m_fixture;
    std::unique_ptr<ProjectSession> m_session;
    std::unique_ptr<JobController> m_jobs;
    std::unique_ptr<ReportPage> m_page;
};

void TestReportEvaluation::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_fixture = std::make_unique<TestProject>(m_dir.path().toStdString());
    std::string error;
    m_session = traclens::testing::buildAndOpenSession(*m_fixture, &error);
    QVERIFY2(m_session, error.c_str());
    m_jobs = std::make_unique<JobController>();
    m_page = std::make_unique<ReportPage>(m_session.get());
    m_page->setJobController(m_jobs.get());
    m_page->resize(1000, 900);
    m_page->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_page.get()));
    QVERIFY(!m_page->evaluation());
}

void TestReportEvaluation::cancelledDialogStartsNothing()
{
    QPushButton *button = runButton(m_page.get());
    QVERIFY(button);
    QVERIFY(button->isEnabled());
    QSignalSpy started(m_page.get(), &ReportPage::evaluationStarted);
    answerDialog({}, false);
    button->click();
    QCOMPARE(started.count(), 0);
    QVERIFY(!m_page->isEvaluating());
    QVERIFY(!m_jobs->isBusy());
}

void TestReportEvaluation::dialogStartsFromTheProjectModel_data()
{
    QTest::addColumn<bool>("calibrating");
    QTest::addColumn<QString>("title");
    QTest::newRow("run evaluation") << false << QStringLiteral("Run Mislabel Evaluation");
    QTest::newRow("calibrate") << true << QStringLiteral("Calibrate the Review Queue");
}

// Run Evaluation, Calibrate and the screenshot tour open the same dialog: the active model's
// network, augmentation and epochs, titled for what it will do.
void TestReportEvaluation::dialogStartsFromTheProjectModel()
{
    QFETCH(bool, calibrating);
    QFETCH(QString, title);
    QWidget parent;
    std::unique_ptr<EvaluationDialog> dialog(m_page->createEvaluationDialog(calibrating, &parent));
    QVERIFY(dialog);
    QCOMPARE(dialog->parentWidget(), &parent);
    QCOMPARE(dialog->windowTitle(), title);
    const EvaluationSettings expected = m_page->projectEvaluationSettings();
    const EvaluationSettings shown = dialog->settings();
    QCOMPARE(int(shown.network), int(expected.network));
    QCOMPARE(int(shown.augmentation), int(expected.augmentation));
    QCOMPARE(shown.epochs, expected.epochs);
    QCOMPARE(shown.noiseRate, EvaluationSettings{}.noiseRate);
    dialog->show();
    auto *note = dialog->findChild<QLabel *>(QStringLiteral("calibrationNote"));
    QVERIFY(note);
    QCOMPARE(note->isVisible(), calibrating);
}

void TestReportEvaluation::evaluationRunsAndIsShown()
{
    const auto labelsBefore = labelsOf(m_fixture->projectPath());
    QVERIFY(!labelsBefore.empty());
    auto history = [&] {
        auto db = ProjectDb::open(m_fixture->projectPath(), ProjectDb::OpenMode::ReadOnly);
        if (!db.ok())
            return qint64(-1);
        auto rows = (*db)->labelHistory();
        return rows.ok() ? qint64(rows->size()) : qint64(-1);
    };
    const qint64 editsBefore = history();

    QSignalSpy started(m_page.get(), &ReportPage::evaluationStarted);
    QSignalSpy finished(m_page.get(), &ReportPage::evaluationFinished);
    QSignalSpy progress(m_jobs.get(), &JobController::progress);
    EvaluationSettings small;
    small.noiseRate = 0.2;
    small.noiseSeed = 3;
    small.adaptive = true; // as `traclens-cli evaluate --adaptive`
    small.cleaningLoop = false;
    QString note = QStringLiteral("(the dialog was not answered)");
    answerDialog(small, true, &note);
    runButton(m_page.get())->click();
    QCOMPARE(started.count(), 1);
    QVERIFY2(note.isEmpty(), qPrintable(note)); // an evaluation changes no default, and says none
    QVERIFY(m_page->isEvaluating());
    QVERIFY(!runButton(m_page.get())->isEnabled());

    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    const Status status = finished.at(0).at(0).value<Status>();
    QVERIFY2(status.isOk(), status.message().c_str());
    QVERIFY(progress.count() > 0);
    QVERIFY(!m_page->isEvaluating());
    QVERIFY(runButton(m_page.get())->isEnabled());

    // The page shows this run's report.
    QVERIFY(m_page->evaluation());
    const EvaluationReport &r = *m_page->evaluation();
    QCOMPARE(r.config.noiseRate, 0.2);
    QCOMPARE(r.config.noiseSeed, uint64_t(3));
    // Trained until accuracy stopped improving, and the report's command says so.
    QVERIFY(r.config.train.adaptive.enabled);
    QVERIFY(!r.epochs.empty());
    QVERIFY2(QString::fromStdString(r.config.command).contains(QStringLiteral("epochs until accuracy stops improving")),
             r.config.command.c_str());
    QVERIFY(!r.flips.empty());
    QVERIFY(r.cleaning.empty());
    auto tables = m_page->findChildren<QTableWidget *>();
    QVERIFY(!tables.isEmpty());
    QTableWidget *recall = tables.first();
    QVERIFY(recall->isVisible());
    QCOMPARE(recall->rowCount(), int(r.rankings.size()));
    QVERIFY(recall->rowCount() > 0);
    bool summaryShown = false;
    for (auto *label : m_page->findChildren<QLabel *>()) {
        QVERIFY2(!label->text().contains(QStringLiteral("traclens-cli")), qPrintable(label->text()));
        QVERIFY2(!label->text().contains(QStringLiteral("docs/")), qPrintable(label->text()));
        // The summary names the kind of noise the run injected (uniform by default) and, with
        // a cross-validation, the noise estimate that chose the default queue.
        summaryShown = summaryShown
                       || (label->text().contains(QStringLiteral("labels moved to another class at random"))
                           && label->text().contains(QStringLiteral("uniform noise, seed 3"))
                           && (r.labelNoise.covered == 0
                               || label->text().contains(QStringLiteral("confident learning estimated"))));
    }
    QVERIFY(summaryShown);
    // The report is in the page's evaluation directory, beside the project, and is found
    // again by a refresh.
    QVERIFY(QFileInfo::exists(QDir(m_page->evaluationDirectory()).filePath("report/report.json")));
    m_page->refresh();
    QVERIFY(m_page->evaluation());

    // The person's project: labels and label history as they were.
    QCOMPARE(labelsOf(m_fixture->projectPath()), labelsBefore);
    QCOMPARE(history(), editsBefore);
}

void TestReportEvaluation::calibrationBecomesTheDefault()
{
    // Calibrate… runs the same evaluation (resumed from the work directory) and records
    // the best measured ranking in the open project, which the session then follows.
    const auto labelsBefore = labelsOf(m_fixture->projectPath());
    QPushButton *calibrate = m_page->findChild<QPushButton *>(QStringLiteral("calibrateButton"));
    QVERIFY(calibrate);
    QVERIFY(calibrate->isEnabled());
    QSignalSpy finished(m_page.get(), &ReportPage::evaluationFinished);
    QSignalSpy changed(m_session.get(), &ProjectSession::defaultRankingChanged);
    EvaluationSettings small;
    small.noiseRate = 0.2;
    small.noiseSeed = 3;
    small.adaptive = true; // as `traclens-cli evaluate --adaptive`
    small.cleaningLoop = false;
    QString note;
    answerDialog(small, true, &note);
    calibrate->click();
    QVERIFY(m_page->isEvaluating());
    QVERIFY(!calibrate->isEnabled());
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
    const Status status = finished.at(0).at(0).value<Status>();
    QVERIFY2(status.isOk(), status.message().c_str());
    QCOMPARE(changed.count(), 1);
    QVERIFY(calibrate->isEnabled());
    // The dialog said what would become the default.
    QVERIFY2(note.contains(QStringLiteral("becomes this project's default review queue")), qPrintable(note));

    auto db = ProjectDb::open(m_fixture->projectPath(), ProjectDb::OpenMode::ReadOnly);
    QVERIFY(db.ok());
    auto stored = storedCalibration(**db);
    QVERIFY(stored.ok() && stored->has_value());
    QVERIFY(m_page->evaluation());
    const RankingEvaluation *best = bestCalibrationRanking(*m_page->evaluation());
    QVERIFY(best);
    QCOMPARE((*stored)->name, best->name);
    QCOMPARE(QFileInfo(QString::fromStdString((*stored)->reportPath)).canonicalFilePath(),
             QFileInfo(QDir(m_page->evaluationDirectory()).filePath("report/report.json")).canonicalFilePath());
    const RankingSpec expected = projectDefaultRanking(**db);
    QCOMPARE(int(m_session->defaultSpec().kind), int(expected.kind));
    QVERIFY(m_session->defaultSpec().checkpoints == expected.checkpoints);
    m_page->refresh();
    auto *line = m_page->findChild<QLabel *>(QStringLiteral("calibrationLine"));
    QVERIFY(line);
    QVERIFY2(line->text().contains(QStringLiteral("This project's default review queue: ")
                                   + QString::fromStdString(best->name)),
             qPrintable(line->text()));
    QVERIFY2(line->text().contains(QStringLiteral("measured on")), qPrintable(line->text()));
    // Only the meta entry was written: labels as they were.
    QCOMPARE(labelsOf(m_fixture->projectPath()), labelsBefore);
}

void TestReportEvaluation::dialogTrainsAsTheModelDid_data()
{
    QTest::addColumn<bool>("hasRecord"); // false: none readable, as for an imported model
    QTest::addColumn<bool>("adaptive");
    QTest::addColumn<int>("epochs");
    QTest::newRow("trained until accuracy stopped improving, 6 epochs") << true << true << 6;
    QTest::newRow("a fixed 2 epochs") << true << false << 2;
    QTest::newRow("no training record: adaptive, no count known")
        << false << true << kProvisionalCrossValidationEpochs;
}

// A model trained until its accuracy stopped improving is evaluated the same way (the noisy
// labels may want another count), expecting the count it settled on; a fixed count stays fixed.
void TestReportEvaluation::dialogTrainsAsTheModelDid()
{
    QFETCH(bool, hasRecord);
    QFETCH(bool, adaptive);
    QFETCH(int, epochs);
    ProjectDb &db = m_session->db();
    auto active = db.activeModel();
    QVERIFY(active.ok() && active->has_value());
    auto before = storedTrainingRecord(db, **active);
    QVERIFY(before.ok());
    if (hasRecord) {
        TrainingRecord record = before->value_or(TrainingRecord{});
        record.adaptive = adaptive;
        record.stop = adaptive ? TrainingStop::Plateau : TrainingStop::FixedEpochs;
        record.epochs = epochs;
        QVERIFY(storeTrainingRecord(db, **active, record).isOk());
    } else {
        QVERIFY(db.setMeta("training:" + std::to_string(**active), "not a training record").isOk());
    }

    const EvaluationSettings expected = m_page->projectEvaluationSettings();
    QCOMPARE(expected.adaptive, adaptive);
    QCOMPARE(expected.epochs, epochs);
    QCOMPARE(expected.expectedEpochs, adaptive && hasRecord ? epochs : 0);
    std::unique_ptr<EvaluationDialog> dialog(m_page->createEvaluationDialog(true, nullptr));
    QCOMPARE(dialog->settings().adaptive, adaptive);
    // The estimate names the count only when the project's model settled on one.
    QString estimate;
    for (auto *label : dialog->findChildren<QLabel *>())
        if (label->text().startsWith(QStringLiteral("This project has")))
            estimate = label->text();
    QCOMPARE(estimate.contains("as this project's model did"), adaptive && hasRecord);
    QCOMPARE(estimate.contains("with at most"), adaptive && !hasRecord);
    EvaluationConfig config;
    dialog->settings().applyTo(&config);
    QCOMPARE(config.train.adaptive.enabled, adaptive);

    if (before->has_value())
        QVERIFY(storeTrainingRecord(db, **active, **before).isOk());
}

void TestReportEvaluation::cleanupTestCase()
{
    m_page.reset();
    if (m_jobs)
        m_jobs->shutdown();
    m_jobs.reset();
    m_session.reset();
}

QTEST_MAIN(TestReportEvaluation)
#include "test_reportevaluation.moc"
