// The tile menu: relabelling an example from an influence-view tile's context menu goes
// through the undo stack and into the project file (read back on a second, read-only
// connection), and undo restores it; the tile keys act on the current tile; Browse finds
// an example by id and by file name.

#include "datasetbrowserpage.h"
#include "exampleactions.h"
#include "influencepage.h"
#include "itemroles.h"
#include "neighbourlistmodel.h"
#include "store/projectdb.h"
#include "projectsession.h"
#include "sessionfixture.h"
#include "testproject.h"
#include "tileview.h"

#include <QAction>
#include <QMenu>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QtTest>

#include <memory>

using namespace traclens;
using traclens::testing::TestProject;

class TestExampleActions : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void relabelFromInfluenceTile_data();
    void relabelFromInfluenceTile();
    void keysActOnCurrentTile();
    void readOnlySessionRefusesEdits();
    void browseFindsByIdAndFileName_data();
    void browseFindsByIdAndFileName();
    void cleanupTestCase();

private:
    int labelInFile(qint64 id) const;
    qint64 firstTestExample() const;

    QTemporaryDir m_dir;
    std::unique_ptr<TestProject> m_fixture;
    std::unique_ptr<ProjectSession> m_session;
};

void TestExampleActions::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_fixture = std::make_unique<TestProject>(m_dir.path().toStdString());
    std::string error;
    m_session = traclens::testing::buildAndOpenSession(*m_fixture, &error);
    QVERIFY2(m_session, error.c_str());
}

void TestExampleActions::cleanupTestCase() { m_session.reset(); }

int TestExampleActions::labelInFile(qint64 id) const
{
    // A connection of its own: what another process would read from the file.
    auto db = ProjectDb::open(m_fixture->projectPath(), ProjectDb::OpenMode::ReadOnly);
    if (!db.ok())
        return -1;
    auto row = db.value()->example(id);
    return row.ok() ? row->currentLabel : -1;
}

qint64 TestExampleActions::firstTestExample() const
{
    for (const ExampleRow &row : m_session->examples())
        if (row.split == Split::Test)
            return row.id;
    return -1;
}

void TestExampleActions::relabelFromInfluenceTile_data()
{
    QTest::addColumn<int>("grid");
    QTest::newRow("proponent") << int(InfluencePage::Proponents);
    QTest::newRow("opponent") << int(InfluencePage::Opponents);
}

void TestExampleActions::relabelFromInfluenceTile()
{
    QFETCH(int, grid);
    QWidget window;
    new ExampleActions(m_session.get(), &window);
    auto *page = new InfluencePage(m_session.get(), &window);
    page->setQuery(firstTestExample());
    NeighbourListModel *model = page->gridModel(InfluencePage::Grid(grid));
    QTRY_VERIFY_WITH_TIMEOUT(model->rowCount() > 0, 10000);

    const QModelIndex index = model->index(0, 0);
    const qint64 id = index.data(ExampleIdRole).toLongLong();
    const int before = m_session->example(id)->currentLabel;
    const int after = (before + 1) % m_session->numClasses();
    QCOMPARE(labelInFile(id), before);

    std::unique_ptr<QMenu> menu(page->gridView(InfluencePage::Grid(grid))->createContextMenu(index));
    QVERIFY(menu);
    QAction *relabel = menu->findChild<QAction *>(QString("relabelAction%1").arg(after));
    QVERIFY(relabel);
    QVERIFY(relabel->isEnabled());
    QVERIFY(menu->findChild<QAction *>(QString("relabelAction%1").arg(before))->isChecked());
    QVERIFY(menu->findChild<QAction *>("openInfluenceAction"));
    QVERIFY(menu->findChild<QAction *>("markReviewedAction"));

    const int undoIndex = m_session->undoStack()->index();
    relabel->trigger();
    QCOMPARE(m_session->undoStack()->index(), undoIndex + 1);
    QCOMPARE(m_session->example(id)->currentLabel, after);
    QCOMPARE(labelInFile(id), after);

    m_session->undoStack()->undo();
    QCOMPARE(m_session->example(id)->currentLabel, before);
    QCOMPARE(labelInFile(id), before);
}

void TestExampleActions::keysActOnCurrentTile()
{
    QWidget window;
    auto *actions = new ExampleActions(m_session.get(), &window);
    QSignalSpy influence(actions, &ExampleActions::influenceRequested);
    auto *page = new InfluencePage(m_session.get(), &window);
    page->setQuery(firstTestExample());
    NeighbourListModel *model = page->gridModel(InfluencePage::Nearest);
    QTRY_VERIFY_WITH_TIMEOUT(model->rowCount() > 0, 10000);
    TileView *view = page->gridView(InfluencePage::Nearest);
    view->setCurrentIndex(model->index(0, 0));
    const qint64 id = model->index(0, 0).data(ExampleIdRole).toLongLong();
    const ReviewState review = m_session->example(id)->review;

    QTest::keyClick(view, Qt::Key_R);
    QVERIFY(m_session->example(id)->review != review);
    m_session->undoStack()->undo();
    QCOMPARE(m_session->example(id)->review, review);

    QTest::keyClick(view, Qt::Key_I);
    QCOMPARE(influence.count(), 1);
    QCOMPARE(influence.at(0).at(0).toLongLong(), id);
}

void TestExampleActions::readOnlySessionRefusesEdits()
{
    // Beside the writing session, as when another TracLens has the project open.
    auto readOnly = ProjectSession::openReadOnly(QString::fromStdString(m_fixture->projectPath()));
    QVERIFY2(readOnly.ok(), readOnly.status().message().c_str());
    ProjectSession &session = *readOnly.value();
    QSignalSpy refused(&session, &ProjectSession::editFailed);
    QWidget window;
    auto *actions = new ExampleActions(&session, &window);
    const qint64 id = firstTestExample();
    const int before = labelInFile(id);
    std::unique_ptr<QMenu> menu(actions->createMenu(id));
    QVERIFY(menu);
    QVERIFY(!menu->findChild<QMenu *>("relabelMenu")->isEnabled());
    QVERIFY(!menu->findChild<QAction *>("markReviewedAction")->isEnabled());
    actions->relabel(id, (before + 1) % session.numClasses());
    QCOMPARE(refused.count(), 1);
    QCOMPARE(session.undoStack()->count(), 0);
    QCOMPARE(labelInFile(id), before);
}

void TestExampleActions::browseFindsByIdAndFileName_data()
{
    QTest::addColumn<QString>("how");
    QTest::newRow("id") << "id";
    QTest::newRow("relative path") << "path";
    QTest::newRow("file name") << "name";
}

void TestExampleActions::browseFindsByIdAndFileName()
{
    QFETCH(QString, how);
    // An example whose file name no other example has, so the name alone names it.
    QHash<QString, int> names;
    for (const ExampleRow &row : m_session->examples())
        ++names[QFileInfo(QString::fromStdString(row.source)).fileName()];
    const ExampleRow *target = nullptr;
    for (const ExampleRow &row : m_session->examples())
        if (row.split == Split::Test && names.value(QFileInfo(QString::fromStdString(row.source)).fileName()) == 1)
            target = &row;
    QVERIFY(target);
    const qint64 id = target->id;
    const QString source = QString::fromStdString(target->source);
    const QString text = how == "id"     ? QString::number(id)
                         : how == "path" ? source
                                         : QFileInfo(source).fileName();

    DatasetBrowserPage browser(m_session.get());
    browser.resize(800, 600);
    QCOMPARE(browser.findExample(text), id);
    QCOMPARE(browser.selectedExample(), id);
    QCOMPARE(browser.view()->currentIndex().data(ExampleIdRole).toLongLong(), id);
    QCOMPARE(browser.findExample("no-such-file.png"), qint64(-1));
}

QTEST_MAIN(TestExampleActions)
#include "test_exampleactions.moc"
