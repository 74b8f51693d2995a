#include "crossvalidationdialog.h"

#include "store/projectdb.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLocale>
#include <QSpinBox>

namespace traclens {

QString crossValidationOutcome(ProjectDb &db, const std::optional<LabelNoiseEstimate> &noise)
{
    QStringList parts;
    if (const std::optional<TrainingRecord> chosen = adaptiveFoldRecord(db))
        parts << QObject::tr("fold 1 chose %n epochs", nullptr, chosen->epochs);
    // A status-bar line is no place for a read error: an unreadable run says nothing.
    auto run = db.crossValidationRun();
    if (run.ok() && run->has_value() && scoredMirroredViews(**run))
        parts << QObject::tr("each image scored as given and mirrored");
    if (noise && noise->agreement() >= 0.0)
        parts << QObject::tr("the fold models' class is the label for %1 % of the examples they did not train on")
                     .arg(QLocale().toString(100.0 * noise->agreement(), 'f', 1));
    return parts.join(QStringLiteral("; "));
}

CrossValidationDialog::CrossValidationDialog(const TrainConfig &defaults, QWidget *parent)
    : QDialog(parent), m_defaults(defaults)
{
    setWindowTitle(tr("Cross-validate"));
    setMinimumWidth(fontMetrics().averageCharWidth() * 70);
    auto *form = new QFormLayout(this);
    auto *intro = new QLabel(tr("Train the built-in network once per fold on the other folds, so every training "
                                "example is scored by a model that never saw it. A cancelled run continues where it "
                                "stopped."));
    intro->setWordWrap(true);
    form->addRow(intro);
    m_folds = new QSpinBox;
    m_folds->setObjectName("crossValidationFolds");
    m_folds->setRange(2, 20);
    m_folds->setValue(CrossValidationConfig{}.folds);
    m_epochs = new QSpinBox;
    m_epochs->setObjectName("crossValidationEpochs");
    m_epochs->setRange(0, 100);
    m_epochs->setSpecialValueText(tr("Until accuracy stops improving"));
    m_epochs->setValue(defaults.adaptive.enabled ? 0 : defaults.epochs);
    m_epochs->setToolTip(tr("Epochs of each fold model; by default as many as the active model trained. "
                            "\"Until accuracy stops improving\": the first fold trains until its held-out "
                            "accuracy stops improving, and every fold takes the count it chose."));
    m_mirrored = new QCheckBox(tr("Score each image as given and &mirrored left–right"));
    m_mirrored->setObjectName("crossValidationMirrored");
    m_mirrored->setChecked(mirroredViewsByDefault(defaults));
    m_mirrored->setToolTip(tr("The fold models average their probabilities for the image and its mirror. On by "
                              "default for a model trained with mirroring, where it found a few more wrong "
                              "labels; a model that never saw mirrored images loses some with it. Changing only "
                              "this scores the trained fold models again; nothing is trained."));
    form->addRow(tr("&Folds:"), m_folds);
    form->addRow(tr("&Epochs:"), m_epochs);
    form->addRow(tr("Views:"), m_mirrored);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    form->addRow(buttons);
}

CrossValidationConfig CrossValidationDialog::config() const
{
    CrossValidationConfig config;
    config.folds = m_folds->value();
    config.train = m_defaults;
    config.train.adaptive.enabled = m_epochs->value() == 0;
    if (config.train.adaptive.enabled) // the command line's choice: no time budget, so a resume replays it
        config.train.adaptive.timeBudgetSeconds = 0.0;
    else
        config.train.epochs = m_epochs->value();
    config.mirroredViews = m_mirrored->isChecked();
    return config;
}

} // namespace traclens
