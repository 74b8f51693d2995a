#pragma once
// Project ▸ Cross-validate…: how many folds, and how many epochs each fold model trains.
// The epochs start at the active model's count when it was trained in the project; without
// one (an imported model, or none yet) at "Until accuracy stops improving": fold 1 trains
// adaptively and every fold takes the count it chose (core/model/crossvalidation.h).
//
// Ownership: a plain dialog; the caller owns it. Thread safety: GUI thread only.

#include "model/crossvalidation.h"

#include <QDialog>
#include <QString>

#include <optional>

class QSpinBox;

namespace traclens {

// What the finished cross-validation's fold models were, for the status bar: the count an
// adaptive fold 1 chose, and how often their class is the label (`noise`: the project's
// stored estimate, ProjectSession::labelNoise()). Empty when neither is known. Reads one
// small file.
QString crossValidationOutcome(const ProjectDb &db, const std::optional<LabelNoiseEstimate> &noise);

class CrossValidationDialog : public QDialog {
    Q_OBJECT
public:
    // `defaults`: the fold models' configuration to start from
    // (defaultCrossValidationTrainConfig()); adaptive shows as epochs 0.
    explicit CrossValidationDialog(const TrainConfig &defaults, QWidget *parent = nullptr);

    // `defaults` with the folds and the epochs shown: a count trains every fold that many
    // epochs, 0 lets fold 1 choose.
    CrossValidationConfig config() const;

    QSpinBox *foldsBox() const { return m_folds; }
    QSpinBox *epochsBox() const { return m_epochs; }

private:
    TrainConfig m_defaults;
    QSpinBox *m_folds, *m_epochs;
};

} // namespace traclens
