// Everything is reachable from menus and keys: View has an action per page with
// Ctrl+1 … Ctrl+6 that switches to it; Help opens the guide (pages, raw vs normalised,
// the scores, the cluster words) and the keyboard map.

#include "helpdialog.h"
#include "mainwindow.h"
#include "testproject.h"

#include <QAction>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTextBrowser>
#include <QtTest>

using namespace traclens;
using traclens::testing::TestProject;

class TestMenus : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void viewMenuReachesEveryPage_data();
    void viewMenuReachesEveryPage();
    void helpDialogs_data();
    void helpDialogs();
    void cleanupTestCase();

private:
    QTemporaryDir m_dir;
    std::unique_ptr<TestProject> m_fixture;
    std::unique_ptr<MainWindow> m_window;
};

void TestMenus::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName("TracLensTest");
    QCoreApplication::setApplicationName("TracLensTestMenus");
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath("settings"));
    m_fixture = std::make_unique<TestProject>(m_dir.filePath("fixture").toStdString());
    QVERIFY(m_fixture->build(TestProject::Stage::Imported).isOk());
    m_window = std::make_unique<MainWindow>();
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    QVERIFY(m_window->openProject(QString::fromStdString(m_fixture->projectPath())));
}

void TestMenus::cleanupTestCase() { m_window.reset(); }

void TestMenus::viewMenuReachesEveryPage_data()
{
    QTest::addColumn<int>("page");
    QTest::addColumn<QString>("pageClass");
    QTest::newRow("Browse") << int(MainWindow::BrowsePage) << "traclens::DatasetBrowserPage";
    QTest::newRow("Influence") << int(MainWindow::InfluenceView) << "traclens::InfluencePage";
    QTest::newRow("Review") << int(MainWindow::ReviewView) << "traclens::ReviewPage";
    QTest::newRow("Charts") << int(MainWindow::ChartsView) << "traclens::ChartsPage";
    QTest::newRow("Clusters") << int(MainWindow::ClustersView) << "traclens::ClusterPage";
    QTest::newRow("Report") << int(MainWindow::ReportView) << "traclens::ReportPage";
}

void TestMenus::viewMenuReachesEveryPage()
{
    QFETCH(int, page);
    QFETCH(QString, pageClass);
    MainWindow &w = *m_window;
    QCOMPARE(int(MainWindow::PageCount), 6);
    QAction *action = w.findChild<QAction *>(QString("page%1Action").arg(page));
    QVERIFY(action);
    QVERIFY(action->isEnabled());
    const QKeySequence key(Qt::CTRL | (Qt::Key_1 + page));
    QCOMPARE(action->shortcut(), key);

    auto pageWidget = [&]() -> QWidget * {
        for (QWidget *child : w.findChildren<QWidget *>())
            if (pageClass == child->metaObject()->className())
                return child;
        return nullptr;
    };
    QVERIFY(pageWidget());

    // Start elsewhere, then the menu action.
    w.showPage(page == MainWindow::BrowsePage ? MainWindow::ReportView : MainWindow::BrowsePage);
    QVERIFY(!pageWidget()->isVisible());
    action->trigger();
    QCOMPARE(int(w.currentPage()), page);
    QVERIFY(pageWidget()->isVisible());

    // And the key, as a person presses it.
    w.showPage(page == MainWindow::BrowsePage ? MainWindow::ReportView : MainWindow::BrowsePage);
    w.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&w));
    QTest::keySequence(&w, key);
    QTRY_COMPARE(int(w.currentPage()), page);
    QVERIFY(pageWidget()->isVisible());
}

void TestMenus::helpDialogs_data()
{
    QTest::addColumn<QString>("action");
    QTest::addColumn<QString>("dialog");
    QTest::addColumn<QStringList>("terms");
    QTest::newRow("guide") << "guideAction" << "guideDialog"
                           << QStringList{"Browse", "Influence", "Review queue", "Charts", "Clusters", "Report",
                                          "Raw", "Normalised", "high-loss", "lookalikes", "Self-influence",
                                          "Loss", "Margin", "k chosen by silhouette", "Cluster scores", "Width"};
    QTest::newRow("keyboard") << "keyboardAction" << "keyboardDialog"
                              << QStringList{"Ctrl+1", "Ctrl+6", "Ctrl+F", "Shift+F10", "Alt+Left", "0 … 9"};
}

void TestMenus::helpDialogs()
{
    QFETCH(QString, action);
    QFETCH(QString, dialog);
    QFETCH(QStringList, terms);
    MainWindow &w = *m_window;
    QAction *a = w.findChild<QAction *>(action);
    QVERIFY(a);
    a->trigger();
    auto *d = w.findChild<HelpDialog *>(dialog);
    QVERIFY(d);
    QVERIFY(d->isVisible());
    const QString text = d->browser()->toPlainText();
    for (const QString &term : terms)
        QVERIFY2(text.contains(term), qPrintable(term));
    d->close();
    QTRY_VERIFY(!w.findChild<HelpDialog *>(dialog));
}

QTEST_MAIN(TestMenus)
#include "test_menus.moc"
