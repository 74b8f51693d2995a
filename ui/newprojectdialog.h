#pragma once
// Asks for what a new project needs: the dataset (an ImageFolder folder, a CSV manifest
// or a folder of IDX files), where to save the project file, and the model (train one of
// the built-in networks of networkchoice.h, or import a traclens-model/1 directory, copied
// into the project by default as Project ▸ Import Model… does). Validates before accepting:
// the dataset is scanned (so a folder without images is refused with the reason) and a
// model directory's manifest is read.
//
// Thread safety: GUI thread only.

#include "projectplan.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QRadioButton;
class QSpinBox;

namespace traclens {

class NewProjectDialog : public QDialog {
    Q_OBJECT
public:
    explicit NewProjectDialog(QWidget *parent = nullptr);

    QString projectPath() const;
    ProjectPlan plan() const;

    void accept() override;

    QLineEdit *datasetEdit() const { return m_dataset; }
    QLineEdit *modelDirectoryEdit() const { return m_modelDir; }
    QLineEdit *projectEdit() const { return m_project; }
    QRadioButton *importButton() const { return m_import; }
    QCheckBox *copyCheckBox() const { return m_copyModel; }
    QComboBox *networkBox() const { return m_network; }

private:
    void chooseDatasetFolder();
    void chooseDatasetCsv();
    void chooseProjectFile();
    void chooseModelDirectory();
    void suggestProjectPath();
    void updateEnabled();
    void fail(const QString &what, const QString &advice);

    QLineEdit *m_dataset, *m_project, *m_modelDir;
    QLabel *m_datasetInfo;
    QRadioButton *m_train, *m_import;
    QCheckBox *m_copyModel;
    QComboBox *m_network, *m_augment;
    QSpinBox *m_epochs, *m_width;
    bool m_projectEdited = false;
};

} // namespace traclens
