#include "importmodeldialog.h"

#include "dialogsize.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace traclens {

ImportModelDialog::ImportModelDialog(const QString &startDirectory, QWidget *parent)
    : QDialog(parent), m_start(startDirectory)
{
    setWindowTitle(tr("Import Model"));
    // Room for a typical model path and the explanation in two lines.
    setMinimumWidth(fontMetrics().averageCharWidth() * 96);
    auto *layout = new QVBoxLayout(this);
    auto *label = new QLabel(tr("Model &directory, in traclens-model/1 form (traclens-model.json and the "
                                "TorchScript checkpoints it lists):"));
    label->setWordWrap(true);
    layout->addWidget(label);
    auto *row = new QHBoxLayout;
    m_directory = new QLineEdit;
    m_directory->setObjectName("modelDirectory");
    m_directory->setPlaceholderText(tr("Directory holding traclens-model.json and its checkpoints"));
    label->setBuddy(m_directory);
    auto *browseButton = new QPushButton(tr("&Browse…"));
    browseButton->setToolTip(tr("Choose the model directory"));
    row->addWidget(m_directory, 1);
    row->addWidget(browseButton);
    layout->addLayout(row);
    m_copy = new QCheckBox(tr("&Copy the model into the project"));
    m_copy->setObjectName("copyModel");
    m_copy->setChecked(true);
    m_copy->setToolTip(tr("Keeps a copy of traclens-model.json and its checkpoints in the project's folder, so the "
                          "project keeps working when the training folder is moved or deleted"));
    layout->addWidget(m_copy);
    auto *hint = new QLabel(tr("A copy keeps the project working when the training folder is moved or deleted. "
                               "Importing runs the checkpoints to check them: import only models from people you "
                               "trust."));
    hint->setWordWrap(true);
    hint->setForegroundRole(QPalette::PlaceholderText);
    layout->addWidget(hint);
    layout->addStretch(1);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    m_ok = buttons->button(QDialogButtonBox::Ok);
    m_ok->setText(tr("&Import"));
    m_ok->setDefault(true);
    layout->addWidget(buttons);
    connect(browseButton, &QPushButton::clicked, this, &ImportModelDialog::browse);
    connect(m_directory, &QLineEdit::textChanged, this, &ImportModelDialog::updateEnabled);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    updateEnabled();
    fitHeightToWidth(this);
}

QString ImportModelDialog::directory() const
{
    const QString text = m_directory->text().trimmed();
    return text.isEmpty() ? QString() : QFileInfo(text).absoluteFilePath();
}

bool ImportModelDialog::copyIntoProject() const
{
    return m_copy->isChecked();
}

void ImportModelDialog::browse()
{
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Import Model (traclens-model/1 directory)"),
                                                          directory().isEmpty() ? m_start : directory());
    if (!dir.isEmpty())
        m_directory->setText(dir);
}

void ImportModelDialog::updateEnabled()
{
    m_ok->setEnabled(!m_directory->text().trimmed().isEmpty());
}

} // namespace traclens
