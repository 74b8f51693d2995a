#include "exportdialog.h"

#include "appsettings.h"
#include "errorhints.h"
#include "store/exporter.h"
#include "jobcontroller.h"
#include "projectsession.h"
#include "uiresources.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QStandardPaths>
#include <QToolButton>
#include <QVBoxLayout>

namespace traclens {

ExportDialog::ExportDialog(ProjectSession *session, JobController *jobs, QWidget *parent)
    : QDialog(parent), m_session(session), m_jobs(jobs)
{
    ensureUiResources();
    setWindowTitle(tr("Export Corrected Labels"));
    setMinimumWidth(620);
    auto *layout = new QVBoxLayout(this);
    layout->setSpacing(12);

    m_counts = new QLabel;
    m_counts->setTextFormat(Qt::RichText);
    m_counts->setWordWrap(true);
    layout->addWidget(m_counts);

    auto *box = new QGroupBox(tr("Write"));
    auto *grid = new QGridLayout(box);
    grid->setColumnStretch(1, 1);
    m_csvOn = new QCheckBox(tr("Labels CSV"));
    m_csvOn->setToolTip(tr("One row per example: id, path, label, original_label, changed"));
    m_csv = pathRow(grid, 0, m_csvOn, false, tr("CSV files (*.csv)"));
    m_logOn = new QCheckBox(tr("Change log"));
    m_logOn->setToolTip(tr("Every label change in order: time, path, old label, new label, origin"));
    m_log = pathRow(grid, 1, m_logOn, false, tr("CSV files (*.csv)"));
    m_treeOn = new QCheckBox(tr("Image folder tree"));
    m_treeOn->setToolTip(tr("<dir>/<split>/<class>/<file> with the current labels"));
    m_tree = pathRow(grid, 2, m_treeOn, true, {});
    auto *modes = new QHBoxLayout;
    m_copy = new QRadioButton(tr("Copy files"));
    m_link = new QRadioButton(tr("Hard links (fast, same disk only)"));
    m_copy->setChecked(true);
    modes->addWidget(m_copy);
    modes->addWidget(m_link);
    modes->addStretch(1);
    grid->addLayout(modes, 3, 1, 1, 2);
    m_overwrite = new QCheckBox(tr("Overwrite existing files"));
    grid->addWidget(m_overwrite, 4, 1, 1, 2);
    layout->addWidget(box);

    m_progress = new QProgressBar;
    m_progress->setVisible(false);
    layout->addWidget(m_progress);
    m_result = new QLabel;
    m_result->setWordWrap(true);
    m_result->setTextFormat(Qt::RichText);
    layout->addWidget(m_result);

    m_buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    m_exportButton = m_buttons->addButton(tr("Export"), QDialogButtonBox::AcceptRole);
    m_exportButton->setIcon(QIcon(":/traclens/icons/export.svg"));
    layout->addWidget(m_buttons);
    connect(m_buttons, &QDialogButtonBox::rejected, this, [this] {
        if (m_jobId >= 0)
            m_jobs->cancelAll();
        reject();
    });
    connect(m_exportButton, &QPushButton::clicked, this, &ExportDialog::startExport);

    // Defaults in a visible folder: the last one, beside the project or the dataset, or home.
    const QFileInfo project(session->path());
    QString datasetRoot;
    if (auto info = session->db().dataset(); info.ok() && info->has_value())
        datasetRoot = QString::fromStdString((*info)->root);
    const QString base = defaultDirectory(project.absoluteFilePath(), datasetRoot, AppSettings::lastDirectory("export"));
    ExportRequest defaults;
    defaults.labelsCsv = QDir(base).filePath(project.completeBaseName() + "-labels.csv");
    defaults.changeLog = QDir(base).filePath(project.completeBaseName() + "-changes.csv");
    setRequest(defaults);
    m_tree->setText(QDir(base).filePath(project.completeBaseName() + "-corrected"));

    for (QCheckBox *c : {m_csvOn, m_treeOn, m_logOn})
        connect(c, &QCheckBox::toggled, this, &ExportDialog::updateButtons);

    connect(jobs, &JobController::progress, this,
            [this](qint64 id, const QString &, const QString &detail, qint64 done, qint64 total) {
                if (id != m_jobId)
                    return;
                m_progress->setRange(0, total > 0 ? 1000 : 0);
                if (total > 0)
                    m_progress->setValue(int(1000 * done / total));
                m_result->setText(detail.toHtmlEscaped());
            });
    connect(jobs, &JobController::finished, this,
            [this](qint64 id, JobKind, const Status &status) {
                if (id != m_jobId)
                    return;
                m_jobId = -1;
                m_progress->setVisible(false);
                if (status) {
                    m_result->setText(tr("<span style='color:#2e9d5b'>Export finished.</span>"));
                } else {
                    const FailureText t = describeFailure(FailureContext::Export, status);
                    m_result->setText(QStringLiteral("<span style='color:#c0392b'><b>%1:</b> %2</span><br>%3")
                                          .arg(t.title, t.what.toHtmlEscaped(), t.advice));
                }
                updateButtons();
                emit exportFinished(status);
            });
    refreshCounts();
    updateButtons();
}

bool ExportDialog::isHiddenDirectory(const QString &directory)
{
    const QString path = QDir::cleanPath(QFileInfo(directory).absoluteFilePath());
    for (const QString &part : path.split(QLatin1Char('/'), Qt::SkipEmptyParts))
        if (part.startsWith(QLatin1Char('.')))
            return true;
    for (auto location : {QStandardPaths::AppDataLocation, QStandardPaths::AppLocalDataLocation}) {
        const QString appData = QStandardPaths::writableLocation(location);
        if (!appData.isEmpty() && (path == QDir::cleanPath(appData) || path.startsWith(QDir::cleanPath(appData) + "/")))
            return true;
    }
    return false;
}

QString ExportDialog::defaultDirectory(const QString &projectPath, const QString &datasetRoot,
                                       const QString &lastExportDirectory)
{
    QStringList candidates{lastExportDirectory, QFileInfo(projectPath).absolutePath()};
    if (!datasetRoot.isEmpty())
        candidates << QFileInfo(QDir::cleanPath(datasetRoot)).absolutePath();
    for (const QString &dir : candidates)
        if (!dir.isEmpty() && QFileInfo(dir).isDir() && !isHiddenDirectory(dir))
            return dir;
    return QDir::homePath();
}

QLineEdit *ExportDialog::pathRow(QGridLayout *grid, int row, QCheckBox *check, bool directory, const QString &filter)
{
    auto *edit = new QLineEdit;
    auto *browse = new QToolButton;
    browse->setText(QStringLiteral("…"));
    grid->addWidget(check, row, 0);
    grid->addWidget(edit, row, 1);
    grid->addWidget(browse, row, 2);
    connect(check, &QCheckBox::toggled, edit, &QWidget::setEnabled);
    connect(check, &QCheckBox::toggled, browse, &QWidget::setEnabled);
    connect(browse, &QToolButton::clicked, this, [this, edit, directory, filter] {
        const QString start = edit->text().isEmpty() ? AppSettings::lastDirectory("export") : edit->text();
        const QString chosen = directory ? QFileDialog::getExistingDirectory(this, tr("Export into"), start)
                                         : QFileDialog::getSaveFileName(this, tr("Export to"), start, filter);
        if (!chosen.isEmpty()) {
            edit->setText(chosen);
            AppSettings::setLastDirectory("export", QFileInfo(chosen).absolutePath());
        }
    });
    return edit;
}

void ExportDialog::setRequest(const ExportRequest &r)
{
    m_csvOn->setChecked(!r.labelsCsv.isEmpty());
    if (!r.labelsCsv.isEmpty())
        m_csv->setText(r.labelsCsv);
    m_logOn->setChecked(!r.changeLog.isEmpty());
    if (!r.changeLog.isEmpty())
        m_log->setText(r.changeLog);
    m_treeOn->setChecked(!r.imageFolder.isEmpty());
    if (!r.imageFolder.isEmpty())
        m_tree->setText(r.imageFolder);
    (r.hardLinks ? m_link : m_copy)->setChecked(true);
    m_overwrite->setChecked(r.overwrite);
    for (auto [check, edit] : {std::pair{m_csvOn, m_csv}, {m_logOn, m_log}, {m_treeOn, m_tree}})
        edit->setEnabled(check->isChecked());
}

ExportRequest ExportDialog::request() const
{
    ExportRequest r;
    if (m_csvOn->isChecked())
        r.labelsCsv = m_csv->text().trimmed();
    if (m_logOn->isChecked())
        r.changeLog = m_log->text().trimmed();
    if (m_treeOn->isChecked())
        r.imageFolder = m_tree->text().trimmed();
    r.hardLinks = m_link->isChecked();
    r.overwrite = m_overwrite->isChecked();
    return r;
}

void ExportDialog::refreshCounts()
{
    auto counts = countExport(m_session->db());
    if (!counts.ok()) {
        m_counts->setText(tr("<span style='color:#c0392b'>Could not count: %1</span>")
                              .arg(QString::fromStdString(counts.status().message()).toHtmlEscaped()));
        return;
    }
    const QLocale l;
    const ExportCounts &c = counts.value();
    m_counts->setText(tr("<b>%1 examples</b> will be exported (%2 training, %3 test).<br>"
                         "<b>%4</b> of them carry a corrected label.")
                          .arg(l.toString(qlonglong(c.examples)), l.toString(qlonglong(c.train)),
                               l.toString(qlonglong(c.test)), l.toString(qlonglong(c.changed))));
}

void ExportDialog::updateButtons()
{
    const bool any = m_csvOn->isChecked() || m_treeOn->isChecked() || m_logOn->isChecked();
    m_exportButton->setEnabled(any && m_jobId < 0);
}

bool ExportDialog::startExport()
{
    const ExportRequest r = request();
    if (r.labelsCsv.isEmpty() && r.changeLog.isEmpty() && r.imageFolder.isEmpty())
        return false;
    m_result->clear();
    m_progress->setRange(0, 0);
    m_progress->setVisible(true);
    m_jobId = m_jobs->exportFiles(m_session->path(), r);
    updateButtons();
    return true;
}

} // namespace traclens
