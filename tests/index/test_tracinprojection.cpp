// The factored random projection equals the dense matrix applied to the materialised
// gradient vector; without projection the vectors' dot product is TracIn; projected
// dot products are unbiased; half-precision round trips are within 2⁻¹¹.

#include "store/factors.h"
#include "util/float16.h"
#include "index/tracinprojection.h"

#include <QtTest>

#include <cmath>
#include <random>

using namespace traclens;

namespace {

struct Example {
    std::vector<std::vector<float>> e, h;
    std::vector<const float *> ep, hp;
};

Example randomExample(std::mt19937 &rng, int c, int k, int d)
{
    std::normal_distribution<float> normal(0.0f, 1.0f);
    Example x;
    x.e.assign(size_t(c), std::vector<float>(static_cast<size_t>(k)));
    x.h.assign(size_t(c), std::vector<float>(static_cast<size_t>(d)));
    for (int i = 0; i < c; ++i) {
        for (auto &v : x.e[size_t(i)])
            v = 0.3f * normal(rng);
        for (auto &v : x.h[size_t(i)])
            v = std::max(0.0f, normal(rng));
        x.ep.push_back(x.e[size_t(i)].data());
        x.hp.push_back(x.h[size_t(i)].data());
    }
    return x;
}

double tracin(const Example &a, const Example &b, const std::vector<double> &eta, int k, int d)
{
    double s = 0;
    for (size_t i = 0; i < eta.size(); ++i)
        s += eta[i] * gradientDot(a.e[i].data(), a.h[i].data(), b.e[i].data(), b.h[i].data(), k, d);
    return s;
}

} // namespace

class TestTracInProjection : public QObject {
    Q_OBJECT
private slots:
    void factoredEqualsDense_data();
    void factoredEqualsDense();
    void exactVectorsGiveTracIn();
    void projectedDotIsUnbiased();
    void halfRoundTrip_data();
    void halfRoundTrip();
};

void TestTracInProjection::factoredEqualsDense_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<int>("m");
    QTest::newRow("gaussian") << "gaussian" << 24;
    QTest::newRow("achlioptas") << "achlioptas" << 17;
}

void TestTracInProjection::factoredEqualsDense()
{
    QFETCH(QString, kind);
    QFETCH(int, m);
    const int c = 2, k = 5, d = 7;
    const std::vector<double> eta{0.1, 0.03};
    TracInProjection p(k, d, eta, m, kind == "gaussian" ? ProjectionKind::Gaussian : ProjectionKind::Achlioptas, 9);
    QCOMPARE(p.outputDim(), m);
    std::mt19937 rng(1);
    Example x = randomExample(rng, c, k, d);
    std::vector<float> y(static_cast<size_t>(m));
    p.project(x.ep.data(), x.hp.data(), y.data());
    for (int j = 0; j < m; ++j) {
        double dense = 0;
        for (int i = 0; i < c; ++i) {
            const std::vector<float> row = p.denseRow(j, i);
            for (int a = 0; a < k; ++a)
                for (int b = 0; b <= d; ++b)
                    dense += std::sqrt(eta[size_t(i)]) * row[size_t(a * (d + 1) + b)] * x.e[size_t(i)][size_t(a)]
                             * (b < d ? x.h[size_t(i)][size_t(b)] : 1.0f);
        }
        QVERIFY2(std::abs(dense - y[size_t(j)]) <= 1e-4 * std::max(1.0, std::abs(dense)),
                 qPrintable(QString("%1 vs %2").arg(dense).arg(y[size_t(j)])));
    }
    // The same seed gives the same matrix.
    TracInProjection again(k, d, eta, m, kind == "gaussian" ? ProjectionKind::Gaussian : ProjectionKind::Achlioptas, 9);
    QCOMPARE(again.denseRow(3, 1), p.denseRow(3, 1));
}

void TestTracInProjection::exactVectorsGiveTracIn()
{
    const int c = 3, k = 4, d = 6;
    const std::vector<double> eta{0.05, 0.02, 0.01};
    TracInProjection p(k, d, eta, 0, ProjectionKind::Gaussian, 1);
    QVERIFY(p.isExact());
    QCOMPARE(p.outputDim(), c * k * (d + 1));
    std::mt19937 rng(2);
    Example a = randomExample(rng, c, k, d), b = randomExample(rng, c, k, d);
    std::vector<float> va(size_t(p.outputDim())), vb(size_t(p.outputDim()));
    p.project(a.ep.data(), a.hp.data(), va.data());
    p.project(b.ep.data(), b.hp.data(), vb.data());
    const double expected = tracin(a, b, eta, k, d);
    QVERIFY(std::abs(dot(va.data(), vb.data(), p.outputDim()) - expected) <= 1e-5 * std::max(1.0, std::abs(expected)));
}

void TestTracInProjection::projectedDotIsUnbiased()
{
    const int c = 2, k = 6, d = 10, m = 64;
    const std::vector<double> eta{0.1, 0.05};
    std::mt19937 rng(3);
    Example a = randomExample(rng, c, k, d), b = randomExample(rng, c, k, d);
    const double expected = tracin(a, b, eta, k, d);
    const double scale = std::sqrt(tracin(a, a, eta, k, d) * tracin(b, b, eta, k, d));
    double mean = 0;
    const int trials = 200;
    for (int t = 0; t < trials; ++t) {
        TracInProjection p(k, d, eta, m, ProjectionKind::Gaussian, uint64_t(100 + t));
        std::vector<float> va(static_cast<size_t>(m)), vb(static_cast<size_t>(m));
        p.project(a.ep.data(), a.hp.data(), va.data());
        p.project(b.ep.data(), b.hp.data(), vb.data());
        mean += dot(va.data(), vb.data(), m) / trials;
    }
    // Standard error of the mean ≈ scale·√(2/m)/√trials ≈ 0.012·scale.
    QVERIFY2(std::abs(mean - expected) <= 0.05 * scale, qPrintable(QString("%1 vs %2").arg(mean).arg(expected)));
}

void TestTracInProjection::halfRoundTrip_data()
{
    QTest::addColumn<float>("value");
    QTest::newRow("one") << 1.0f;
    QTest::newRow("small") << 3.1e-3f;
    QTest::newRow("negative") << -123.456f;
    QTest::newRow("largest") << 65504.0f;
    QTest::newRow("subnormal") << 3.0e-6f;
}

void TestTracInProjection::halfRoundTrip()
{
    QFETCH(float, value);
    const float back = halfToFloat(floatToHalf(value));
    const float tolerance = std::abs(value) >= 6.1e-5f ? std::abs(value) / 2048.0f : 6.0e-8f;
    QVERIFY2(std::abs(back - value) <= tolerance, qPrintable(QString("%1 → %2").arg(value).arg(back)));
    // Bulk conversion (F16C when present) agrees with the scalar one.
    std::vector<float> in(19, value), out(19);
    std::vector<uint16_t> half(19);
    floatsToHalves(in.data(), half.data(), in.size());
    halvesToFloats(half.data(), out.data(), in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        QCOMPARE(half[i], floatToHalf(value));
        QCOMPARE(out[i], back);
    }
    const double expected = 19.0 * double(back) * back;
    QVERIFY(std::abs(dotHalves(half.data(), half.data(), half.size()) - expected) <= 1e-5 * expected + 1e-30);
}

QTEST_GUILESS_MAIN(TestTracInProjection)
#include "test_tracinprojection.moc"
