// The influence view: for a query (set directly, or by clicking a tile) the four grids
// hold exactly InfluenceIndex::query's answer — ids and order — for the chosen k and
// scoring; Alt+Left / Alt+Right walk the history.

#include "influencepage.h"
#include "neighbourlistmodel.h"
#include "sessionfixture.h"
#include "testproject.h"
#include "tileview.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QLabel>
#include <QtTest>

using namespace traclens;
using traclens::testing::TestProject;

Q_DECLARE_METATYPE(traclens::Scoring)

class TestInfluencePage : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void gridsMatchEngine_data();
    void gridsMatchEngine();
    void clickingATileMakesItTheQuery();
    void historyNavigation();
    void headerSaysTheQueryIsLeftOut_data();
    void headerSaysTheQueryIsLeftOut();
    void cleanupTestCase();

private:
    QVector<qint64> expected(const std::vector<Neighbour> &list) const;
    void verifyGrids(InfluencePage &page, qint64 id, int k, Scoring scoring);
    qint64 firstTestExample() const;

    QTemporaryDir m_dir;
    std::unique_ptr<TestProject> m_fixture;
    std::unique_ptr<ProjectSession> m_session;
};

void TestInfluencePage::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_fixture = std::make_unique<TestProject>(m_dir.path().toStdString());
    std::string error;
    m_session = traclens::testing::buildAndOpenSession(*m_fixture, &error);
    QVERIFY2(m_session, error.c_str());
}

void TestInfluencePage::cleanupTestCase() { m_session.reset(); }

QVector<qint64> TestInfluencePage::expected(const std::vector<Neighbour> &list) const
{
    QVector<qint64> ids;
    for (const Neighbour &n : list)
        ids << n.exampleId;
    return ids;
}

qint64 TestInfluencePage::firstTestExample() const
{
    for (const ExampleRow &row : m_session->examples())
        if (row.split == Split::Test)
            return row.id;
    return -1;
}

void TestInfluencePage::verifyGrids(InfluencePage &page, qint64 id, int k, Scoring scoring)
{
    auto answer = m_session->engine()->query(id, k, scoring);
    QVERIFY2(answer.ok(), answer.status().message().c_str());
    QCOMPARE(page.gridModel(InfluencePage::Proponents)->exampleIds(), expected(answer->proponents));
    QCOMPARE(page.gridModel(InfluencePage::Opponents)->exampleIds(), expected(answer->opponents));
    QCOMPARE(page.gridModel(InfluencePage::Nearest)->exampleIds(), expected(answer->nearest));
    QCOMPARE(page.gridModel(InfluencePage::Farthest)->exampleIds(), expected(answer->farthest));
    // Scores shown are the engine's.
    for (int r = 0; r < int(answer->proponents.size()); ++r)
        QCOMPARE(page.gridModel(InfluencePage::Proponents)->neighbours()[size_t(r)].score, answer->proponents[size_t(r)].score);
}

void TestInfluencePage::gridsMatchEngine_data()
{
    QTest::addColumn<int>("k");
    QTest::addColumn<Scoring>("scoring");
    QTest::newRow("raw k=8") << 8 << Scoring::Raw;
    QTest::newRow("normalised k=8") << 8 << Scoring::Normalised;
    QTest::newRow("raw k=1") << 1 << Scoring::Raw;
    QTest::newRow("normalised k=20") << 20 << Scoring::Normalised;
}

void TestInfluencePage::gridsMatchEngine()
{
    QFETCH(int, k);
    QFETCH(Scoring, scoring);
    InfluencePage page(m_session.get());
    QSignalSpy shown(&page, &InfluencePage::queryShown);
    page.setNeighbourCount(k);
    page.setScoring(scoring);
    const qint64 id = firstTestExample();
    QVERIFY(id >= 0);
    page.setQuery(id);
    QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty() && shown.last().at(0).toLongLong() == id
                                 && page.gridModel(InfluencePage::Proponents)->rowCount() == k, 10000);
    verifyGrids(page, id, k, scoring);
    QCOMPARE(page.gridModel(InfluencePage::Proponents)->rowCount(), k);
}

void TestInfluencePage::headerSaysTheQueryIsLeftOut_data()
{
    QTest::addColumn<int>("split");
    QTest::addColumn<bool>("note");
    QTest::newRow("training example: left out of its own lists") << int(Split::Train) << true;
    QTest::newRow("test example: not in the training set, no note") << int(Split::Test) << false;
}

void TestInfluencePage::headerSaysTheQueryIsLeftOut()
{
    QFETCH(int, split);
    QFETCH(bool, note);
    qint64 id = -1;
    for (const ExampleRow &row : m_session->examples())
        if (int(row.split) == split) {
            id = row.id;
            break;
        }
    QVERIFY(id >= 0);
    InfluencePage page(m_session.get());
    QSignalSpy shown(&page, &InfluencePage::queryShown);
    page.setQuery(id);
    QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty() && shown.last().at(0).toLongLong() == id, 10000);
    auto *facts = page.findChild<QLabel *>("queryFacts");
    QVERIFY(facts);
    QCOMPARE(facts->text().contains("left out of its own lists"), note);
    // The lists agree with the note: a training example is not among its own neighbours.
    QCOMPARE(page.gridModel(InfluencePage::Nearest)->exampleIds().contains(id), false);
}

void TestInfluencePage::clickingATileMakesItTheQuery()
{
    InfluencePage page(m_session.get());
    page.resize(1400, 900);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    QSignalSpy shown(&page, &InfluencePage::queryShown);
    page.setNeighbourCount(6);
    page.setScoring(Scoring::Raw);
    page.setQuery(firstTestExample());
    QTRY_VERIFY_WITH_TIMEOUT(shown.count() >= 1 && page.gridModel(InfluencePage::Proponents)->rowCount() == 6, 10000);

    // Click the second opponent tile.
    TileView *view = page.gridView(InfluencePage::Opponents);
    const QModelIndex index = view->model()->index(1, 0);
    const qint64 clicked = page.gridModel(InfluencePage::Opponents)->exampleId(1);
    QVERIFY(clicked >= 0);
    const QRect rect = view->visualRect(index);
    QVERIFY(rect.isValid());
    shown.clear();
    QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, rect.center());
    QCOMPARE(page.queryId(), clicked);
    QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty() && shown.last().at(0).toLongLong() == clicked, 10000);
    verifyGrids(page, clicked, 6, Scoring::Raw);
    // A training example is not among its own neighbours.
    for (int g = 0; g < InfluencePage::GridCount; ++g)
        QVERIFY(!page.gridModel(InfluencePage::Grid(g))->exampleIds().contains(clicked));
}

void TestInfluencePage::historyNavigation()
{
    InfluencePage page(m_session.get());
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    QApplication::setActiveWindow(&page);
    QSignalSpy shown(&page, &InfluencePage::queryShown);
    const auto &train = m_session->engine()->trainIds();
    QVERIFY(train.size() >= 3);
    const qint64 a = train[0], b = train[1], c = train[2];
    page.setQuery(a);
    page.setQuery(b);
    page.setQuery(c);
    QCOMPARE(page.queryId(), c);
    QVERIFY(page.canGoBack());
    QVERIFY(!page.canGoForward());

    QTest::keyClick(&page, Qt::Key_Left, Qt::AltModifier);
    QCOMPARE(page.queryId(), b);
    QTest::keyClick(&page, Qt::Key_Left, Qt::AltModifier);
    QCOMPARE(page.queryId(), a);
    QVERIFY(!page.canGoBack());
    QTest::keyClick(&page, Qt::Key_Right, Qt::AltModifier);
    QCOMPARE(page.queryId(), b);
    QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty() && shown.last().at(0).toLongLong() == b, 10000);
    verifyGrids(page, b, page.neighbourCount(), page.scoring());

    // A new query after going back drops the forward part.
    page.setQuery(a == train[0] ? train[3 % train.size()] : a);
    QVERIFY(!page.canGoForward());
    page.back();
    QCOMPARE(page.queryId(), b);
}

QTEST_MAIN(TestInfluencePage)
#include "test_influencepage.moc"
