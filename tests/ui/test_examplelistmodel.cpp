// The browser's model: filters by split, class, edited and review state; sorting by
// self-influence; thumbnails arrive asynchronously as dataChanged(DecorationRole) after
// data() returned a placeholder without blocking.

#include "examplelistmodel.h"
#include "itemroles.h"
#include "sessionfixture.h"
#include "testproject.h"
#include "thumbnailcache.h"

#include <QPixmap>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace traclens;
using traclens::testing::TestProject;
using Filter = ExampleListModel::Filter;

Q_DECLARE_METATYPE(Filter)

class TestExampleListModel : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void filters_data();
    void filters();
    void sortsBySelfInfluence();
    void thumbnailsArriveAsynchronously();
    void cleanupTestCase();

private:
    QTemporaryDir m_dir;
    std::unique_ptr<TestProject> m_fixture;
    std::unique_ptr<ProjectSession> m_session;
    qint64 m_edited = -1, m_reviewed = -1, m_skipped = -1;
};

void TestExampleListModel::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_fixture = std::make_unique<TestProject>(m_dir.path().toStdString());
    std::string error;
    m_session = traclens::testing::buildAndOpenSession(*m_fixture, &error);
    QVERIFY2(m_session, error.c_str());
    // One edited (class 0 → 1, reviewed), one only reviewed, one skipped: all training.
    const auto &rows = m_session->examples();
    for (const ExampleRow &r : rows) {
        if (r.split != Split::Train)
            continue;
        if (m_edited < 0 && r.currentLabel == 0)
            m_edited = r.id;
        else if (m_reviewed < 0 && r.currentLabel == 2)
            m_reviewed = r.id;
        else if (m_skipped < 0 && r.currentLabel == 2)
            m_skipped = r.id;
    }
    QVERIFY(m_session->applyDecision(m_edited, 1, ReviewState::Reviewed, "user").isOk());
    QVERIFY(m_session->applyDecision(m_reviewed, 2, ReviewState::Reviewed, "user").isOk());
    QVERIFY(m_session->applyDecision(m_skipped, 2, ReviewState::Skipped, "user").isOk());
}

void TestExampleListModel::cleanupTestCase() { m_session.reset(); }

void TestExampleListModel::filters_data()
{
    const auto &spec = m_fixture->spec();
    const int train = spec.classes * spec.trainPerClass, test = spec.classes * spec.testPerClass;
    QTest::addColumn<Filter>("filter");
    QTest::addColumn<int>("rows");

    QTest::newRow("all") << Filter{} << train + test;
    Filter f;
    f.split = Split::Train;
    QTest::newRow("train") << f << train;
    f.split = Split::Test;
    QTest::newRow("test") << f << test;
    f = {};
    f.label = 1; // one example moved from class 0 into class 1
    QTest::newRow("class 1") << f << spec.trainPerClass + spec.testPerClass + 1;
    f.label = 0;
    QTest::newRow("class 0") << f << spec.trainPerClass + spec.testPerClass - 1;
    f = {};
    f.edited = Filter::Edited::Yes;
    QTest::newRow("edited") << f << 1;
    f.edited = Filter::Edited::No;
    QTest::newRow("not edited") << f << train + test - 1;
    f = {};
    f.review = Filter::Review::Reviewed;
    QTest::newRow("reviewed") << f << 2;
    f.review = Filter::Review::Skipped;
    QTest::newRow("skipped") << f << 1;
    f.review = Filter::Review::Unreviewed;
    QTest::newRow("unreviewed") << f << train + test - 3;
    f = {};
    f.split = Split::Test;
    f.review = Filter::Review::Reviewed;
    QTest::newRow("test and reviewed") << f << 0;
}

void TestExampleListModel::filters()
{
    QFETCH(Filter, filter);
    QFETCH(int, rows);
    ExampleListModel model(m_session.get());
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    model.setFilter(filter);
    QCOMPARE(reset.count(), 1);
    QCOMPARE(model.rowCount(), rows);
    for (int r = 0; r < model.rowCount(); ++r) {
        const ExampleRow *row = m_session->example(model.exampleId(r));
        QVERIFY(row);
        if (filter.split)
            QCOMPARE(row->split, *filter.split);
        if (filter.label >= 0)
            QCOMPARE(row->currentLabel, filter.label);
        QCOMPARE(model.rowOf(row->id), r);
    }
}

void TestExampleListModel::sortsBySelfInfluence()
{
    ExampleListModel model(m_session.get());
    Filter f;
    f.split = Split::Train;
    model.setFilter(f);
    model.setSort(ExampleListModel::Sort::SelfInfluence);
    QCOMPARE(model.rowCount(), int(m_session->selfInfluenceRanking().size()));
    double previous = HUGE_VAL;
    for (int r = 0; r < model.rowCount(); ++r) {
        const double v = model.index(r).data(SortValueRole).toDouble();
        QVERIFY(v <= previous);
        previous = v;
        QCOMPARE(model.exampleId(r), m_session->selfInfluenceRanking()[size_t(r)]);
    }
    model.setSort(ExampleListModel::Sort::Loss);
    previous = HUGE_VAL;
    for (int r = 0; r < model.rowCount(); ++r) {
        const double v = model.index(r).data(SortValueRole).toDouble();
        QVERIFY(v <= previous);
        previous = v;
    }
}

void TestExampleListModel::thumbnailsArriveAsynchronously()
{
    ExampleListModel model(m_session.get());
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    const QModelIndex first = model.index(0);
    // No cached image yet: a null placeholder, and the decode queued for later — data()
    // did not decode on the spot (no dataChanged yet, a request pending in the cache).
    QVERIFY(first.data(Qt::DecorationRole).value<QPixmap>().isNull());
    QVERIFY(changed.isEmpty());
    QVERIFY(m_session->thumbnails()->pendingCount() > 0);
    QTRY_VERIFY_WITH_TIMEOUT(!changed.isEmpty(), 10000);
    const QList<QVariant> args = changed.first();
    QCOMPARE(args.at(0).toModelIndex().row(), 0);
    QCOMPARE(args.at(2).value<QList<int>>(), QList<int>{Qt::DecorationRole});
    const QPixmap pixmap = first.data(Qt::DecorationRole).value<QPixmap>();
    QVERIFY(!pixmap.isNull());
    QCOMPARE(pixmap.size(), QSize(m_fixture->spec().size, m_fixture->spec().size));
}

QTEST_MAIN(TestExampleListModel)
#include "test_examplelistmodel.moc"
