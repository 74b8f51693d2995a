#pragma once
// Project ▸ Run Evaluation… / Report ▸ Run Evaluation…: the settings of a mislabel-detection
// evaluation run from the app — label noise, its seed, the kind of noise (uniform, pair or
// confusion), training epochs, and whether to run the cleaning loop — with the defaults of
// `traclens-cli evaluate` and an estimate of how long it takes on this project's number of
// training images.
//
// Ownership: a plain dialog; the caller owns it. Thread safety: GUI thread only.

#include "evaluation/evaluation.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QSpinBox;

namespace traclens {

struct EvaluationSettings {
    double noiseRate = 0.1;   // EvaluationConfig's defaults
    uint64_t noiseSeed = 1;
    NoiseType noiseType = NoiseType::Uniform;
    int epochs = TrainConfig{}.epochs;
    // Retrain after reviewing the top of the queue, of the boundary-first order and a random
    // sample (EvaluationConfig's budgets and seeds).
    bool cleaningLoop = true;

    // The settings applied to a config (the rest keeps EvaluationConfig's defaults).
    void applyTo(EvaluationConfig *config) const;
};

// Seconds the evaluation takes for `trainImages` training images, scaled from the
// Fashion-MNIST run in docs/evaluation (60,000 images, 3 epochs, 2 cores: 17.8 min of
// training per model, 4.9 min of TracIn factors): the model on the noisy labels, the
// cross-validation's fold models and, with the cleaning loop, every review's retraining per
// budget and seed, the seed replicates and the "every flip fixed" run. Confusion noise
// trains one more model (on the clean labels) unless the cleaning loop runs, whose "every
// flip fixed" training it then replaces.
double estimatedEvaluationSeconds(qint64 trainImages, const EvaluationSettings &settings);

class EvaluationDialog : public QDialog {
    Q_OBJECT
public:
    EvaluationDialog(qint64 trainImages, QWidget *parent = nullptr);

    EvaluationSettings settings() const;
    void setSettings(const EvaluationSettings &settings);
    // Report ▸ Calibrate…: the title and a note (object name "calibrationNote") on what
    // becomes the project's default (calibration.h bestCalibrationRanking()).
    void setCalibrating(bool calibrating);

private:
    void updateEstimate();

    qint64 m_trainImages;
    QDoubleSpinBox *m_noise;
    QSpinBox *m_seed, *m_epochs;
    QComboBox *m_noiseType;
    QCheckBox *m_cleaning;
    QLabel *m_estimate;
    QLabel *m_calibrationNote;
};

} // namespace traclens
