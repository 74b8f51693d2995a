// Project ▸ Cross-validate…: the epochs start as the project's default configuration says
// (the active model's count, or "Until accuracy stops improving" when there is none to
// copy), and the chosen folds and epochs reach the configuration: 0 lets fold 1 choose
// the count (adaptive, no time budget), a count trains every fold that many epochs; the
// network and recipe of the defaults are kept either way.

#include "crossvalidationdialog.h"

#include <QSpinBox>
#include <QtTest>

using namespace traclens;

class TestCrossValidationDialog : public QObject {
    Q_OBJECT
private slots:
    void config_data();
    void config();
};

void TestCrossValidationDialog::config_data()
{
    QTest::addColumn<bool>("defaultAdaptive"); // no training record to copy
    QTest::addColumn<int>("defaultEpochs");
    QTest::addColumn<int>("chosenEpochs");     // -1: leave the box as it opened
    QTest::addColumn<int>("folds");
    QTest::addColumn<bool>("adaptive");
    QTest::addColumn<int>("epochs");           // the config's count (provisional when adaptive)
    QTest::newRow("imported model: fold 1 chooses") << true << 5 << -1 << 5 << true << 5;
    QTest::newRow("imported model, a count given") << true << 5 << 12 << 3 << false << 12;
    QTest::newRow("trained here: its count") << false << 9 << -1 << 5 << false << 9;
    QTest::newRow("trained here, let fold 1 choose") << false << 9 << 0 << 4 << true << 9;
}

void TestCrossValidationDialog::config()
{
    QFETCH(bool, defaultAdaptive);
    QFETCH(int, defaultEpochs);
    QFETCH(int, chosenEpochs);
    QFETCH(int, folds);
    QFETCH(bool, adaptive);
    QFETCH(int, epochs);
    TrainConfig defaults;
    defaults.useNetwork(BuiltinNetwork::Vgg);
    defaults.epochs = defaultEpochs;
    defaults.adaptive.enabled = defaultAdaptive;
    defaults.adaptive.timeBudgetSeconds = 600.0;
    CrossValidationDialog dialog(defaults);
    QCOMPARE(dialog.epochsBox()->value(), defaultAdaptive ? 0 : defaultEpochs);
    QCOMPARE(dialog.epochsBox()->text(), defaultAdaptive ? QString("Until accuracy stops improving")
                                                         : QString::number(defaultEpochs));
    QCOMPARE(dialog.foldsBox()->value(), CrossValidationConfig{}.folds);
    if (chosenEpochs >= 0)
        dialog.epochsBox()->setValue(chosenEpochs);
    dialog.foldsBox()->setValue(folds);

    const CrossValidationConfig config = dialog.config();
    QCOMPARE(config.folds, folds);
    QCOMPARE(config.train.adaptive.enabled, adaptive);
    QCOMPARE(config.train.epochs, epochs);
    if (adaptive)
        QCOMPARE(config.train.adaptive.timeBudgetSeconds, 0.0);
    QCOMPARE(config.train.network, BuiltinNetwork::Vgg);
    QCOMPARE(config.train.momentum, defaults.momentum);
}

QTEST_MAIN(TestCrossValidationDialog)
#include "test_crossvalidationdialog.moc"
