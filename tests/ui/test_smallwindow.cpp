// The main window fits a 1280×720 screen with a project open: on every page the window's
// minimum size leaves room for a window frame and a panel, and at 1280×720 the page's key
// controls are shown whole, inside the window, without scrolling to them.

#include "datasetbrowserpage.h"
#include "influencepage.h"
#include "mainwindow.h"
#include "reviewpage.h"
#include "testproject.h"
#include "tileview.h"

#include <QAbstractButton>
#include <QListWidget>
#include <QSettings>
#include <QSignalSpy>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

using namespace traclens;
using traclens::testing::TestProject;

namespace {
// 1280×720 less a title bar and a little for a panel or dock.
constexpr int kMaxWidth = 1280;
constexpr int kMaxHeight = 720 - 40;

// The part of `w` that is on screen: its rectangle clipped by every ancestor up to
// `window`, in window coordinates.
QRect shownRect(const QWidget *w, const QWidget *window)
{
    QRect r(w->mapTo(window, QPoint(0, 0)), w->size());
    for (const QWidget *p = w->parentWidget(); p && p != window; p = p->parentWidget())
        r &= QRect(p->mapTo(window, QPoint(0, 0)), p->size());
    return r & window->rect();
}
} // namespace

class TestSmallWindow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void pageFits_data();
    void pageFits();
    void welcomeFits();

private:
    QTemporaryDir m_dir;
    std::unique_ptr<TestProject> m_fixture;
};

void TestSmallWindow::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName("TracLensTest");
    QCoreApplication::setApplicationName("TracLensTest");
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath("settings"));
    QSettings().clear();
    // Ten classes with long-ish names, like Fashion-MNIST: ten relabel buttons.
    traclens::testing::SyntheticSpec spec;
    spec.classes = 10;
    spec.trainPerClass = 6;
    spec.testPerClass = 2;
    m_fixture = std::make_unique<TestProject>(m_dir.filePath("fixture").toStdString(), spec);
    QVERIFY(m_fixture->build(TestProject::Stage::Computed).isOk());
}

void TestSmallWindow::pageFits_data()
{
    QTest::addColumn<QString>("page");     // sidebar entry
    QTest::addColumn<QStringList>("controls"); // object names that must be shown whole
    QStringList relabel;
    for (int c = 0; c < 10; ++c)
        relabel << QStringLiteral("relabelButton%1").arg(c);
    QTest::newRow("browse") << "Browse" << QStringList{"labelEditor", "showInfluenceButton", "exampleGrid"};
    QTest::newRow("influence") << "Influence"
                               << QStringList{"scoringRaw",      "scoringNormalised", "historyBack",
                                              "historyForward",  "neighbourCount",    "grid-proponents",
                                              "grid-opponents",  "grid-nearest",      "grid-farthest"};
    QTest::newRow("review") << "Review" << (QStringList{"keepButton", "skipButton", "openInfluenceButton"} + relabel);
    QTest::newRow("charts") << "Charts" << QStringList{};
    QTest::newRow("clusters") << "Clusters" << QStringList{};
    QTest::newRow("report") << "Report" << QStringList{};
}

void TestSmallWindow::pageFits()
{
    QFETCH(QString, page);
    QFETCH(QStringList, controls);

    MainWindow w;
    QSignalSpy ready(&w, &MainWindow::engineReady);
    QVERIFY(w.openProject(QString::fromStdString(m_fixture->projectPath())));
    QVERIFY(ready.wait(120000));
    auto *sidebar = w.findChild<QListWidget *>("sidebar");
    QVERIFY(sidebar);
    const auto items = sidebar->findItems(page, Qt::MatchStartsWith);
    QCOMPARE(items.size(), 1);
    sidebar->setCurrentItem(items.front());
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QApplication::processEvents();

    const QSize min = w.minimumSizeHint().expandedTo(w.minimumSize());
    // Every page counts: the pages share one stack, whose minimum is the largest page's.
    QString pages;
    for (int i = 0; i < sidebar->count(); ++i) {
        sidebar->setCurrentRow(i);
        const QWidget *shown = w.findChild<QStackedWidget *>("pages")->currentWidget();
        pages += QStringLiteral(" %1: %2×%3").arg(sidebar->item(i)->text())
                     .arg(shown->minimumSizeHint().width()).arg(shown->minimumSizeHint().height());
    }
    sidebar->setCurrentItem(items.front());
    QVERIFY2(min.width() <= kMaxWidth && min.height() <= kMaxHeight,
             qPrintable(QStringLiteral("minimum size %1×%2;%3").arg(min.width()).arg(min.height()).arg(pages)));

    w.resize(1280, 720);
    QTRY_COMPARE(w.size(), QSize(1280, 720));
    QTest::qWait(50); // let layouts and the tile grids settle
    for (const QString &name : controls) {
        auto *c = w.findChild<QWidget *>(name);
        QVERIFY2(c, qPrintable(name));
        QVERIFY2(c->isVisible(), qPrintable(name + " is hidden"));
        const QRect full(c->mapTo(&w, QPoint(0, 0)), c->size());
        QVERIFY2(!full.isEmpty(), qPrintable(name + " has no size"));
        QVERIFY2(shownRect(c, &w) == full,
                 qPrintable(QStringLiteral("%1 at (%2,%3 %4×%5) is cut off in the 1280×720 window")
                                .arg(name)
                                .arg(full.x())
                                .arg(full.y())
                                .arg(full.width())
                                .arg(full.height())));
    }
}

void TestSmallWindow::welcomeFits()
{
    MainWindow w;
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    const QSize min = w.minimumSizeHint().expandedTo(w.minimumSize());
    QVERIFY2(min.width() <= kMaxWidth && min.height() <= kMaxHeight,
             qPrintable(QStringLiteral("minimum size %1×%2").arg(min.width()).arg(min.height())));
}

QTEST_MAIN(TestSmallWindow)
#include "test_smallwindow.moc"
