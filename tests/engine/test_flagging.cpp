// The flag rule and the weak-model judgement (core/flagging.h, docs/flagging.md).
#include "flagging.h"

#include <QtTest>

#include <cmath>
#include <random>

using namespace traclens;

namespace {

// Losses of `n` examples: a clean part whose label probability is drawn from a Beta-like
// distribution concentrated near `cleanMean`, and a share `flipped` whose label the model
// gives probability uniform in [0.001, 0.05] (confident disagreement).
std::vector<double> synthLosses(int n, double cleanMean, double flipped, unsigned seed)
{
    std::mt19937 rng(seed);
    std::exponential_distribution<double> clean(1.0 / cleanMean);
    std::uniform_real_distribution<double> flipP(0.001, 0.05);
    std::bernoulli_distribution isFlip(flipped);
    std::vector<double> out;
    for (int i = 0; i < n; ++i)
        out.push_back(isFlip(rng) ? -std::log(flipP(rng)) : clean(rng));
    return out;
}

EpochRow epoch(int e, double testAccuracy)
{
    EpochRow r;
    r.epoch = e;
    r.learningRate = 0.01;
    r.testAccuracy = testAccuracy;
    return r;
}

} // namespace

class TestFlagging : public QObject {
    Q_OBJECT
private slots:
    void threshold()
    {
        QVERIFY(!isFlaggedLoss(0.0));
        QVERIFY(!isFlaggedLoss(std::log(10.0) - 1e-6));
        QVERIFY(isFlaggedLoss(std::log(10.0) + 1e-6));
        QVERIFY(!isFlaggedLoss(std::nan("")));
        QVERIFY(!isFlaggedLoss(-1.0));
        QVERIFY(isFlaggedLoss(INFINITY));
    }

    void shareFlagged_data()
    {
        QTest::addColumn<double>("cleanMean");  // mean loss of the correctly labelled part
        QTest::addColumn<double>("flipped");    // planted share of confident disagreements
        QTest::addColumn<double>("minShare");
        QTest::addColumn<double>("maxShare");
        // A well-fitted model on clean labels: almost nothing flagged.
        QTest::newRow("clean, fitted") << 0.05 << 0.0 << 0.0 << 0.001;
        // Clean labels, a looser model (mean loss 0.3): still a small share.
        QTest::newRow("clean, loose") << 0.3 << 0.0 << 0.0 << 0.01;
        // 10 % planted flips the model is confident about: about 10 % flagged.
        QTest::newRow("10% flips") << 0.05 << 0.10 << 0.09 << 0.11;
        QTest::newRow("3% flips, loose") << 0.3 << 0.03 << 0.025 << 0.045;
        // A weak model (mean loss 1.0, exp tail beyond ln 10 ≈ 10 %): the rule alone
        // flags many — which is what the weak-model warning is for.
        QTest::newRow("weak model") << 1.0 << 0.0 << 0.08 << 0.12;
    }
    void shareFlagged()
    {
        QFETCH(double, cleanMean);
        QFETCH(double, flipped);
        QFETCH(double, minShare);
        QFETCH(double, maxShare);
        const auto losses = synthLosses(20000, cleanMean, flipped, 7);
        const double share = double(countFlagged(losses)) / double(losses.size());
        QVERIFY2(share >= minShare && share <= maxShare, qPrintable(QString::number(share)));
    }

    void weakModel()
    {
        // The tiny fixture's shape: 2 classes, a few dozen examples, one epoch, 60 % test accuracy.
        ModelFitness weak{2, 40, {epoch(1, 0.6)}};
        const auto problems = modelWeaknesses(weak);
        QCOMPARE(problems.size(), size_t(3));
        QVERIFY(QString::fromStdString(problems[0]).contains("Test accuracy is 60.0 %"));
        QVERIFY(QString::fromStdString(problems[1]).contains("Train more epochs: Project ▸ Train Model"));
        QVERIFY(QString::fromStdString(problems[2]).contains("20 training examples per class"));
    }

    void goodModel()
    {
        // The Fashion-MNIST project: 10 classes, 60 000 examples, 3 epochs, 88.7 %.
        ModelFitness good{10, 60000, {epoch(1, 0.84), epoch(2, 0.87), epoch(3, 0.887)}};
        QVERIFY(modelWeaknesses(good).empty());
        QCOMPARE(minTestAccuracy(10), 0.775);
        // The 65 % model of a small set is judged weak on accuracy alone.
        good.epochs.back().testAccuracy = 0.65;
        QCOMPARE(modelWeaknesses(good).size(), size_t(1));
        // Unknown test accuracy is not judged.
        good.epochs.back().testAccuracy = -1.0;
        QVERIFY(modelWeaknesses(good).empty());
    }
};

QTEST_APPLESS_MAIN(TestFlagging)
#include "test_flagging.moc"
