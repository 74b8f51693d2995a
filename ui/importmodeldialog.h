#pragma once
// Project ▸ Import Model…: which traclens-model/1 directory to import, and whether to copy
// it into the project (on by default). A copy lives in "<project>.d/models" with the
// project, so moving or deleting the training folder later does not break the project;
// without it the project refers to the folder where it is (core/model/trainjob.h,
// ModelImportOptions).
//
// Thread safety: GUI thread only.

#include <QDialog>

class QCheckBox;
class QLineEdit;
class QPushButton;

namespace traclens {

class ImportModelDialog : public QDialog {
    Q_OBJECT
public:
    // `startDirectory`: where Browse… opens.
    explicit ImportModelDialog(const QString &startDirectory, QWidget *parent = nullptr);

    QString directory() const;      // absolute; empty until one is chosen
    bool copyIntoProject() const;

    QLineEdit *directoryEdit() const { return m_directory; }
    QCheckBox *copyCheckBox() const { return m_copy; }

private:
    void browse();
    void updateEnabled();

    QString m_start;
    QLineEdit *m_directory;
    QCheckBox *m_copy;
    QPushButton *m_ok = nullptr;
};

} // namespace traclens
