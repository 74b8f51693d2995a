// The Charts page's self-influence histogram: bins on log10 of the self-influence, each
// decade of its axis labelled with its value (0.1, 1, 10 as plain numbers, 1e-9 and 1e4
// beyond, short enough for a dozen decades at 1280 pixels), consecutive, covering the axis
// range and the project's largest self-influence.

#include "chartspage.h"
#include "sessionfixture.h"
#include "testproject.h"

#include <QCategoryAxis>
#include <QChart>
#include <QChartView>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>

using namespace traclens;
using traclens::testing::TestProject;

class TestChartsPage : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void decadeLabels_data();
    void decadeLabels();
    void histogramAxisNamesDecades();
    void cleanupTestCase();

private:
    QTemporaryDir m_dir;
    std::unique_ptr<TestProject> m_fixture;
    std::unique_ptr<ProjectSession> m_session;
    std::unique_ptr<ChartsPage> m_page;
};

void TestChartsPage::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_fixture = std::make_unique<TestProject>(m_dir.path().toStdString());
    std::string error;
    m_session = traclens::testing::buildAndOpenSession(*m_fixture, &error);
    QVERIFY2(m_session, error.c_str());
    QVERIFY(!m_session->selfInfluenceRanking().empty());
    m_page = std::make_unique<ChartsPage>(m_session.get());
    m_page->resize(1100, 700);
    m_page->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_page.get()));
    m_page->refresh();
}

void TestChartsPage::decadeLabels_data()
{
    QTest::addColumn<int>("exponent");
    QTest::addColumn<QString>("label");
    QTest::newRow("1e-9") << -9 << QStringLiteral("1e-9");
    QTest::newRow("1e-3") << -3 << QStringLiteral("1e-3");
    QTest::newRow("0.01") << -2 << QStringLiteral("0.01");
    QTest::newRow("0.1") << -1 << QStringLiteral("0.1");
    QTest::newRow("1") << 0 << QStringLiteral("1");
    QTest::newRow("10") << 1 << QStringLiteral("10");
    QTest::newRow("1000") << 3 << QStringLiteral("1000");
    QTest::newRow("1e4") << 4 << QStringLiteral("1e4");
    QTest::newRow("1e-10") << -10 << QStringLiteral("1e-10");
}

void TestChartsPage::decadeLabels()
{
    QFETCH(int, exponent);
    QFETCH(QString, label);
    QCOMPARE(decadeLabel(exponent), label);
}

void TestChartsPage::histogramAxisNamesDecades()
{
    QChartView *histogram = nullptr;
    for (auto *view : m_page->findChildren<QChartView *>())
        if (view->chart()->title().startsWith(QStringLiteral("Self-influence")))
            histogram = view;
    QVERIFY(histogram);
    const auto axes = histogram->chart()->axes(Qt::Horizontal);
    QCOMPARE(axes.size(), 1);
    auto *x = qobject_cast<QCategoryAxis *>(axes.first());
    QVERIFY2(x, "the x axis labels decades");
    const QStringList labels = x->categoriesLabels();
    QVERIFY(labels.size() >= 2);
    // One label per decade, at whole exponents from the axis' start to its end.
    QCOMPARE(x->endValue(labels.first()), x->min());
    QCOMPARE(x->endValue(labels.last()), x->max());
    for (int i = 0; i < labels.size(); ++i) {
        const double e = x->endValue(labels[i]);
        QCOMPARE(e, x->min() + i);
        QCOMPARE(labels[i], decadeLabel(int(e)));
    }
    // The largest self-influence lies within the axis.
    double largest = 0;
    for (qint64 id : m_session->selfInfluenceRanking())
        largest = std::max(largest, m_session->selfInfluence(id));
    QVERIFY(std::log10(largest) <= x->max());
}

void TestChartsPage::cleanupTestCase()
{
    m_page.reset();
    m_session.reset();
}

QTEST_MAIN(TestChartsPage)
#include "test_chartspage.moc"
