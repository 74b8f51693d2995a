// The main window on a project that another TracLens has open for writing: opening it
// fails as busy with a dialog whose "Open Read-Only" button opens it read-only; then
// browsing and influence queries work, the window says "read-only", the actions that
// would write are off, the worker refuses writing jobs, and every kind of edit is refused
// with a dialog that says why — and the project file stays byte for byte the same.
//
// The other TracLens is stood in for by a child process holding the project's writer
// lock (flock(1) on "<project>.lock", the lock core/store/projectlock.h takes): the lock is per
// process, so this test process could not hold it against itself.

#include "influencepage.h"
#include "jobcontroller.h"
#include "mainwindow.h"
#include "neighbourlistmodel.h"
#include "store/projectdb.h"
#include "store/projectlock.h"
#include "projectsession.h"
#include "reviewpage.h"
#include "testproject.h"

#include <QAction>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QMessageBox>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QtTest>

using namespace traclens;
using traclens::testing::TestProject;

class TestReadOnlyWindow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void busyProjectOffersReadOnly();
    void editIsRefused_data();
    void editIsRefused();
    void cleanupTestCase();

private:
    static QMessageBox *failureDialog(MainWindow &w) { return w.findChild<QMessageBox *>("failureDialog"); }
    static QAction *action(MainWindow &w, const QString &text);
    QByteArray projectBytes() const;

    QTemporaryDir m_dir;
    std::unique_ptr<TestProject> m_fixture;
    QString m_project;
    QProcess m_holder;
};

void TestReadOnlyWindow::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName("TracLensTest");
    QCoreApplication::setApplicationName("TracLensReadOnlyTest");
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath("settings"));
    QSettings().clear();
    m_fixture = std::make_unique<TestProject>(m_dir.filePath("fixture").toStdString());
    const Status built = m_fixture->build(TestProject::Stage::Computed);
    QVERIFY2(built.isOk(), built.message().c_str());
    m_project = QFileInfo(QString::fromStdString(m_fixture->projectPath())).canonicalFilePath();

    // The writer: takes the lock, says so, and keeps it until killed. The shell becomes
    // `sleep` (exec) holding the locked descriptor, so killing the QProcess frees the lock
    // (with `flock FILE COMMAND` the lock would live on in flock's child).
    const QString lockFile = QString::fromStdString(ProjectLock::lockPathFor(m_project.toStdString()));
    m_holder.start("/bin/sh", {"-c", "exec 9>>\"$1\" && flock --nonblock 9 && echo locked && exec sleep 600", "sh",
                               lockFile});
    QVERIFY2(m_holder.waitForStarted(10000), "/bin/sh is needed to hold the writer lock");
    QByteArray said;
    const auto lockedOrGone = [&] {
        said += m_holder.readAllStandardOutput(); // QTRY evaluates more than once: keep what was read
        return said.contains("locked") || m_holder.state() == QProcess::NotRunning;
    };
    QTRY_VERIFY2_WITH_TIMEOUT(lockedOrGone(), "flock did not report the lock", 10000);
    QVERIFY2(m_holder.state() == QProcess::Running, m_holder.readAllStandardError().constData());
    // The lock really is held against a writer of this process.
    auto writer = ProjectDb::open(m_project.toStdString(), ProjectDb::OpenMode::ReadWrite);
    QVERIFY(!writer.ok());
    QCOMPARE(writer.status().code(), Status::Code::Busy);
}

QAction *TestReadOnlyWindow::action(MainWindow &w, const QString &text)
{
    for (QAction *a : w.findChildren<QAction *>())
        if (a->text() == text)
            return a;
    return nullptr;
}

QByteArray TestReadOnlyWindow::projectBytes() const
{
    QByteArray all;
    for (const QString &suffix : {QString(), QStringLiteral("-wal")}) {
        QFile f(m_project + suffix);
        if (f.open(QIODevice::ReadOnly))
            all += f.readAll();
    }
    return all;
}

void TestReadOnlyWindow::busyProjectOffersReadOnly()
{
    const QByteArray before = projectBytes();
    MainWindow w;
    w.show();
    QSignalSpy ready(&w, &MainWindow::engineReady);
    QVERIFY(!w.openProject(m_project));
    QVERIFY(!w.session());
    QMessageBox *box = failureDialog(w);
    QVERIFY(box);
    QVERIFY2(box->text().contains("open in another TracLens"), qPrintable(box->text()));
    auto *button = box->findChild<QPushButton *>("openReadOnlyButton");
    QVERIFY(button);
    QCOMPARE(button->text(), QStringLiteral("Open Read-Only"));
    button->click();

    QTRY_VERIFY_WITH_TIMEOUT(w.session() != nullptr, 10000);
    QVERIFY(w.session()->isReadOnly());
    QVERIFY2(w.windowTitle().contains("read-only"), qPrintable(w.windowTitle()));
    auto *badge = w.findChild<QLabel *>("readOnlyBadge");
    QVERIFY(badge && badge->isVisible());

    // Influence queries work: the engine loads on the worker's read-only connection.
    QVERIFY(ready.wait(60000));
    QVERIFY(w.session()->engine());
    QVERIFY(w.session()->hasSelfInfluence());
    QVERIFY(w.influencePage()->queryId() >= 0);
    QTRY_VERIFY_WITH_TIMEOUT(w.influencePage()->gridModel(InfluencePage::Proponents)->rowCount() > 0, 10000);
    QVERIFY(!failureDialog(w));

    // The actions that write the project are off.
    for (const char *text : {"&Train Model…", "&Import Model…", "&Compute Influence", "&Re-import Dataset",
                             "&Retrain with My Corrections", "Cross-&validate…", "Continue &Setup"}) {
        QAction *a = action(w, QString::fromUtf8(text));
        QVERIFY2(a, text);
        QVERIFY2(!a->isEnabled(), text);
    }
    QVERIFY(action(w, "&Export Labels…")->isEnabled());

    // A writing job reaching the worker anyway is refused, not attempted.
    QSignalSpy finished(w.jobs(), &JobController::finished);
    const qint64 job = w.jobs()->computeFactors(m_project);
    QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() && finished.last().at(0).toLongLong() == job, 30000);
    const Status refused = finished.last().at(2).value<Status>();
    QCOMPARE(refused.code(), Status::Code::Unsupported);
    QVERIFY2(QString::fromStdString(refused.message()).contains("read-only"), refused.message().c_str());
    w.close();
    QVERIFY(projectBytes() == before);
}

void TestReadOnlyWindow::editIsRefused_data()
{
    QTest::addColumn<QString>("edit");
    QTest::newRow("relabel") << "relabel";
    QTest::newRow("keep label") << "keep";
    QTest::newRow("skip") << "skip";
}

void TestReadOnlyWindow::editIsRefused()
{
    QFETCH(QString, edit);
    const QByteArray before = projectBytes();
    MainWindow w;
    w.show();
    QSignalSpy ready(&w, &MainWindow::engineReady);
    QVERIFY(w.openProjectReadOnly(m_project));
    QVERIFY(ready.wait(60000));
    const qint64 id = w.reviewPage()->currentId();
    QVERIFY(id >= 0);
    const ExampleRow row = *w.session()->example(id);

    if (edit == "relabel")
        w.reviewPage()->relabel((row.currentLabel + 1) % w.session()->numClasses());
    else if (edit == "keep")
        w.reviewPage()->keepLabel();
    else
        w.reviewPage()->skip();

    QTRY_VERIFY(failureDialog(w));
    QMessageBox *box = failureDialog(w);
    QVERIFY2(box->text().contains("read-only"), qPrintable(box->text()));
    QVERIFY2(box->informativeText().contains("read-only"), qPrintable(box->informativeText()));
    // Nothing to undo, the example as it was, on screen and in the file.
    QCOMPARE(w.session()->undoStack()->count(), 0);
    QCOMPARE(w.session()->example(id)->currentLabel, row.currentLabel);
    QCOMPARE(int(w.session()->example(id)->review), int(row.review));
    QCOMPARE(w.reviewPage()->currentId(), id);
    w.close();
    QVERIFY(projectBytes() == before);
    auto db = ProjectDb::open(m_project.toStdString(), ProjectDb::OpenMode::ReadOnly);
    QVERIFY(db.ok());
    QCOMPARE(db.value()->example(id)->currentLabel, row.currentLabel);
    QCOMPARE(int(db.value()->example(id)->review), int(row.review));
    QVERIFY(db.value()->labelHistory()->empty());
}

void TestReadOnlyWindow::cleanupTestCase()
{
    if (m_holder.state() != QProcess::NotRunning) {
        m_holder.kill();
        m_holder.waitForFinished(5000);
    }
}

QTEST_MAIN(TestReadOnlyWindow)
#include "test_readonlywindow.moc"
