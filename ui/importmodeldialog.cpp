#include "importmodeldialog.h"

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
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("A traclens-model/1 directory (traclens-model.json and TorchScript checkpoints):")));
    auto *row = new QHBoxLayout;
    m_directory = new QLineEdit;
    m_directory->setObjectName("modelDirectory");
    auto *browseButton = new QPushButton(tr("Browse…"));
    row->addWidget(m_directory, 1);
    row->addWidget(browseButton);
    layout->addLayout(row);
    m_copy = new QCheckBox(tr("Copy the model into the project"));
    m_copy->setObjectName("copyModel");
    m_copy->setChecked(true);
    layout->addWidget(m_copy);
    auto *hint = new QLabel(tr("<span style='color:gray'>A copy keeps the project working when the training folder "
                               "is moved or deleted. Importing runs the checkpoints to check them: import only "
                               "models from people you trust.</span>"));
    hint->setWordWrap(true);
    layout->addWidget(hint);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    m_ok = buttons->button(QDialogButtonBox::Ok);
    m_ok->setText(tr("Import"));
    layout->addWidget(buttons);
    connect(browseButton, &QPushButton::clicked, this, &ImportModelDialog::browse);
    connect(m_directory, &QLineEdit::textChanged, this, &ImportModelDialog::updateEnabled);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    updateEnabled();
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
