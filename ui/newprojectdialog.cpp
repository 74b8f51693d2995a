#include "newprojectdialog.h"

#include "appsettings.h"
#include "data/dataset.h"
#include "dialogsize.h"
#include "model/modelspec.h"
#include "networkchoice.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMessageBox>
#include <QPushButton>
#include <QRadioButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace traclens {

NewProjectDialog::NewProjectDialog(QWidget *parent) : QDialog(parent)
{
    setWindowTitle(tr("New Project"));
    setMinimumWidth(640);
    auto *layout = new QVBoxLayout(this);
    layout->setSpacing(12);

    auto *dataBox = new QGroupBox(tr("Dataset"));
    auto *dataLayout = new QVBoxLayout(dataBox);
    auto *dataRow = new QHBoxLayout;
    m_dataset = new QLineEdit;
    m_dataset->setPlaceholderText(tr("A folder of class sub-folders, a CSV manifest, or a folder of IDX files"));
    auto *folder = new QPushButton(tr("&Folder…"));
    auto *csv = new QPushButton(tr("C&SV…"));
    folder->setToolTip(tr("Choose a folder of class sub-folders or of IDX files"));
    csv->setToolTip(tr("Choose a CSV manifest with path,label[,split] columns"));
    dataRow->addWidget(m_dataset, 1);
    dataRow->addWidget(folder);
    dataRow->addWidget(csv);
    dataLayout->addLayout(dataRow);
    m_datasetInfo = new QLabel(tr("Layouts: <i>root/[train|test]/&lt;class&gt;/*.png</i>, a CSV with "
                                  "<i>path,label[,split]</i>, or MNIST-style IDX files."));
    m_datasetInfo->setWordWrap(true);
    m_datasetInfo->setForegroundRole(QPalette::PlaceholderText);
    dataLayout->addWidget(m_datasetInfo);
    layout->addWidget(dataBox);

    auto *modelBox = new QGroupBox(tr("Model"));
    auto *modelLayout = new QVBoxLayout(modelBox);
    m_train = new QRadioButton(tr("&Train a built-in network on this dataset"));
    m_train->setChecked(true);
    modelLayout->addWidget(m_train);
    auto *trainForm = new QFormLayout;
    trainForm->setContentsMargins(24, 0, 0, 0);
    m_epochs = new QSpinBox;
    m_epochs->setRange(0, 100);
    // 0: adaptive training (core/model/trainer.h), the default.
    m_epochs->setSpecialValueText(tr("Until accuracy stops improving"));
    m_epochs->setValue(0);
    m_epochs->setToolTip(tr("Until accuracy stops improving: a tenth of the training split is held out to find how "
                            "many epochs help (within %1 minutes in all), then the model trains on all of it for "
                            "that many. Or a fixed count.")
                             .arg(kDefaultTimeBudgetMinutes));
    m_width = new QSpinBox;
    m_width->setRange(4, 128);
    m_width->setValue(TrainConfig{}.width);
    m_width->setToolTip(tr("How many filters the model's first layer has (channels of the first convolution); "
                           "wider learns more and trains slower"));
    m_network = makeNetworkBox();
    m_augment = makeAugmentationBox();
    followNetworkDefaults(m_network, m_augment);
    // Each network's own width (TrainConfig::useNetwork()); the user may change it after.
    connect(m_network, &QComboBox::currentIndexChanged, this, [this] {
        TrainConfig c;
        c.useNetwork(BuiltinNetwork(m_network->currentData().toInt()));
        m_width->setValue(c.width);
    });
    trainForm->addRow(tr("&Network:"), m_network);
    trainForm->addRow(tr("Au&gmentation:"), m_augment);
    trainForm->addRow(tr("&Epochs (one checkpoint each):"), m_epochs);
    trainForm->addRow(tr("&Width:"), m_width);
    modelLayout->addLayout(trainForm);
    m_import = new QRadioButton(tr("&Import a trained model (traclens-model/1 directory)"));
    modelLayout->addWidget(m_import);
    auto *importLayout = new QVBoxLayout;
    importLayout->setContentsMargins(24, 0, 0, 0);
    auto *modelRow = new QHBoxLayout;
    m_modelDir = new QLineEdit;
    m_modelDir->setObjectName("modelDirectory");
    m_modelDir->setPlaceholderText(tr("Directory holding traclens-model.json and its checkpoints"));
    auto *modelBrowse = new QPushButton(tr("&Browse…"));
    modelBrowse->setToolTip(tr("Choose the model directory"));
    modelRow->addWidget(m_modelDir, 1);
    modelRow->addWidget(modelBrowse);
    importLayout->addLayout(modelRow);
    // The same choice, wording and default as Project ▸ Import Model… (importmodeldialog.h).
    m_copyModel = new QCheckBox(tr("Co&py the model into the project"));
    m_copyModel->setObjectName("copyModel");
    m_copyModel->setChecked(true);
    m_copyModel->setToolTip(tr("Keeps a copy of traclens-model.json and its checkpoints in the project's folder, "
                               "so the project keeps working when the training folder is moved or deleted"));
    importLayout->addWidget(m_copyModel);
    auto *copyHint = new QLabel(tr("A copy keeps the project working when the training folder is moved or deleted. "
                                   "Importing runs the checkpoints to check them: import only models from people you "
                                   "trust."));
    copyHint->setWordWrap(true);
    copyHint->setForegroundRole(QPalette::PlaceholderText);
    importLayout->addWidget(copyHint);
    modelLayout->addLayout(importLayout);
    layout->addWidget(modelBox);

    auto *projectBox = new QGroupBox(tr("Project file"));
    auto *projectRow = new QHBoxLayout(projectBox);
    m_project = new QLineEdit;
    m_project->setPlaceholderText(tr("Where to save the project (.traclens); suggested once a dataset is chosen"));
    auto *projectBrowse = new QPushButton(tr("Sa&ve As…"));
    projectRow->addWidget(m_project, 1);
    projectRow->addWidget(projectBrowse);
    layout->addWidget(projectBox);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("&Create"));
    layout->addWidget(buttons);

    connect(folder, &QPushButton::clicked, this, &NewProjectDialog::chooseDatasetFolder);
    connect(csv, &QPushButton::clicked, this, &NewProjectDialog::chooseDatasetCsv);
    connect(projectBrowse, &QPushButton::clicked, this, &NewProjectDialog::chooseProjectFile);
    connect(modelBrowse, &QPushButton::clicked, this, &NewProjectDialog::chooseModelDirectory);
    connect(m_dataset, &QLineEdit::textChanged, this, &NewProjectDialog::suggestProjectPath);
    connect(m_project, &QLineEdit::textEdited, this, [this] { m_projectEdited = true; });
    connect(m_train, &QRadioButton::toggled, this, &NewProjectDialog::updateEnabled);
    connect(buttons, &QDialogButtonBox::accepted, this, &NewProjectDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &NewProjectDialog::reject);
    updateEnabled();
    // Its full height: a first show would otherwise cap it at 2/3 of a 720-pixel screen,
    // squeezing every row.
    fitHeightToWidth(this);
}

void NewProjectDialog::updateEnabled()
{
    m_epochs->setEnabled(m_train->isChecked());
    m_width->setEnabled(m_train->isChecked());
    m_network->setEnabled(m_train->isChecked());
    m_augment->setEnabled(m_train->isChecked());
    m_modelDir->setEnabled(m_import->isChecked());
    m_copyModel->setEnabled(m_import->isChecked());
}

void NewProjectDialog::chooseDatasetFolder()
{
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Dataset Folder"), AppSettings::lastDirectory("dataset"));
    if (dir.isEmpty())
        return;
    AppSettings::setLastDirectory("dataset", QFileInfo(dir).absolutePath());
    m_dataset->setText(dir);
}

void NewProjectDialog::chooseDatasetCsv()
{
    const QString file = QFileDialog::getOpenFileName(this, tr("CSV Manifest"), AppSettings::lastDirectory("dataset"),
                                                      tr("CSV files (*.csv);;All files (*)"));
    if (file.isEmpty())
        return;
    AppSettings::setLastDirectory("dataset", QFileInfo(file).absolutePath());
    m_dataset->setText(file);
}

void NewProjectDialog::chooseProjectFile()
{
    QString file = QFileDialog::getSaveFileName(this, tr("Save Project As"),
                                                m_project->text().isEmpty() ? AppSettings::lastDirectory("project")
                                                                            : m_project->text(),
                                                tr("TracLens projects (*.traclens)"));
    if (file.isEmpty())
        return;
    if (!file.endsWith(".traclens"))
        file += ".traclens";
    AppSettings::setLastDirectory("project", QFileInfo(file).absolutePath());
    m_project->setText(file);
    m_projectEdited = true;
}

void NewProjectDialog::chooseModelDirectory()
{
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Model Directory"), AppSettings::lastDirectory("model"));
    if (dir.isEmpty())
        return;
    AppSettings::setLastDirectory("model", QFileInfo(dir).absolutePath());
    m_modelDir->setText(dir);
    m_import->setChecked(true);
}

void NewProjectDialog::suggestProjectPath()
{
    if (m_projectEdited)
        return;
    const QFileInfo data(m_dataset->text().trimmed());
    if (m_dataset->text().trimmed().isEmpty())
        return;
    const QString name = data.isDir() ? data.fileName() : data.completeBaseName();
    QString dir = AppSettings::lastDirectory("project");
    if (dir.isEmpty())
        dir = QFileInfo(data.absolutePath()).isWritable() ? data.absolutePath() : QDir::homePath();
    m_project->setText(QDir(dir).filePath((name.isEmpty() ? QStringLiteral("dataset") : name) + ".traclens"));
}

QString NewProjectDialog::projectPath() const { return m_project->text().trimmed(); }

ProjectPlan NewProjectDialog::plan() const
{
    ProjectPlan p;
    p.datasetPath = QFileInfo(m_dataset->text().trimmed()).absoluteFilePath();
    if (m_train->isChecked()) {
        p.modelSource = ProjectPlan::ModelSource::TrainBuiltin;
        if (m_epochs->value() == 0) {
            p.train = TrainConfig::adaptiveDefault();
        } else {
            p.train.adaptive.enabled = false;
            p.train.epochs = m_epochs->value();
        }
        p.train.useNetwork(BuiltinNetwork(m_network->currentData().toInt()));
        p.train.augmentation = Augmentation(m_augment->currentData().toInt());
        p.train.width = m_width->value();
        p.modelName = QString::fromLatin1(builtinNetworkName(p.train.network));
    } else {
        p.modelSource = ProjectPlan::ModelSource::ImportDirectory;
        p.modelDirectory = QFileInfo(m_modelDir->text().trimmed()).absoluteFilePath();
        p.modelName = QFileInfo(p.modelDirectory).fileName();
        p.copyModelIntoProject = m_copyModel->isChecked();
    }
    return p;
}

void NewProjectDialog::fail(const QString &what, const QString &advice)
{
    QMessageBox box(QMessageBox::Warning, tr("New Project"), what, QMessageBox::Ok, this);
    box.setInformativeText(advice);
    box.exec();
}

void NewProjectDialog::accept()
{
    const QString dataset = m_dataset->text().trimmed();
    if (dataset.isEmpty() || !QFileInfo::exists(dataset)) {
        fail(tr("The dataset \"%1\" does not exist.").arg(dataset),
             tr("Choose a folder with one sub-folder per class, a CSV manifest, or a folder of IDX files."));
        return;
    }
    // Scanning reads only directory entries and headers, not the images: quick enough
    // here, and it catches the wrong-folder mistake before a project file is made.
    QApplication::setOverrideCursor(Qt::WaitCursor);
    auto scan = scanDataset(dataset.toStdString());
    QApplication::restoreOverrideCursor();
    if (!scan.ok()) {
        fail(tr("TracLens cannot read this dataset."), QString::fromStdString(scan.status().message()));
        return;
    }
    if (scan->examples.empty() || scan->classes.size() < 2) {
        QString reason = scan->examples.empty() ? tr("No images were found in \"%1\".").arg(dataset)
                                                : tr("Only one class was found in \"%1\".").arg(dataset);
        QString advice = tr("Expected one sub-folder per class (optionally inside train/ and test/), a CSV "
                            "manifest with path,label[,split] columns, or MNIST-style IDX files.");
        if (!scan->skipped.empty())
            advice += tr("\n\nFirst file skipped: %1 — %2")
                          .arg(QString::fromStdString(scan->skipped.front().path),
                               QString::fromStdString(scan->skipped.front().reason));
        fail(reason, advice);
        return;
    }
    if (m_import->isChecked()) {
        auto spec = readModelSpec(m_modelDir->text().trimmed().toStdString());
        if (!spec.ok()) {
            fail(tr("The model directory cannot be used."),
                 QString::fromStdString(spec.status().message())
                     + tr("\n\nA traclens-model/1 directory holds traclens-model.json and the checkpoints it lists."));
            return;
        }
        if (spec->classes != scan->classes) {
            fail(tr("The model's classes do not match the dataset's."),
                 tr("The model lists %1 classes, the dataset has %2. Choose a model trained on these classes, "
                    "or train a built-in network.").arg(spec->classes.size()).arg(scan->classes.size()));
            return;
        }
    }
    QString project = projectPath();
    if (project.isEmpty()) {
        fail(tr("Choose where to save the project file."), {});
        return;
    }
    if (!project.endsWith(".traclens"))
        m_project->setText(project += ".traclens");
    if (QFileInfo::exists(project)) {
        const auto answer = QMessageBox::question(
            this, tr("New Project"),
            tr("\"%1\" already exists. Open it and continue with this dataset and model?").arg(project));
        if (answer != QMessageBox::Yes)
            return;
    }
    AppSettings::setLastDirectory("project", QFileInfo(project).absolutePath());
    QDialog::accept();
}

} // namespace traclens
