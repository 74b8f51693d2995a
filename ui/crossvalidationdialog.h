#pragma once
// Project ▸ Cross-validate…: how many folds, how many epochs each fold model trains, and
// whether the fold models score each image as given and mirrored.
// The epochs start at the active model's count when it was trained in the project; without
// one (an imported model, or none yet) at "Until accuracy stops improving": fold 1 trains
// adaptively and every fold takes the count it chose (core/model/crossvalidation.h). The
// views start at mirroredViewsByDefault(): mirrored for a model trained with mirroring.
//
// Ownership: a plain dialog; the caller owns it. Thread safety: GUI thread only.

#include "model/crossvalidation.h"

#include <QDialog>
#include <QString>

#include <optional>

class QCheckBox;
class QSpinBox;

namespace traclens {

// What the finished cross-validation's fold models were, for the status bar: the count an
// adaptive fold 1 chose, whether they scored mirrored views, and how often their class is
// the label (`noise`: the project's stored estimate, ProjectSession::labelNoise()). Empty
// when none is known. Reads one small file and the stored run's row (on `db`'s thread).
QString crossValidationOutcome(ProjectDb &db, const std::optional<LabelNoiseEstimate> &noise);

class CrossValidationDialog : public QDialog {
    Q_OBJECT
public:
    // `defaults`: the fold models' configuration to start from
    // (defaultCrossValidationTrainConfig()); adaptive shows as epochs 0.
    explicit CrossValidationDialog(const TrainConfig &defaults, QWidget *parent = nullptr);

    // `defaults` with the folds, the epochs and the views shown: a count trains every fold
    // that many epochs, 0 lets fold 1 choose.
    CrossValidationConfig config() const;

    QSpinBox *foldsBox() const { return m_folds; }
    QSpinBox *epochsBox() const { return m_epochs; }
    QCheckBox *mirroredBox() const { return m_mirrored; }

private:
    TrainConfig m_defaults;
    QSpinBox *m_folds, *m_epochs;
    QCheckBox *m_mirrored;
};

} // namespace traclens
