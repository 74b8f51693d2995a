#pragma once
// Project ▸ Train Model…: which built-in network (networkchoice.h: the small, batch-norm or
// VGG-style CNN, with its augmentation) and how it is trained on the project's current labels.
// Adaptive by default (core/model/trainer.h): it trains until held-out accuracy stops
// improving — `patience` epochs without a gain, at most `maxEpochs`, within a time
// budget — with the defaults of `traclens-cli train`; a fixed epoch count is one step
// away. Given the project's size it names the automatic epoch limit and the patience in
// force there (both grow on small data sets).
//
// Ownership: a plain dialog; the caller owns it. Thread safety: GUI thread only.

#include "model/trainer.h"

#include <QDialog>

class QComboBox;
class QSpinBox;

namespace traclens {

class TrainModelDialog : public QDialog {
    Q_OBJECT
public:
    // `trainImages`: the project's training split, so the automatic epoch limit and the
    // patience in force are given for it (0: unknown, the general rule is described).
    explicit TrainModelDialog(qint64 trainImages = 0, QWidget *parent = nullptr);

    // The chosen configuration: TrainConfig::adaptiveDefault() with the budget, maximum
    // and patience shown, or a fixed epoch count.
    TrainConfig config() const;

    QComboBox *networkBox() const { return m_network; }
    QComboBox *augmentationBox() const { return m_augment; }
    QSpinBox *epochsBox() const { return m_epochs; }
    QSpinBox *budgetBox() const { return m_budget; }
    QSpinBox *maxEpochsBox() const { return m_maxEpochs; }
    QSpinBox *patienceBox() const { return m_patience; }

private:
    void updateEnabled();
    void updatePatienceText();

    QComboBox *m_network, *m_augment;
    QSpinBox *m_epochs, *m_budget, *m_maxEpochs, *m_patience;
    qint64 m_trainImages = 0;
};

} // namespace traclens
