// The flag rule and the weak-model judgement (core/influence/flagging.h, docs/flagging.md).
#include "influence/flagging.h"

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

std::vector<EpochRow> testCurve(const QList<double> &accuracies)
{
    std::vector<EpochRow> out;
    for (int i = 0; i < accuracies.size(); ++i)
        out.push_back(epoch(i + 1, accuracies[i]));
    return out;
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

    // The under-training rule: low accuracy and still rising when training ended, or near
    // chance. Rows: a fixed run of the 345-class sketch shape, adaptive runs stopped by the
    // budget, the epoch limit and a plateau, a converged Fashion-MNIST model.
    void underTraining_data()
    {
        QTest::addColumn<int>("classes");
        QTest::addColumn<QList<double>>("test");       // test accuracy per epoch (−1 unknown)
        QTest::addColumn<QString>("stop");             // "" = no record (a fixed run before records)
        QTest::addColumn<QList<double>>("validation"); // the validation run's curve
        QTest::addColumn<QString>("expected");         // part of the warning; "" = none

        using L = QList<double>;
        QTest::newRow("fixed 3 epochs, 345 classes, rising") << 345 << L{0.04, 0.06, 0.08} << "" << L{}
                                                             << "still rising after 3 epochs (+2.0 points";
        QTest::newRow("fixed 3 epochs, recorded, rising") << 100 << L{0.037, 0.118, 0.347} << "fixed" << L{}
                                                          << "Train until accuracy stops improving";
        QTest::newRow("fixed, low but falling") << 10 << L{0.84, 0.87, 0.65} << "" << L{} << "";
        QTest::newRow("fixed, converged") << 10 << L{0.84, 0.87, 0.887} << "" << L{} << "";
        QTest::newRow("budget stop while rising") << 10 << L{0.40, 0.55} << "budget" << L{0.38, 0.52}
                                                  << "Raise the time budget";
        // The 100-class set stopped by a 45-second budget: above the accuracy threshold, but
        // the validation run gained 9 points in its last epoch.
        QTest::newRow("budget stop while rising, accuracy not low") << 100 << L{0.347, 0.502, 0.762} << "budget"
                                                                     << L{0.42, 0.542, 0.632} << "Raise the time budget";
        QTest::newRow("budget stop, rising slowly") << 10 << L{0.60, 0.70} << "budget" << L{0.695, 0.700} << "";
        QTest::newRow("epoch limit while rising") << 10 << L{0.5, 0.6, 0.7} << "max-epochs" << L{0.5, 0.6, 0.7}
                                                  << "--max-epochs";
        QTest::newRow("plateau, low, not near chance") << 10 << L{0.5, 0.6, 0.62, 0.62} << "plateau"
                                                       << L{0.5, 0.6, 0.6, 0.6} << "";
        QTest::newRow("plateau near chance") << 10 << L{0.10, 0.12, 0.12} << "plateau" << L{0.1, 0.12, 0.12}
                                             << "near chance";
        QTest::newRow("no test split, budget stop while rising") << 10 << L{-1.0, -1.0} << "budget" << L{0.3, 0.5}
                                                                 << "Validation accuracy is 50.0 %";
        QTest::newRow("plateau, converged") << 10 << L{0.85, 0.88, 0.89} << "plateau" << L{0.85, 0.88, 0.88} << "";
    }

    void underTraining()
    {
        QFETCH(int, classes);
        QFETCH(QList<double>, test);
        QFETCH(QString, stop);
        QFETCH(QList<double>, validation);
        QFETCH(QString, expected);
        ModelFitness m{classes, int64_t(classes) * 500, testCurve(test)};
        if (!stop.isEmpty()) {
            TrainingRecord rec;
            rec.adaptive = stop != "fixed";
            rec.stop = trainingStopFromName(stop.toStdString());
            rec.epochs = int(test.size());
            rec.maxEpochs = rec.epochs;
            rec.timeBudgetSeconds = 600.0;
            for (int i = 0; i < validation.size(); ++i)
                rec.validation.push_back({i + 1, validation[i], 1.0, validation[i]});
            // The best epoch as the validation run picks it: the last one that improved.
            rec.bestEpoch = int(validation.size());
            for (int i = int(validation.size()) - 1; i > 0 && validation[i] <= validation[i - 1]; --i)
                rec.bestEpoch = i;
            m.training = rec;
        }
        const std::optional<std::string> warning = underTrainingWarning(m);
        const auto problems = modelWeaknesses(m);
        if (expected.isEmpty()) {
            QVERIFY2(!warning, warning ? warning->c_str() : "");
            for (const auto &p : problems)
                QVERIFY(!QString::fromStdString(p).startsWith("Under-trained"));
            return;
        }
        QVERIFY(warning);
        QVERIFY2(QString::fromStdString(*warning).contains(expected), warning->c_str());
        // First among the weaknesses, in place of the plain low-accuracy one.
        QCOMPARE(problems.front(), *warning);
        for (const auto &p : problems)
            QVERIFY(!QString::fromStdString(p).startsWith("Test accuracy is"));
    }

    // The rise that counts as "still rising" is read over the stopping rule's window: on a
    // small validation part one epoch's change is mostly chance. An adaptive run stopped at
    // its epoch limit, 85 % test accuracy (not low): only the rise can warn.
    void stillRisingOverTheWindow_data()
    {
        QTest::addColumn<int>("smoothing");
        QTest::addColumn<QList<double>>("validation");
        QTest::addColumn<QString>("expected"); // "" = no warning

        using L = QList<double>;
        const L dipsLast{0.40, 0.45, 0.50, 0.55, 0.53};
        const L jumpsLast{0.60, 0.62, 0.60, 0.58, 0.62};
        QTest::newRow("3-epoch window, last epoch dips") << 3 << dipsLast << "(+2.7 points an epoch at the end)";
        QTest::newRow("each epoch, last epoch dips") << 1 << dipsLast << "";
        QTest::newRow("3-epoch window, last epoch jumps back") << 3 << jumpsLast << "";
        QTest::newRow("each epoch, last epoch jumps back") << 1 << jumpsLast << "(+4.0 points an epoch at the end)";
        QTest::newRow("window longer than the curve") << 3 << L{0.40, 0.46} << "(+6.0 points an epoch at the end)";
    }

    void stillRisingOverTheWindow()
    {
        QFETCH(int, smoothing);
        QFETCH(QList<double>, validation);
        QFETCH(QString, expected);
        TrainingRecord rec;
        rec.adaptive = true;
        rec.stop = TrainingStop::MaxEpochs;
        rec.smoothing = smoothing;
        rec.epochs = rec.maxEpochs = int(validation.size());
        rec.bestEpoch = int(validation.size());
        for (int i = 0; i < validation.size(); ++i)
            rec.validation.push_back({i + 1, validation[i], 1.0, validation[i]});
        ModelFitness m{10, 5000, testCurve(QList<double>(validation.size(), 0.85))};
        m.training = rec;
        const std::optional<std::string> warning = underTrainingWarning(m);
        if (expected.isEmpty()) {
            QVERIFY2(!warning, warning ? warning->c_str() : "");
            return;
        }
        QVERIFY(warning);
        QVERIFY2(QString::fromStdString(*warning).contains(expected), warning->c_str());
        QVERIFY(QString::fromStdString(*warning).contains("--max-epochs"));
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
