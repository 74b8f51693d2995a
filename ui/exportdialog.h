#pragma once
// Export of corrected labels: a CSV (id,path,label,original_label,changed), an ImageFolder
// tree (copies or hard links) and the change log. Shows the counts (countExport) before
// anything is written; the writing runs on the job worker with progress and cancel.
//
// Ownership: does not own the session or the controller. Thread safety: GUI thread only.

#include "exportrequest.h"
#include "metatypes.h"
#include "util/status.h"

#include <QDialog>

class QCheckBox;
class QDialogButtonBox;
class QGridLayout;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QRadioButton;

namespace traclens {

class JobController;
class ProjectSession;

class ExportDialog : public QDialog {
    Q_OBJECT
public:
    ExportDialog(ProjectSession *session, JobController *jobs, QWidget *parent = nullptr);

    // Fills the fields (used by tests and to pre-set defaults). Empty disables that output.
    void setRequest(const ExportRequest &request);
    ExportRequest request() const;
    // Starts the export (as the Export button does). Returns false when nothing is chosen.
    bool startExport();

    // Where the export files go by default: a folder the user can see in a file manager.
    // The last export folder when it is visible, else the project's folder when visible,
    // else the dataset's parent folder when visible, else the home folder. "Hidden" means a
    // component starting with a dot or inside the app-data directory (where the demo lives).
    static QString defaultDirectory(const QString &projectPath, const QString &datasetRoot,
                                    const QString &lastExportDirectory);
    static bool isHiddenDirectory(const QString &directory);

signals:
    void exportFinished(const traclens::Status &status);

private:
    void refreshCounts();
    void updateButtons();
    QLineEdit *pathRow(QGridLayout *grid, int row, QCheckBox *check, bool directory, const QString &filter);

    ProjectSession *m_session;
    JobController *m_jobs;
    QLabel *m_counts;
    QCheckBox *m_csvOn, *m_treeOn, *m_logOn, *m_overwrite;
    QLineEdit *m_csv, *m_tree, *m_log;
    QRadioButton *m_copy, *m_link;
    QProgressBar *m_progress;
    QLabel *m_result;
    QDialogButtonBox *m_buttons;
    QPushButton *m_exportButton;
    qint64 m_jobId = -1;
};

} // namespace traclens
