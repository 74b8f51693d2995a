// The cluster gallery on a synthetic project with planted clusters: it computes the
// clusters of the chosen class off the GUI thread, shows one row per cluster with its
// representatives, expands a row to every member, reuses stored clusters, and a click on
// a tile asks for that example's influence.

#include "clusterpage.h"
#include "neighbourlistmodel.h"
#include "projectsession.h"
#include "store/synthproject.h"
#include "tileview.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace traclens;

class TestClusterPage : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void showsPlantedClusters_data();
    void showsPlantedClusters();
    void tileClickActivatesExample();

private:
    QTemporaryDir m_dir;
    std::string m_path;
};

void TestClusterPage::initTestCase()
{
    m_path = m_dir.filePath("synth.traclens").toStdString();
    SynthOptions so;
    so.train = 900;
    so.test = 30;
    so.classes = 3;
    so.dim = 16;
    so.clustersPerClass = 2;
    auto s = writeSyntheticProject(m_path, so);
    QVERIFY2(s.ok(), s.ok() ? "" : s.status().message().c_str());
}

void TestClusterPage::showsPlantedClusters_data()
{
    QTest::addColumn<int>("classIdx");
    QTest::addColumn<bool>("embedding");
    QTest::newRow("class 0, TracIn") << 0 << false;
    QTest::newRow("class 2, embedding") << 2 << true;
    QTest::newRow("class 0 again, stored") << 0 << false;
}

void TestClusterPage::showsPlantedClusters()
{
    QFETCH(int, classIdx);
    QFETCH(bool, embedding);
    auto session = ProjectSession::open(QString::fromStdString(m_path));
    QVERIFY(session.ok());
    ClusterPage page(session->get());
    page.resize(900, 700);
    QSignalSpy shown(&page, &ClusterPage::clustersShown);
    page.setSpace(embedding ? ClusterSpace::Embedding : ClusterSpace::TracIn);
    page.setClass(classIdx);
    QVERIFY(shown.wait(20000) || !shown.isEmpty());
    QCOMPARE(shown.last().at(0).toInt(), classIdx);
    QCOMPARE(page.clusters().classIdx, classIdx);
    QCOMPARE(int(page.clusters().clusters.size()), 2); // planted
    const auto strips = page.findChildren<TileView *>();
    QCOMPARE(strips.size(), qsizetype(2));
    QCOMPARE(strips.front()->model()->rowCount(), 8); // representatives
    page.setExpanded(0, true);
    const auto views = page.findChildren<TileView *>();
    QCOMPARE(views.size(), qsizetype(3));
    int all = 0;
    for (TileView *v : views)
        all = std::max(all, v->model()->rowCount());
    QCOMPARE(all, int(page.clusters().clusters[0].members.size()));
}

void TestClusterPage::tileClickActivatesExample()
{
    auto session = ProjectSession::open(QString::fromStdString(m_path));
    QVERIFY(session.ok());
    ClusterPage page(session->get());
    page.resize(900, 700);
    page.show();
    QSignalSpy shown(&page, &ClusterPage::clustersShown);
    QVERIFY(shown.wait(20000) || !shown.isEmpty());
    QSignalSpy activated(&page, &ClusterPage::exampleActivated);
    TileView *strip = page.findChildren<TileView *>().front();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    const QRect r = strip->visualRect(strip->model()->index(0, 0));
    QTest::mouseClick(strip->viewport(), Qt::LeftButton, {}, r.center());
    QCOMPARE(activated.size(), 1);
    QCOMPARE(activated.first().at(0).toLongLong(), page.clusters().clusters[0].members[0].exampleId);
}

QTEST_MAIN(TestClusterPage)
#include "test_clusterpage.moc"
