// The main window end to end on a small generated dataset: a new project is imported,
// trained and computed in the background and ends with every page usable; recent
// projects persist; a file that is not a project, a project from a newer TracLens and a
// missing dataset each end in a dialog that says what is wrong and what to do.

#include "evaluation/calibration.h"
#include "datasetbrowserpage.h"
#include "examplelistmodel.h"
#include "influencepage.h"
#include "appsettings.h"
#include "jobcontroller.h"
#include "mainwindow.h"
#include "neighbourlistmodel.h"
#include "store/projectdb.h"
#include "projectsession.h"
#include "reviewpage.h"
#include "testproject.h"

#include <QComboBox>
#include <QFile>
#include <QMessageBox>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>


using namespace traclens;
using traclens::testing::TestProject;

class TestMainWindow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void newProjectRunsToTheEnd();
    void reopeningResumesAndKeepsEdits();
    void calibratedDefaultArrivesFromWorker();
    void notAProjectShowsDialog();
    void newerSchemaShowsDialog();
    void missingDatasetShowsDialog();

private:
    QMessageBox *failureDialog(MainWindow &w);
    ProjectPlan tinyPlan() const;

    QTemporaryDir m_dir;
    std::unique_ptr<TestProject> m_fixture;
};

void TestMainWindow::initTestCase()
{
    // Settings and data go to a throw-away location of this process: test runs in
    // parallel (other build trees, other people) must not see each other's recent files.
    QVERIFY(m_dir.isValid());
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName("TracLensTest");
    QCoreApplication::setApplicationName("TracLensTest");
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath("settings"));
    QSettings().clear();
    m_fixture = std::make_unique<TestProject>(m_dir.filePath("fixture").toStdString());
    QVERIFY(m_fixture->build(TestProject::Stage::Images).isOk());
}

ProjectPlan TestMainWindow::tinyPlan() const
{
    ProjectPlan plan;
    plan.datasetPath = QString::fromStdString(m_fixture->datasetPath());
    plan.modelSource = ProjectPlan::ModelSource::TrainBuiltin;
    plan.train = TestProject::tinyTrainConfig();
    plan.modelName = "tiny";
    return plan;
}

QMessageBox *TestMainWindow::failureDialog(MainWindow &w)
{
    return w.findChild<QMessageBox *>("failureDialog");
}

void TestMainWindow::newProjectRunsToTheEnd()
{
    const QString path = QString::fromStdString(m_fixture->projectPath());
    MainWindow w;
    w.show();
    QSignalSpy ready(&w, &MainWindow::engineReady);
    QVERIFY(w.createProject(path, tinyPlan()));
    QVERIFY(w.session());
    QVERIFY(ready.wait(240000));
    QVERIFY(!failureDialog(w));

    const auto &spec = m_fixture->spec();
    QCOMPARE(w.browserPage()->model()->rowCount(), spec.classes * (spec.trainPerClass + spec.testPerClass));
    QVERIFY(w.session()->engine());
    // Self-influence came with the engine, read on the worker after the computation.
    QVERIFY(w.session()->hasSelfInfluence());
    QCOMPARE(qint64(w.session()->selfInfluenceRanking().size()), qint64(spec.classes * spec.trainPerClass));
    // A representative query was chosen and its grids filled.
    QVERIFY(w.influencePage()->queryId() >= 0);
    QTRY_VERIFY_WITH_TIMEOUT(w.influencePage()->gridModel(InfluencePage::Proponents)->rowCount() > 0, 10000);
    QCOMPARE(w.reviewPage()->queueLength(), spec.classes * spec.trainPerClass);
    QVERIFY(w.reviewPage()->currentId() >= 0);
    QCOMPARE(AppSettings::recentProjects().value(0), QFileInfo(path).absoluteFilePath());

    // Relabel from the review queue, then close the window (the edit must survive).
    const qint64 id = w.reviewPage()->currentId();
    const int label = (w.session()->example(id)->currentLabel + 1) % w.session()->numClasses();
    w.reviewPage()->relabel(label);
    w.close();
    auto db = ProjectDb::open(path.toStdString(), ProjectDb::OpenMode::ReadOnly);
    QVERIFY(db.ok());
    QCOMPARE(db.value()->example(id)->currentLabel, label);
}

void TestMainWindow::reopeningResumesAndKeepsEdits()
{
    const QString path = QString::fromStdString(m_fixture->projectPath());
    MainWindow w;
    QSignalSpy ready(&w, &MainWindow::engineReady);
    QSignalSpy steps(w.jobs(), &JobController::stepFinished);
    QVERIFY(w.openProject(path));
    QVERIFY(ready.wait(60000));
    // Nothing to redo but loading the engine.
    QCOMPARE(steps.count(), 1);
    QCOMPARE(steps.at(0).at(1).value<JobKind>(), JobKind::LoadEngine);
    QCOMPARE(w.session()->editedCount(), 1);
}

void TestMainWindow::calibratedDefaultArrivesFromWorker()
{
    // A calibration chose the margin with a policy the loaded engine cannot rank by: the
    // queue shows a stand-in at once and switches when the worker's order arrives.
    const QString path = QString::fromStdString(m_fixture->projectPath());
    const RankingSpec margin{RankingKind::Margin, CheckpointPolicy{0, 0, CheckpointPolicy::Weighting::Uniform}, 1};
    {
        auto db = ProjectDb::open(path.toStdString(), ProjectDb::OpenMode::ReadWrite);
        QVERIFY(db.ok());
        EvaluationReport report;
        report.config.budgets = {0.10};
        RankingEvaluation best;
        best.spec = margin;
        best.name = margin.toString();
        best.recall = {0.9};
        report.rankings = {best};
        QVERIFY(recordCalibration(**db, report, "report.json").isOk());
    }
    MainWindow w;
    QSignalSpy ready(&w, &MainWindow::engineReady);
    QVERIFY(w.openProject(path));
    QVERIFY(ready.wait(60000));
    QCOMPARE(int(w.session()->defaultSpec().kind), int(RankingKind::Margin));
    QTRY_VERIFY_WITH_TIMEOUT(!w.session()->defaultOrderPending(), 30000);
    QCOMPARE(w.session()->reviewOrderKind(), int(RankingKind::Margin));
    QVERIFY(w.session()->reviewOrderIsDefault());
    auto expected = rankTrainingExamples(w.session()->db(), *w.session()->modelId(), margin);
    QVERIFY(expected.ok());
    std::vector<qint64> ids;
    for (const RankedExample &r : *expected)
        ids.push_back(r.exampleId);
    QCOMPARE(w.session()->reviewQueue(), ids);
    auto *order = w.findChild<ReviewPage *>()->findChild<QComboBox *>();
    QVERIFY(order);
    QCOMPARE(order->itemData(0).toInt(), int(RankingKind::Margin));
    QCOMPARE(order->currentIndex(), 0);
    {
        // Leave the fixture with the built-in default for the tests after this one.
        w.closeProject();
        auto db = ProjectDb::open(path.toStdString(), ProjectDb::OpenMode::ReadWrite);
        QVERIFY(db.ok());
        EvaluationReport report;
        report.config.budgets = {0.10};
        RankingEvaluation loss;
        loss.spec = defaultRanking();
        loss.name = loss.spec.toString();
        loss.recall = {0.9};
        report.rankings = {loss};
        QVERIFY(recordCalibration(**db, report, "report.json").isOk());
    }
}

void TestMainWindow::notAProjectShowsDialog()
{
    const QString path = m_dir.filePath("shopping.traclens");
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("eggs, milk, bread\n");
    f.close();
    MainWindow w;
    QVERIFY(!w.openProject(path));
    QMessageBox *box = failureDialog(w);
    QVERIFY(box);
    QCOMPARE(box->windowTitle(), QStringLiteral("Could not open the project"));
    QVERIFY(box->text().contains("shopping.traclens"));
    QVERIFY(!box->informativeText().isEmpty());
    QVERIFY(!w.session());
    // Untouched.
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll(), QByteArray("eggs, milk, bread\n"));
}

void TestMainWindow::newerSchemaShowsDialog()
{
    const QString path = m_dir.filePath("future.traclens");
    {
        auto db = ProjectDb::open(path.toStdString(), ProjectDb::OpenMode::Create);
        QVERIFY(db.ok());
        QVERIFY(db.value()->setMeta("schema_version", std::to_string(kSchemaVersion + 5)).isOk());
    }
    MainWindow w;
    QVERIFY(!w.openProject(path));
    QMessageBox *box = failureDialog(w);
    QVERIFY(box);
    QVERIFY2(box->informativeText().contains("newer version of TracLens"), qPrintable(box->informativeText()));
}

void TestMainWindow::missingDatasetShowsDialog()
{
    ProjectPlan plan = tinyPlan();
    plan.datasetPath = m_dir.filePath("no-such-folder");
    MainWindow w;
    QSignalSpy finished(w.jobs(), &JobController::finished);
    QVERIFY(w.createProject(m_dir.filePath("broken.traclens"), plan));
    QVERIFY(finished.wait(60000));
    QVERIFY(!finished.at(0).at(2).value<Status>().isOk());
    QTRY_VERIFY(failureDialog(w) != nullptr);
    QMessageBox *box = failureDialog(w);
    QCOMPARE(box->windowTitle(), QStringLiteral("Could not import the dataset"));
    QVERIFY(box->informativeText().contains("sub-folder per class"));
    // The project itself stays open for another try.
    QVERIFY(w.session());
}

QTEST_MAIN(TestMainWindow)
#include "test_mainwindow.moc"
