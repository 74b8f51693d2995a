#include "trainmodeldialog.h"

#include "dialogsize.h"
#include "networkchoice.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace traclens {

TrainModelDialog::TrainModelDialog(qint64 trainImages, QWidget *parent)
    : QDialog(parent), m_trainImages(std::max<qint64>(0, trainImages))
{
    setWindowTitle(tr("Train Model"));
    setMinimumWidth(fontMetrics().averageCharWidth() * 90);
    const TrainConfig defaults = TrainConfig::adaptiveDefault();
    // The training-split size whose validation part reaches patienceReference: below it the
    // patience and the automatic limit grow.
    const QString smallProject = QLocale().toString(
        qlonglong(std::llround(double(defaults.adaptive.patienceReference) / defaults.adaptive.validationFraction)));
    auto *layout = new QVBoxLayout(this);
    auto *intro = new QLabel(tr("Trains a built-in network on the current labels, one checkpoint per epoch. The new "
                                "model becomes active and its influence data is computed next; the current model "
                                "is kept. It runs in the background and can be cancelled from the status bar."));
    intro->setWordWrap(true);
    layout->addWidget(intro);

    auto *form = new QFormLayout;
    m_network = makeNetworkBox();
    form->addRow(tr("&Network:"), m_network);

    m_augment = makeAugmentationBox();
    form->addRow(tr("&Augmentation:"), m_augment);

    m_epochs = new QSpinBox;
    m_epochs->setObjectName("trainEpochs");
    m_epochs->setRange(0, 100);
    m_epochs->setSpecialValueText(tr("Until accuracy stops improving"));
    m_epochs->setValue(0);
    m_epochs->setToolTip(tr("Until accuracy stops improving: a tenth of the training split is held out to find how "
                            "many epochs help, then the model trains on all of it for that many. Or a fixed count."));
    form->addRow(tr("&Epochs:"), m_epochs);

    m_budget = new QSpinBox;
    m_budget->setObjectName("trainTimeBudget");
    m_budget->setRange(0, 24 * 60);
    m_budget->setSpecialValueText(tr("No limit"));
    m_budget->setSuffix(tr(" min"));
    m_budget->setValue(int(defaults.adaptive.timeBudgetSeconds / 60.0));
    m_budget->setToolTip(tr("Time for the whole training. It stops when another epoch would not fit; a model "
                            "stopped while still improving gets a warning."));
    form->addRow(tr("Time &budget:"), m_budget);

    m_maxEpochs = new QSpinBox;
    m_maxEpochs->setObjectName("trainMaxEpochs");
    m_maxEpochs->setRange(0, 200);
    // 0 is the automatic limit (trainer.h: adaptiveMaxEpochs).
    m_maxEpochs->setSpecialValueText(
        m_trainImages > 0
            ? tr("Automatic: %n epochs for this project", nullptr, adaptiveMaxEpochsFor(m_trainImages, defaults.adaptive))
            : tr("Automatic: %1 epochs, more on small data sets").arg(kDefaultMaxEpochs));
    m_maxEpochs->setValue(defaults.adaptive.maxEpochs);
    m_maxEpochs->setToolTip(tr("Training stops after this many epochs even while accuracy still improves. "
                               "Automatic: %1 epochs, or more on a project under %2 images, whose epochs are a "
                               "few steps each (%3 at %4 images)")
                                .arg(kDefaultMaxEpochs)
                                .arg(smallProject)
                                .arg(adaptiveMaxEpochsFor(1000, defaults.adaptive))
                                .arg(QLocale().toString(1000)));
    form->addRow(tr("&At most:"), m_maxEpochs);
    m_maxEpochs->setSuffix(tr(" epochs"));

    m_patience = new QSpinBox;
    m_patience->setObjectName("trainPatience");
    m_patience->setRange(1, 20);
    m_patience->setValue(defaults.adaptive.patience);

    m_patience->setToolTip(tr("Training stops when held-out accuracy (averaged over %2 epochs) has not improved "
                              "by %1 points for this many epochs in a row; more patience rides out a slow stretch, "
                              "at the cost of time. A project under %3 images holds out fewer than %4, whose "
                              "accuracy jumps by chance, and waits longer: %5 epochs at %6 held out")
                               .arg(100.0 * defaults.adaptive.minDelta, 0, 'f', 1)
                               .arg(defaults.adaptive.smoothing)
                               .arg(smallProject)
                               .arg(QLocale().toString(qlonglong(defaults.adaptive.patienceReference)))
                               .arg(adaptivePatience(defaults.adaptive.minValidation, defaults.adaptive))
                               .arg(defaults.adaptive.minValidation));
    form->addRow(tr("Stop a&fter:"), m_patience);
    layout->addLayout(form);
    layout->addStretch(1);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    QPushButton *train = buttons->button(QDialogButtonBox::Ok);
    train->setText(tr("&Train"));
    train->setDefault(true);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);

    connect(m_epochs, &QSpinBox::valueChanged, this, &TrainModelDialog::updateEnabled);
    connect(m_patience, &QSpinBox::valueChanged, this, &TrainModelDialog::updatePatienceText);
    updatePatienceText();
    followNetworkDefaults(m_network, m_augment);
    updateEnabled();
    fitHeightToWidth(this);
}

TrainConfig TrainModelDialog::config() const
{
    TrainConfig config = TrainConfig::adaptiveDefault();
    config.useNetwork(BuiltinNetwork(m_network->currentData().toInt()));
    config.augmentation = Augmentation(m_augment->currentData().toInt());
    if (m_epochs->value() > 0) {
        config.adaptive.enabled = false;
        config.epochs = m_epochs->value();
    } else {
        config.adaptive.timeBudgetSeconds = m_budget->value() * 60.0;
        config.adaptive.maxEpochs = m_maxEpochs->value();
        config.adaptive.patience = m_patience->value();
    }
    return config;
}

// The patience typed is the one for large data sets; on a small one the trainer waits
// longer (trainer.h: adaptivePatience), and the box says by how much.
void TrainModelDialog::updatePatienceText()
{
    if (m_trainImages <= 0) {
        m_patience->setSuffix(tr(" epochs without improvement, more on small data sets"));
        return;
    }
    AdaptiveTraining a;
    a.patience = m_patience->value();
    const int inForce = adaptivePatience(adaptiveValidationCount(m_trainImages, a), a);
    m_patience->setSuffix(inForce == a.patience ? tr(" epochs without improvement")
                                                : tr(" epochs without improvement, %1 on this project").arg(inForce));
}

void TrainModelDialog::updateEnabled()
{
    // Budget, maximum and patience steer the adaptive mode only.
    const bool adaptive = m_epochs->value() == 0;
    m_budget->setEnabled(adaptive);
    m_maxEpochs->setEnabled(adaptive);
    m_patience->setEnabled(adaptive);
}

} // namespace traclens
