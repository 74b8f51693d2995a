#include "evaluationdialog.h"

#include "dialogsize.h"
#include "evaluation/calibration.h"
#include "networkchoice.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QPushButton>
#include <QFormLayout>
#include <QLabel>
#include <QLocale>
#include <QSpinBox>
#include <QStringList>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace traclens {

void EvaluationSettings::applyTo(EvaluationConfig *config) const
{
    config->noiseRate = noiseRate;
    config->noiseSeed = noiseSeed;
    config->noiseType = noiseType;
    config->train.useNetwork(network);
    config->train.augmentation = augmentation;
    config->train.epochs = epochs;
    // As `traclens-cli evaluate --adaptive`: AdaptiveTraining's defaults, no time budget.
    config->train.adaptive.enabled = adaptive;
    if (!cleaningLoop) {
        config->cleaningBudgets.clear();
        config->cleaningUpperBound = false;
        config->seedReplicates = 0;
    } else if (config->folds >= 2) {
        // With folds the queue is the ensemble or cv-boundary, as the noise estimate decides
        // (evaluationDefaultRanking()); the loop reviews the other one too, so the report shows
        // which review pays on this project's data. The one that is the queue is not repeated.
        config->cleaningRankings = calibrationCleaningRankings();
    }
}

EvaluationSettings EvaluationSettings::forTraining(const TrainConfig &train)
{
    EvaluationSettings s;
    s.network = train.network;
    s.augmentation = train.augmentation;
    s.epochs = train.epochs;
    s.adaptive = train.adaptive.enabled;
    s.expectedEpochs = s.adaptive ? train.epochs : 0;
    return s;
}

double trainSecondsPer60kEpoch(BuiltinNetwork network)
{
    // docs/benchmarks-models.md §7: `traclens-cli train --epochs 1` on the 60,000 Fashion-MNIST
    // training images, an idle 2-core machine, 2 threads (bench/run-train-bench.sh).
    switch (network) {
    case BuiltinNetwork::BnCnn:
        return 29.0;
    case BuiltinNetwork::Vgg:
        return 60.0;
    case BuiltinNetwork::Cnn:
        break;
    }
    return 9.0;
}

double estimatedEvaluationSeconds(qint64 trainImages, const EvaluationSettings &settings)
{
    // docs/benchmarks-models.md §4 and §6, an idle 2-core machine: compute writes the factors
    // of 70,000 images in 5.3 s.
    const double trainPerImageEpoch = trainSecondsPer60kEpoch(settings.network) / 60000.0;
    constexpr double factorsPerImage = 5.3 / 70000.0;
    EvaluationConfig config;
    settings.applyTo(&config);
    const int seeds = std::max(1, config.cleaningSeeds);
    // Each review of the loop (queue, random, the other rankings) per budget and seed; with
    // folds one of the rankings above is the queue.
    const int reviews = 2 + int(config.cleaningRankings.size()) - (config.cleaningRankings.empty() ? 0 : 1);
    const double trainings =
        1.0
        // K fold models, each on (K − 1)/K of the images.
        + (config.folds >= 2 ? double(config.folds - 1) : 0.0)
        + (settings.cleaningLoop ? double(reviews * int(config.cleaningBudgets.size()) * seeds
                                          + (config.cleaningUpperBound ? 1 : 0)
                                          + std::max(config.seedReplicates, seeds - 1))
                                 : 0.0)
        + (settings.noiseType == NoiseType::Confusion && !settings.cleaningLoop ? 1.0 : 0.0);
    const double n = double(std::max<qint64>(trainImages, 0));
    int epochs = settings.epochs;
    double validationEpochs = 0.0;
    if (settings.adaptive) {
        const AdaptiveTraining adaptive;
        const int maxEpochs = adaptiveMaxEpochsFor(qint64(n), adaptive);
        epochs = settings.expectedEpochs > 0 ? settings.expectedEpochs : maxEpochs;
        // The validation run goes on `patience` epochs past its best (more on a small
        // validation part), on the part not held out.
        const int patience = adaptivePatience(adaptiveValidationCount(qint64(n), adaptive), adaptive);
        validationEpochs = double(std::min(maxEpochs, epochs + patience))
                           * (1.0 - adaptive.validationFraction);
    }
    return n * (trainPerImageEpoch * (epochs * trainings + validationEpochs) + factorsPerImage);
}

EvaluationDialog::EvaluationDialog(qint64 trainImages, QWidget *parent) : QDialog(parent), m_trainImages(trainImages)
{
    setWindowTitle(tr("Run Mislabel Evaluation"));
    // Wide enough for the explanations to wrap into a few lines, not a narrow column.
    setMinimumWidth(fontMetrics().averageCharWidth() * 108);
    auto *layout = new QVBoxLayout(this);
    auto *intro = new QLabel(
        tr("Flips a share of the training labels at random in a <b>copy</b> of this project's dataset, trains the "
           "chosen built-in network on the noisy labels, and measures how many of the flipped labels each review "
           "ranking finds. Your project and its labels are not changed."));
    intro->setWordWrap(true);
    layout->addWidget(intro);

    auto *form = new QFormLayout;
    m_noise = new QDoubleSpinBox;
    m_noise->setRange(1.0, 50.0);
    m_noise->setDecimals(1);
    m_noise->setSuffix(QStringLiteral(" %"));
    m_noise->setToolTip(tr("Share of the training labels flipped to another class"));
    form->addRow(tr("Label &noise:"), m_noise);
    m_seed = new QSpinBox;
    m_seed->setRange(0, 1000000);
    m_seed->setToolTip(tr("Seed of the label noise: the same seed flips the same labels"));
    form->addRow(tr("Noise &seed:"), m_seed);
    m_noiseType = new QComboBox;
    m_noiseType->setObjectName("noiseType");
    m_noiseType->addItem(tr("Uniform: to any other class"), int(NoiseType::Uniform));
    m_noiseType->addItem(tr("Pair: each class to the next one"), int(NoiseType::Pair));
    m_noiseType->addItem(tr("Confusion: to the classes a model confuses"), int(NoiseType::Confusion));
    m_noiseType->setToolTip(tr("Where a flipped label goes. Confusion first trains the model on the clean labels and "
                               "draws each flip from its mistakes on the test images."));
    form->addRow(tr("Noise &type:"), m_noiseType);
    m_network = makeNetworkBox();
    form->addRow(tr("Net&work:"), m_network);
    m_augment = makeAugmentationBox();
    form->addRow(tr("&Augmentation:"), m_augment);
    followNetworkDefaults(m_network, m_augment);
    m_epochs = new QSpinBox;
    m_epochs->setObjectName(QStringLiteral("evaluationEpochs"));
    m_epochs->setRange(0, 100);
    m_epochs->setSpecialValueText(tr("Until accuracy stops improving"));
    m_epochs->setToolTip(tr("Until accuracy stops improving (like traclens-cli evaluate --adaptive): the model on the "
                            "noisy labels holds out a tenth of them to find how many epochs help, and every later "
                            "model of the evaluation trains that many. Or a fixed count for every model (like "
                            "traclens-cli evaluate --epochs)."));
    form->addRow(tr("Training &epochs:"), m_epochs);
    m_cleaning = new QCheckBox(tr("Run the &cleaning loop"));
    // The loop as EvaluationSettings::applyTo() configures it.
    EvaluationConfig loop;
    EvaluationSettings{}.applyTo(&loop);
    QStringList budgets;
    for (double b : loop.cleaningBudgets)
        budgets << QLocale().toString(b * 100.0, 'f', 0);
    const QString loopText =
        tr("Retrains after fixing the flips found in the top %1 % of the ensemble's order, of the boundary-first "
           "order (one of them is the review queue's default) and of a random sample as large, each with %n "
           "training seeds, to measure what a review gains in test accuracy.",
           nullptr, loop.cleaningSeeds)
            .arg(budgets.join(QStringLiteral(", ")));
    m_cleaning->setToolTip(loopText);
    auto *cleaningHint = new QLabel(loopText);
    cleaningHint->setWordWrap(true);
    cleaningHint->setForegroundRole(QPalette::PlaceholderText);
    auto *cleaning = new QVBoxLayout;
    cleaning->setSpacing(2);
    cleaning->addWidget(m_cleaning);
    cleaning->addWidget(cleaningHint);
    form->addRow(tr("Cleaning:"), cleaning);
    layout->addLayout(form);

    m_calibrationNote = new QLabel(
        tr("The result becomes this project's default review queue: with the cleaning loop, the review that gained "
           "the most test accuracy (the ensemble's order or the boundary-first one, with %1 or more training "
           "seeds); without it, the ranking that found the most flipped labels.")
            .arg(kCalibrationCleaningSeeds));
    m_calibrationNote->setObjectName(QStringLiteral("calibrationNote"));
    m_calibrationNote->setWordWrap(true);
    m_calibrationNote->hide();
    layout->addWidget(m_calibrationNote);

    m_estimate = new QLabel;
    m_estimate->setWordWrap(true);
    layout->addWidget(m_estimate);
    layout->addStretch(1);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("&Run"));
    buttons->button(QDialogButtonBox::Ok)->setDefault(true);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);

    setSettings({});
    connect(m_epochs, &QSpinBox::valueChanged, this, [this](int epochs) {
        if (epochs > 0)
            m_fixedEpochs = epochs;
        updateEstimate();
    });
    connect(m_cleaning, &QCheckBox::toggled, this, &EvaluationDialog::updateEstimate);
    connect(m_noiseType, &QComboBox::currentIndexChanged, this, &EvaluationDialog::updateEstimate);
    connect(m_network, &QComboBox::currentIndexChanged, this, &EvaluationDialog::updateEstimate);
    fitHeightToWidth(this);
}

EvaluationSettings EvaluationDialog::settings() const
{
    EvaluationSettings s;
    s.noiseRate = m_noise->value() / 100.0;
    s.noiseSeed = uint64_t(m_seed->value());
    s.noiseType = NoiseType(m_noiseType->currentData().toInt());
    s.network = BuiltinNetwork(m_network->currentData().toInt());
    s.augmentation = Augmentation(m_augment->currentData().toInt());
    s.adaptive = m_epochs->value() == 0;
    s.epochs = s.adaptive ? m_fixedEpochs : m_epochs->value();
    s.expectedEpochs = m_expectedEpochs;
    s.cleaningLoop = m_cleaning->isChecked();
    return s;
}

void EvaluationDialog::setSettings(const EvaluationSettings &s)
{
    m_noise->setValue(s.noiseRate * 100.0);
    m_seed->setValue(int(s.noiseSeed));
    m_noiseType->setCurrentIndex(std::max(0, m_noiseType->findData(int(s.noiseType))));
    // The network first: changing it resets the augmentation to its default.
    selectItemData(m_network, int(s.network));
    selectItemData(m_augment, int(s.augmentation));
    m_fixedEpochs = std::max(1, s.epochs);
    m_expectedEpochs = s.expectedEpochs;
    m_epochs->setValue(s.adaptive ? 0 : m_fixedEpochs);
    m_cleaning->setChecked(s.cleaningLoop);
    updateEstimate();
}

void EvaluationDialog::setCalibrating(bool calibrating)
{
    setWindowTitle(calibrating ? tr("Calibrate the Review Queue") : tr("Run Mislabel Evaluation"));
    m_calibrationNote->setVisible(calibrating);
    fitHeightToWidth(this);
}

void EvaluationDialog::updateEstimate()
{
    const EvaluationSettings s = settings();
    const double seconds = estimatedEvaluationSeconds(m_trainImages, s);
    const bool upperBound = s.adaptive && s.expectedEpochs <= 0;
    QString time;
    if (seconds < 90)
        time = upperBound ? tr("up to about a minute") : tr("about a minute or less");
    else if (seconds < 90 * 60) // 90 s and more: at least 2 minutes
        time = (upperBound ? tr("up to about %1 minutes") : tr("about %1 minutes")).arg(std::lround(seconds / 60.0));
    else
        time = (upperBound ? tr("up to about %1 hours") : tr("about %1 hours"))
                   .arg(QLocale().toString(seconds / 3600.0, 'f', 1));
    QString epochs;
    if (s.adaptive && !upperBound)
        epochs = tr(", if training settles on %n epochs as this project's model did", nullptr, s.expectedEpochs);
    else if (upperBound)
        epochs = tr(", with at most %n epochs per model", nullptr,
                    adaptiveMaxEpochsFor(m_trainImages, AdaptiveTraining{}));
    m_estimate->setText(
        tr("This project has %1 training images: expect %2 on an idle 2-core machine, longer on a busy one%3 "
           "(scaled from Fashion-MNIST: with this network an epoch of 60,000 images trains in about %4 seconds). "
           "It runs in the background; the status bar shows progress and can cancel, and a second run with the same "
           "settings resumes.")
            .arg(QLocale().toString(m_trainImages), time, epochs)
            .arg(std::lround(trainSecondsPer60kEpoch(s.network))));
}

} // namespace traclens
