// Tick values of the charts' log axes (core/evaluation/chartimage.h): every range shows at least three.
#include "evaluation/chartimage.h"

#include <QtTest>

class TestChartAxis : public QObject {
    Q_OBJECT
private slots:
    void logAxisTicks_data()
    {
        QTest::addColumn<double>("lo");
        QTest::addColumn<double>("hi");
        QTest::newRow("several decades") << 1e-3 << 10.0;
        QTest::newRow("one decade") << 0.02 << 0.4;
        QTest::newRow("between 1-2-5") << 3.0 << 4.5;
        QTest::newRow("very narrow") << 0.101 << 0.104;
    }
    void logAxisTicks()
    {
        QFETCH(double, lo);
        QFETCH(double, hi);
        const auto ticks = traclens::logAxisTicks(lo, hi);
        QVERIFY2(ticks.size() >= 3, qPrintable(QString::number(ticks.size())));
        for (double t : ticks)
            QVERIFY(t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9));
    }
};

QTEST_APPLESS_MAIN(TestChartAxis)
#include "test_chartaxis.moc"
