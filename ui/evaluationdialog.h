#pragma once
// Project ▸ Run Evaluation… / Report ▸ Run Evaluation…: the settings of a mislabel-detection
// evaluation run from the app — label noise, its seed, the kind of noise (uniform, pair or
// confusion), the built-in network and its augmentation, training epochs (a fixed count, or until
// accuracy stops improving, as the active model trained), and whether to run
// the cleaning loop — with the defaults of `traclens-cli evaluate` and an estimate of how long
// it takes on this project's number of training images.
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
    // Adaptive training (as `traclens-cli evaluate --adaptive`): the model on the noisy labels
    // trains until its held-out accuracy stops improving, and every later training of the
    // evaluation takes the count it settled on. Otherwise every model trains `epochs`.
    bool adaptive = false;
    int epochs = TrainConfig{}.epochs;
    // Adaptive only, for the time estimate: the count the project's own adaptive model settled
    // on; 0 when unknown (the estimate then assumes AdaptiveTraining::maxEpochs, an upper bound).
    int expectedEpochs = 0;
    // The network every model of the evaluation trains (TrainConfig::useNetwork() brings its
    // recipe) and the augmentation; the Report page starts from the active model's.
    BuiltinNetwork network = BuiltinNetwork::Cnn;
    Augmentation augmentation = Augmentation::None;
    // Retrain after reviewing the top of the queue, of the boundary-first order and a random
    // sample (EvaluationConfig's budgets and seeds).
    bool cleaningLoop = true;

    // The settings applied to a config (the rest keeps EvaluationConfig's defaults).
    void applyTo(EvaluationConfig *config) const;
    // The network, augmentation and epochs of a training configuration (e.g.
    // defaultCrossValidationTrainConfig(), which reads the active model's record); adaptive
    // when it is, expecting its `epochs`.
    static EvaluationSettings forTraining(const TrainConfig &train);
};

// Seconds one epoch of the 60,000 Fashion-MNIST images (28×28) takes to train on an idle
// 2-core machine, per network (docs/benchmarks-models.md §7).
double trainSecondsPer60kEpoch(BuiltinNetwork network);

// Seconds the evaluation takes for `trainImages` training images, scaled from the
// Fashion-MNIST timings (trainSecondsPer60kEpoch(); TracIn factors of 70,000 images in
// 5.3 s): adaptive training's validation run (settings.expectedEpochs or the maximum, plus
// the patience, on the part it trains on), the model on the noisy labels, the
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
    // What the epochs box does not show while it says "until accuracy stops improving": the
    // last fixed count, and the adaptive count the estimate expects.
    int m_fixedEpochs = TrainConfig{}.epochs;
    int m_expectedEpochs = 0;
    QDoubleSpinBox *m_noise;
    QSpinBox *m_seed, *m_epochs;
    QComboBox *m_noiseType, *m_network, *m_augment;
    QCheckBox *m_cleaning;
    QLabel *m_estimate;
    QLabel *m_calibrationNote;
};

} // namespace traclens
