#pragma once
// The report view: how trustworthy the open project's labels look, and — for a project
// made by `traclens-cli evaluate` (known, injected label noise) — how well each review
// ranking finds the wrong labels.
//
// Project part (any project with computed factors): the self-influence distribution of
// the training set, split into examples the model agrees with and "flagged" ones (the
// model predicts another class than the current label at the last checkpoint), with the
// counts: training examples, flagged, reviewed, relabelled, and the review queue's
// default ranking (ranking.h).
// Evaluation part: recall curves, the recall / AUC table and the cleaning loop, read from
// an evaluation's report.json — found through the project's "evaluation_report" meta
// entry, the page's own evaluation directory (evaluationDirectory()) or a report.json
// beside the project file, or opened with the button.
// "Run Evaluation…" asks for the settings (EvaluationDialog) and runs the evaluation as a
// worker job (JobKind::Evaluate) on a copy of the project's dataset in
// evaluationDirectory(); when it finishes, its report is shown here. "Calibrate…" runs the
// same job and then makes the best measured ranking the project's default review queue
// (calibration.h, written by the worker); the page shows that default and its evidence.
//
// Charts are drawn by the engine (chartimage.h) into QImages, the same pictures as the
// evaluation's PNG files.
//
// Ownership: does not own the session or the job controller. Thread safety: GUI thread only.

#include "evaluation/evaluation.h"
#include "evaluationdialog.h"
#include "util/status.h"

#include <QWidget>

#include <optional>

class QLabel;
class QPushButton;
class QTableWidget;

namespace traclens {

class JobController;
class ProjectSession;

class ReportPage : public QWidget {
    Q_OBJECT
public:
    explicit ReportPage(ProjectSession *session, QWidget *parent = nullptr);

    // Rebuilds the project part from the session, and looks for an evaluation report.
    void refresh();
    // Shows the evaluation report in `jsonFile`; false (and a message in the page) when
    // it cannot be read.
    bool loadEvaluation(const QString &jsonFile);
    const std::optional<EvaluationReport> &evaluation() const { return m_evaluation; }
    // Without a controller the page cannot run an evaluation (the button is disabled).
    void setJobController(JobController *jobs);
    // Asks for the settings, then startEvaluation(); the dialog is modal.
    void runEvaluation();
    // Asks for the settings, then startEvaluation(settings, true).
    void runCalibration();
    // Queues the evaluation with `settings`; its job id, or −1 when it cannot start (the
    // page says why). With `calibrate`, a successful run also records the calibration into
    // the open project and the session re-reads its default.
    qint64 startEvaluation(const EvaluationSettings &settings, bool calibrate = false);
    // The line about the project's default review queue: its evidence when calibrated,
    // else what the default is and how to measure it.
    QString calibrationText() const;
    // "<project dir>/<project name>-evaluation": the evaluation's project, models and
    // report (in "report/").
    QString evaluationDirectory() const;
    // The dialog's starting settings: the active model's network, augmentation and epochs
    // (defaultCrossValidationTrainConfig()), EvaluationConfig's defaults for the rest.
    EvaluationSettings projectEvaluationSettings() const;
    // A new evaluation dialog for this project: its training-image count and
    // projectEvaluationSettings(), calibrating or not. The caller owns it (parent: `parent`).
    EvaluationDialog *createEvaluationDialog(bool calibrating, QWidget *parent) const;
    bool isEvaluating() const { return m_evaluationJob >= 0; }
    // The flagged count shown (training examples whose prediction differs from the label).
    qint64 flaggedCount() const { return m_flagged; }

signals:
    void evaluationStarted(qint64 jobId);
    // The evaluation job ended: ok (and shown), cancelled or failed.
    void evaluationFinished(const traclens::Status &status);

protected:
    void resizeEvent(QResizeEvent *event) override;
    void showEvent(QShowEvent *event) override;

private:
    enum class Stale { None, Project, All };
    // Runs the refresh now when the page is visible, else when it is next shown.
    void whenVisible(Stale what);
    void refreshProject();
    void showEvaluation();
    void chooseEvaluation();
    QString findEvaluationReport();
    void updateImages();

    Stale m_stale = Stale::None;
    ProjectSession *m_session;
    QLabel *m_projectSummary, *m_histogram;
    QLabel *m_evaluationSummary, *m_recallChart, *m_cleaningLabel;
    // The report's unflipped-at-top.png (evaluation.h, UnflippedSuspect) and what it shows.
    QLabel *m_unflippedLabel, *m_unflippedView;
    QTableWidget *m_recallTable, *m_cleaningTable;
    QLabel *m_calibration;
    QPushButton *m_openButton, *m_runButton, *m_calibrateButton;
    bool m_calibrating = false; // the running evaluation job calibrates
    JobController *m_jobs = nullptr;
    qint64 m_evaluationJob = -1;
    QImage m_histogramImage, m_recallImage, m_unflippedImage;
    std::optional<EvaluationReport> m_evaluation;
    QString m_evaluationFile;
    qint64 m_flagged = 0;
};

} // namespace traclens
