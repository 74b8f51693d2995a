// Project ▸ Train Model…: adaptive training by default with the command line's defaults
// (time budget, at most N epochs, patience); the adaptive settings reach the config and
// are disabled once a fixed epoch count is chosen. The network choice brings its recipe
// and its default augmentation, which the person may still change.

#include "trainmodeldialog.h"

#include <QComboBox>
#include <QSpinBox>
#include <QtTest>

using namespace traclens;

class TestTrainModelDialog : public QObject {
    Q_OBJECT
private slots:
    void config_data();
    void config();
    void network_data();
    void network();
    void projectSize_data();
    void projectSize();
};

void TestTrainModelDialog::config_data()
{
    QTest::addColumn<int>("epochs");     // 0: until accuracy stops improving
    QTest::addColumn<int>("budget");     // minutes, 0 = no limit
    QTest::addColumn<int>("maxEpochs");
    QTest::addColumn<int>("patience");
    QTest::newRow("defaults") << 0 << -1 << -1 << -1;
    QTest::newRow("adaptive, own limits") << 0 << 15 << 8 << 3;
    QTest::newRow("adaptive, no time limit") << 0 << 0 << 30 << 1;
    QTest::newRow("fixed epochs: adaptive settings unused") << 5 << 15 << 8 << 3;
}

void TestTrainModelDialog::config()
{
    QFETCH(int, epochs);
    QFETCH(int, budget);
    QFETCH(int, maxEpochs);
    QFETCH(int, patience);
    TrainModelDialog dialog;
    const TrainConfig defaults = TrainConfig::adaptiveDefault();
    QCOMPARE(dialog.epochsBox()->value(), 0);
    QCOMPARE(dialog.budgetBox()->value() * 60.0, defaults.adaptive.timeBudgetSeconds);
    QCOMPARE(dialog.maxEpochsBox()->value(), defaults.adaptive.maxEpochs);
    // The automatic limit (0) by its name, not as "0 epochs".
    QVERIFY2(dialog.maxEpochsBox()->text().startsWith(QStringLiteral("Automatic: 20 epochs")),
             qPrintable(dialog.maxEpochsBox()->text()));
    QCOMPARE(dialog.patienceBox()->value(), defaults.adaptive.patience);
    if (budget >= 0) {
        dialog.budgetBox()->setValue(budget);
        dialog.maxEpochsBox()->setValue(maxEpochs);
        dialog.patienceBox()->setValue(patience);
    }
    dialog.epochsBox()->setValue(epochs);
    const bool adaptive = epochs == 0;
    QCOMPARE(dialog.budgetBox()->isEnabled(), adaptive);
    QCOMPARE(dialog.maxEpochsBox()->isEnabled(), adaptive);
    QCOMPARE(dialog.patienceBox()->isEnabled(), adaptive);

    const TrainConfig config = dialog.config();
    QCOMPARE(config.adaptive.enabled, adaptive);
    if (!adaptive) {
        QCOMPARE(config.epochs, epochs);
    } else if (budget < 0) {
        QCOMPARE(config.adaptive.timeBudgetSeconds, defaults.adaptive.timeBudgetSeconds);
        QCOMPARE(config.adaptive.maxEpochs, defaults.adaptive.maxEpochs);
        QCOMPARE(config.adaptive.patience, defaults.adaptive.patience);
    } else {
        QCOMPARE(config.adaptive.timeBudgetSeconds, budget * 60.0);
        QCOMPARE(config.adaptive.maxEpochs, maxEpochs);
        QCOMPARE(config.adaptive.patience, patience);
    }
}

void TestTrainModelDialog::network_data()
{
    QTest::addColumn<int>("network");
    QTest::addColumn<int>("augmentation"); // −1: the network's default
    QTest::addColumn<int>("expectedAugmentation");
    QTest::newRow("small CNN") << int(BuiltinNetwork::Cnn) << -1 << int(Augmentation::None);
    QTest::newRow("batch-norm CNN") << int(BuiltinNetwork::BnCnn) << -1 << int(Augmentation::Shift);
    QTest::newRow("batch-norm CNN, mirrored") << int(BuiltinNetwork::BnCnn) << int(Augmentation::ShiftFlip)
                                              << int(Augmentation::ShiftFlip);
    QTest::newRow("small CNN, shifted") << int(BuiltinNetwork::Cnn) << int(Augmentation::Shift)
                                        << int(Augmentation::Shift);
    QTest::newRow("VGG-style CNN") << int(BuiltinNetwork::Vgg) << -1 << int(Augmentation::Shift);
}

void TestTrainModelDialog::network()
{
    QFETCH(int, network);
    QFETCH(int, augmentation);
    QFETCH(int, expectedAugmentation);
    TrainModelDialog dialog;
    QCOMPARE(dialog.networkBox()->currentData().toInt(), int(BuiltinNetwork::Cnn));
    QCOMPARE(dialog.augmentationBox()->currentData().toInt(), int(Augmentation::None));
    // Through the batch-norm network and back, as a person trying both would.
    dialog.networkBox()->setCurrentIndex(dialog.networkBox()->findData(int(BuiltinNetwork::BnCnn)));
    dialog.networkBox()->setCurrentIndex(dialog.networkBox()->findData(network));
    if (augmentation >= 0)
        dialog.augmentationBox()->setCurrentIndex(dialog.augmentationBox()->findData(augmentation));
    const TrainConfig config = dialog.config();
    QCOMPARE(int(config.network), network);
    QCOMPARE(int(config.augmentation), expectedAugmentation);
    TrainConfig recipe;
    recipe.useNetwork(BuiltinNetwork(network));
    QCOMPARE(config.width, recipe.width);
    QCOMPARE(config.embeddingDim, recipe.embeddingDim);
    QCOMPARE(config.momentum, recipe.momentum);
    QCOMPARE(config.batchSize, recipe.batchSize);
    QVERIFY(config.adaptive.enabled);
}

// Given the project's training split, the automatic limit and the patience in force on it
// are named (trainer.h: adaptiveMaxEpochs, adaptivePatience); the config keeps the values
// typed, and the trainer scales them.
void TestTrainModelDialog::projectSize_data()
{
    QTest::addColumn<qint64>("trainImages");
    QTest::addColumn<int>("patience");
    QTest::addColumn<QString>("limitText");
    QTest::addColumn<QString>("patienceText");
    QTest::newRow("unknown") << qint64(0) << 4 << "Automatic: 20 epochs, more on small data sets"
                             << "4 epochs without improvement, more on small data sets";
    QTest::newRow("600 images (100 held out)") << qint64(600) << 4 << "Automatic: 64 epochs for this project"
                                               << "4 epochs without improvement, 13 on this project";
    QTest::newRow("600 images, patience 2") << qint64(600) << 2 << "Automatic: 64 epochs for this project"
                                            << "2 epochs without improvement, 7 on this project";
    QTest::newRow("5,000 images (500 held out)") << qint64(5000) << 4 << "Automatic: 29 epochs for this project"
                                                 << "4 epochs without improvement, 6 on this project";
    QTest::newRow("60,000 images") << qint64(60000) << 4 << "Automatic: 20 epochs for this project"
                                   << "4 epochs without improvement";
}

void TestTrainModelDialog::projectSize()
{
    QFETCH(qint64, trainImages);
    QFETCH(int, patience);
    QFETCH(QString, limitText);
    QFETCH(QString, patienceText);
    TrainModelDialog dialog(trainImages);
    dialog.patienceBox()->setValue(patience);
    QCOMPARE(dialog.maxEpochsBox()->text(), limitText);
    QCOMPARE(dialog.patienceBox()->text(), patienceText);
    const TrainConfig config = dialog.config();
    QCOMPARE(config.adaptive.maxEpochs, 0);
    QCOMPARE(config.adaptive.patience, patience);
}

QTEST_MAIN(TestTrainModelDialog)
#include "test_trainmodeldialog.moc"
