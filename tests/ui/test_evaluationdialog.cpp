// Report ▸ Run Evaluation… and Calibrate…: the dialog trains the network it shows. Its
// settings carry the network and augmentation into the evaluation's training config with
// that network's recipe; settings read from a project's training config (the active model's)
// come back unchanged, the augmentation included; and the time estimate scales with the
// network's measured epoch time. A project whose model trained until its accuracy stopped
// improving is evaluated the same way (`evaluate --adaptive`), and the estimate says which
// epoch count it assumes.

#include "evaluationdialog.h"

#include <QComboBox>
#include <QLabel>
#include <QSpinBox>
#include <QtTest>

using namespace traclens;

class TestEvaluationDialog : public QObject {
    Q_OBJECT
private slots:
    void network_data();
    void network();
    void adaptive_data();
    void adaptive();
};

void TestEvaluationDialog::network_data()
{
    QTest::addColumn<int>("network");
    QTest::addColumn<int>("augmentation");
    QTest::addColumn<int>("epochs");
    QTest::newRow("small CNN, as trained by default") << int(BuiltinNetwork::Cnn) << int(Augmentation::None) << 3;
    QTest::newRow("batch-norm CNN, shifted") << int(BuiltinNetwork::BnCnn) << int(Augmentation::Shift) << 12;
    QTest::newRow("VGG-style, mirrored") << int(BuiltinNetwork::Vgg) << int(Augmentation::ShiftFlip) << 12;
    QTest::newRow("small CNN, mirrored") << int(BuiltinNetwork::Cnn) << int(Augmentation::ShiftFlip) << 7;
}

void TestEvaluationDialog::network()
{
    QFETCH(int, network);
    QFETCH(int, augmentation);
    QFETCH(int, epochs);
    // The project's model, as defaultCrossValidationTrainConfig() reads it.
    TrainConfig trained;
    trained.useNetwork(BuiltinNetwork(network));
    trained.augmentation = Augmentation(augmentation);
    trained.epochs = epochs;
    const EvaluationSettings fromProject = EvaluationSettings::forTraining(trained);

    EvaluationDialog dialog(60000);
    auto *networkBox = dialog.findChild<QComboBox *>(QStringLiteral("trainNetwork"));
    auto *augmentBox = dialog.findChild<QComboBox *>(QStringLiteral("trainAugmentation"));
    QVERIFY(networkBox && augmentBox);
    // A new dialog starts at the defaults of `traclens-cli evaluate`: the small CNN, unaugmented.
    QCOMPARE(networkBox->currentData().toInt(), int(BuiltinNetwork::Cnn));
    QCOMPARE(augmentBox->currentData().toInt(), int(Augmentation::None));

    dialog.setSettings(fromProject);
    QCOMPARE(networkBox->currentData().toInt(), network);
    // Not reset to the network's default by the network change.
    QCOMPARE(augmentBox->currentData().toInt(), augmentation);
    const EvaluationSettings shown = dialog.settings();
    QCOMPARE(int(shown.network), network);
    QCOMPARE(int(shown.augmentation), augmentation);
    QCOMPARE(shown.epochs, epochs);

    // Every model of the evaluation trains that network with its recipe.
    EvaluationConfig config;
    shown.applyTo(&config);
    QCOMPARE(int(config.train.network), network);
    QCOMPARE(int(config.train.augmentation), augmentation);
    QCOMPARE(config.train.epochs, epochs);
    QCOMPARE(config.train.width, trained.width);
    QCOMPARE(config.train.batchSize, trained.batchSize);
    QCOMPARE(config.train.momentum, trained.momentum);
    QCOMPARE(config.train.weightDecay, trained.weightDecay);

    // The estimate is the small CNN's with the training scaled by the measured epoch times
    // (the TracIn factors, a small share, do not scale).
    EvaluationSettings small = shown;
    small.network = BuiltinNetwork::Cnn;
    const double ratio = estimatedEvaluationSeconds(60000, shown) / estimatedEvaluationSeconds(60000, small);
    const double epochRatio = trainSecondsPer60kEpoch(shown.network) / trainSecondsPer60kEpoch(BuiltinNetwork::Cnn);
    QVERIFY2(ratio <= epochRatio + 1e-9 && ratio >= 0.9 * epochRatio,
             qPrintable(QStringLiteral("estimate ratio %1, epoch-time ratio %2").arg(ratio).arg(epochRatio)));
    if (shown.network != BuiltinNetwork::Cnn)
        QVERIFY(ratio > 1.5);
}

void TestEvaluationDialog::adaptive_data()
{
    QTest::addColumn<bool>("adaptive");
    QTest::addColumn<int>("epochs");
    QTest::addColumn<QString>("estimateSays");
    QTest::newRow("fixed count") << false << 7 << QString();
    QTest::newRow("adaptive, settled on 13") << true << 13 << QStringLiteral("settles on 13 epochs as this project");
    QTest::newRow("adaptive, settled on 4") << true << 4 << QStringLiteral("settles on 4 epochs as this project");
}

void TestEvaluationDialog::adaptive()
{
    QFETCH(bool, adaptive);
    QFETCH(int, epochs);
    QFETCH(QString, estimateSays);
    TrainConfig trained = adaptive ? TrainConfig::adaptiveDefault() : TrainConfig{};
    trained.epochs = epochs; // the count the record says the model trained
    const EvaluationSettings fromProject = EvaluationSettings::forTraining(trained);
    QCOMPARE(fromProject.adaptive, adaptive);
    QCOMPARE(fromProject.expectedEpochs, adaptive ? epochs : 0);

    EvaluationDialog dialog(60000);
    auto *box = dialog.findChild<QSpinBox *>(QStringLiteral("evaluationEpochs"));
    QVERIFY(box);
    dialog.setSettings(fromProject);
    QCOMPARE(box->value(), adaptive ? 0 : epochs);
    if (adaptive)
        QCOMPARE(box->text(), box->specialValueText());
    EvaluationSettings shown = dialog.settings();
    QCOMPARE(shown.adaptive, adaptive);
    QCOMPARE(shown.epochs, epochs);

    // Every model of the evaluation trains as `traclens-cli evaluate --adaptive` (no time
    // budget) or for the fixed count.
    EvaluationConfig config;
    shown.applyTo(&config);
    QCOMPARE(config.train.adaptive.enabled, adaptive);
    QCOMPARE(config.train.adaptive.timeBudgetSeconds, 0.0);
    if (!adaptive)
        QCOMPARE(config.train.epochs, epochs);

    // The estimate: adaptive adds the validation run to the same count; not knowing the count
    // it assumes the maximum, and says "at most".
    QString estimate;
    for (auto *label : dialog.findChildren<QLabel *>())
        if (label->text().startsWith(QStringLiteral("This project has")))
            estimate = label->text();
    QVERIFY(!estimate.isEmpty());
    if (!estimateSays.isEmpty())
        QVERIFY2(estimate.contains(estimateSays), qPrintable(estimate));
    EvaluationSettings fixed = shown;
    fixed.adaptive = false;
    fixed.epochs = epochs;
    EvaluationSettings unknown = shown;
    unknown.adaptive = true;
    unknown.expectedEpochs = 0;
    const double fixedSeconds = estimatedEvaluationSeconds(60000, fixed);
    QVERIFY(estimatedEvaluationSeconds(60000, unknown) > fixedSeconds);
    if (adaptive) {
        QVERIFY(estimatedEvaluationSeconds(60000, shown) > fixedSeconds);
        QVERIFY(estimatedEvaluationSeconds(60000, unknown) >= estimatedEvaluationSeconds(60000, shown));
    }

    // A fixed count typed in turns adaptive off; back at "until accuracy stops improving" the
    // typed count is kept for a later switch, and the estimate says it is an upper bound when
    // the project gave no count to expect.
    box->setValue(12);
    QVERIFY(!dialog.settings().adaptive);
    QCOMPARE(dialog.settings().epochs, 12);
    box->setValue(0);
    QVERIFY(dialog.settings().adaptive);
    QCOMPARE(dialog.settings().epochs, 12);
    if (!adaptive) {
        for (auto *label : dialog.findChildren<QLabel *>())
            if (label->text().startsWith(QStringLiteral("This project has")))
                estimate = label->text();
        QVERIFY2(estimate.contains(QStringLiteral("at most %1 epochs").arg(adaptiveMaxEpochsFor(60000, AdaptiveTraining{})))
                     && estimate.contains(QStringLiteral("up to")),
                 qPrintable(estimate));
    }
}

QTEST_MAIN(TestEvaluationDialog)
#include "test_evaluationdialog.moc"
