// Project ▸ Cross-validate…: the epochs start as the project's default configuration says
// (the active model's count, or "Until accuracy stops improving" when there is none to
// copy), and the chosen folds and epochs reach the configuration: 0 lets fold 1 choose
// the count (adaptive, no time budget), a count trains every fold that many epochs; the
// network and recipe of the defaults are kept either way. A model trained with mirroring
// starts with mirrored views (mirroredViewsByDefault), any other with plain ones, and the
// box decides. The outcome line says what the finished run's fold models did.

#include "crossvalidationdialog.h"

#include "store/projectdb.h"
#include "testproject.h"

#include <QCheckBox>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QtTest>

using namespace traclens;

class TestCrossValidationDialog : public QObject {
    Q_OBJECT
private slots:
    void config_data();
    void config();
    void outcome_data();
    void outcome();
};

void TestCrossValidationDialog::config_data()
{
    QTest::addColumn<bool>("defaultAdaptive"); // no training record to copy
    QTest::addColumn<int>("defaultEpochs");
    QTest::addColumn<int>("chosenEpochs");     // -1: leave the box as it opened
    QTest::addColumn<int>("folds");
    QTest::addColumn<bool>("adaptive");
    QTest::addColumn<int>("epochs");           // the config's count (provisional when adaptive)
    QTest::addColumn<int>("augmentation");
    QTest::addColumn<bool>("mirrored");
    const int shift = int(Augmentation::Shift), flip = int(Augmentation::ShiftFlip), none = int(Augmentation::None);
    QTest::newRow("imported model: fold 1 chooses") << true << 5 << -1 << 5 << true << 5 << shift << false;
    QTest::newRow("imported model, a count given") << true << 5 << 12 << 3 << false << 12 << none << false;
    QTest::newRow("trained here: its count") << false << 9 << -1 << 5 << false << 9 << shift << false;
    QTest::newRow("trained here, let fold 1 choose") << false << 9 << 0 << 4 << true << 9 << shift << false;
    QTest::newRow("trained with mirroring: mirrored views") << false << 9 << -1 << 5 << false << 9 << flip << true;
    QTest::newRow("mirroring, fold 1 chooses") << true << 5 << -1 << 5 << true << 5 << flip << true;
}

void TestCrossValidationDialog::config()
{
    QFETCH(bool, defaultAdaptive);
    QFETCH(int, defaultEpochs);
    QFETCH(int, chosenEpochs);
    QFETCH(int, folds);
    QFETCH(bool, adaptive);
    QFETCH(int, epochs);
    QFETCH(int, augmentation);
    QFETCH(bool, mirrored);
    TrainConfig defaults;
    defaults.useNetwork(BuiltinNetwork::Vgg);
    defaults.augmentation = Augmentation(augmentation);
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
    QCOMPARE(int(config.train.augmentation), augmentation);
    QCOMPARE(dialog.mirroredBox()->isChecked(), mirrored);
    QCOMPARE(config.mirroredViews, mirrored);
    // The user's choice wins over the default, and only the views change.
    dialog.mirroredBox()->setChecked(!mirrored);
    CrossValidationConfig chosen = dialog.config();
    QCOMPARE(chosen.mirroredViews, !mirrored);
    chosen.mirroredViews = mirrored;
    QCOMPARE(chosen.toJson(), config.toJson());
}

void TestCrossValidationDialog::outcome_data()
{
    QTest::addColumn<bool>("adaptive");
    QTest::addColumn<bool>("mirrored");
    QTest::newRow("fold 1 chose the count") << true << false;
    QTest::newRow("a fixed count") << false << false;
    QTest::newRow("a fixed count, mirrored views") << false << true;
}

void TestCrossValidationDialog::outcome()
{
    QFETCH(bool, adaptive);
    QFETCH(bool, mirrored);
    QTemporaryDir dir;
    testing::SyntheticSpec spec;
    spec.trainPerClass = 40; // fold 1 of 2 trains on 60: enough to choose
    testing::TestProject project(dir.filePath("p").toStdString(), spec);
    QVERIFY(project.build(testing::TestProject::Stage::Imported).isOk());
    auto db = ProjectDb::open(project.projectPath());
    QVERIFY(db.ok());
    QVERIFY(crossValidationOutcome(**db, std::nullopt).isEmpty()); // no run yet

    CrossValidationConfig config;
    config.folds = 2;
    config.train = testing::TestProject::tinyTrainConfig();
    config.train.adaptive.enabled = adaptive;
    config.train.adaptive.maxEpochs = 4;
    config.train.adaptive.patience = 2;
    config.mirroredViews = mirrored;
    QVERIFY(runCrossValidation(**db, config).isOk());
    auto noise = storedLabelNoiseEstimate(**db);
    QVERIFY(noise.ok());
    QVERIFY(noise->agreement() >= 0.0);

    const QString text = crossValidationOutcome(**db, *noise);
    const std::optional<TrainingRecord> chosen = adaptiveFoldRecord(**db);
    QCOMPARE(chosen.has_value(), adaptive);
    QCOMPARE(text.contains("fold 1 chose"), adaptive);
    if (adaptive)
        QVERIFY2(text.contains(QString("fold 1 chose %1 epoch").arg(chosen->epochs)), qPrintable(text));
    const QString agreement = QLocale().toString(100.0 * noise->agreement(), 'f', 1) + " %";
    QVERIFY2(text.contains("the fold models' class is the label for " + agreement), qPrintable(text));
    QCOMPARE(text.contains("each image scored as given and mirrored"), mirrored);
    // Without the estimate only the count and the views are said.
    QCOMPARE(crossValidationOutcome(**db, std::nullopt).isEmpty(), !adaptive && !mirrored);
}

QTEST_MAIN(TestCrossValidationDialog)
#include "test_crossvalidationdialog.moc"
