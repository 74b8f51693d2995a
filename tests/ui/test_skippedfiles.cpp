// Skipped files are visible: importing a folder with a zero-byte PNG and a text file
// renamed .png reports "2 skipped — Show…" in the status bar, and Project ▸ Skipped
// Files… lists each file with its reason; "Copy Paths" gives the full paths.

#include "jobcontroller.h"
#include "mainwindow.h"
#include "projectplan.h"
#include "skippedfilesdialog.h"
#include "syntheticimages.h"

#include <QAction>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

using namespace traclens;

class TestSkippedFiles : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void importReportsSkippedFiles_data();
    void importReportsSkippedFiles();

private:
    QTemporaryDir m_dir;
    QString m_data;
};

void TestSkippedFiles::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName("TracLensTest");
    QCoreApplication::setApplicationName("TracLensTestSkipped");
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath("settings"));
    m_data = m_dir.filePath("data");
    traclens::testing::SyntheticSpec spec;
    spec.trainPerClass = 6;
    spec.testPerClass = 2;
    traclens::testing::writeSyntheticImageFolder(m_data.toStdString(), spec);
    QFile zero(m_data + "/train/" + QString::fromStdString(traclens::testing::className(0)) + "/zero.png");
    QVERIFY(zero.open(QIODevice::WriteOnly));
    zero.close();
    QFile text(m_data + "/train/" + QString::fromStdString(traclens::testing::className(1)) + "/notes.png");
    QVERIFY(text.open(QIODevice::WriteOnly));
    text.write("this is not an image\n");
    text.close();
}

void TestSkippedFiles::importReportsSkippedFiles_data()
{
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("reason"); // a regular expression the reason must match
    QTest::newRow("zero-byte PNG") << "zero.png" << "zero-byte";
    QTest::newRow("text file renamed .png") << "notes.png" << "\\w+";
}

void TestSkippedFiles::importReportsSkippedFiles()
{
    QFETCH(QString, file);
    QFETCH(QString, reason);

    MainWindow w;
    w.show();
    ProjectPlan plan;
    plan.datasetPath = m_data;
    QSignalSpy finished(w.jobs(), &JobController::finished);
    const QString project = m_dir.filePath(QString("p-%1.traclens").arg(QTest::currentDataTag()).replace(' ', '-'));
    QVERIFY(w.createProject(project, plan));
    QVERIFY(finished.wait(60000));
    QTRY_COMPARE(w.skippedCount(), 2);

    // The completion report: a link in the status bar that opens the list.
    auto *badge = w.findChild<QLabel *>("skippedBadge");
    QVERIFY(badge);
    QVERIFY(badge->isVisible());
    QVERIFY2(badge->text().contains("2 skipped"), qPrintable(badge->text()));
    emit badge->linkActivated("skipped");
    auto *fromBadge = w.findChild<SkippedFilesDialog *>("skippedFilesDialog");
    QVERIFY(fromBadge);
    QCOMPARE(fromBadge->table()->rowCount(), 2);
    fromBadge->close();
    QTRY_VERIFY(!w.findChild<SkippedFilesDialog *>("skippedFilesDialog"));

    // Project ▸ Skipped Files… shows the same list.
    QAction *menuAction = w.findChild<QAction *>("skippedAction");
    QVERIFY(menuAction);
    QVERIFY(menuAction->isEnabled());
    menuAction->trigger();
    auto *dialog = w.findChild<SkippedFilesDialog *>("skippedFilesDialog");
    QVERIFY(dialog);
    QVERIFY(dialog->isVisible());
    QTableWidget *table = dialog->table();
    QCOMPARE(table->rowCount(), 2);
    int row = -1;
    for (int r = 0; r < table->rowCount(); ++r)
        if (table->item(r, 0)->text().endsWith("/" + file))
            row = r;
    QVERIFY2(row >= 0, qPrintable(dialog->allText()));
    QVERIFY2(QRegularExpression(reason).match(table->item(row, 1)->text()).hasMatch(),
             qPrintable(table->item(row, 1)->text()));
    // Copyable: full paths of files that exist, and path + tab + reason.
    const QStringList paths = dialog->pathsText().split('\n');
    QCOMPARE(paths.size(), 2);
    for (const QString &path : paths)
        QVERIFY2(QFileInfo::exists(path), qPrintable(path));
    QVERIFY(dialog->allText().contains(file + "\t" + table->item(row, 1)->text()));
    w.closeProject();
}

QTEST_MAIN(TestSkippedFiles)
#include "test_skippedfiles.moc"
