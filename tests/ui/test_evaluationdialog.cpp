// Report ▸ Run Evaluation… and Calibrate…: the dialog trains the network it shows. Its
// settings carry the network and augmentation into the evaluation's training config with
// that network's recipe; settings read from a project's training config (the active model's)
// come back unchanged, the augmentation included; and the time estimate scales with the
// network's measured epoch time.

#include "evaluationdialog.h"

#include <QComboBox>
#include <QtTest>

using namespace traclens;

class TestEvaluationDialog : public QObject {
    Q_OBJECT
private slots:
    void network_data();
    void network();
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

QTEST_MAIN(TestEvaluationDialog)
#include "test_evaluationdialog.moc"
