#pragma once
// The status bar's view of background work: what runs, a progress bar, the time left
// (from the rate since the stage started) and a cancel button. Hidden when idle.
//
// Thread safety: GUI thread only (fed by JobWorker's queued signals).

#include "jobkind.h"

#include <QElapsedTimer>
#include <QWidget>

class QLabel;
class QProgressBar;
class QToolButton;

namespace traclens {

class JobStatusWidget : public QWidget {
    Q_OBJECT
public:
    explicit JobStatusWidget(QWidget *parent = nullptr);

    void jobStarted(qint64 jobId, JobKind kind);
    void jobProgress(qint64 jobId, const QString &stage, const QString &detail, qint64 done, qint64 total);
    void jobFinished(qint64 jobId);

    // "1:05 left" etc.; empty when unknown. Exposed for tests.
    static QString formatRemaining(double seconds);
    // "Training", "Computing influence", ... for the engine's stage names.
    static QString stageTitle(const QString &stage);

signals:
    void cancelRequested();

private:
    QLabel *m_title;
    QProgressBar *m_bar;
    QLabel *m_eta;
    QToolButton *m_cancel;
    qint64 m_jobId = -1;
    QString m_stage;
    QElapsedTimer m_stageClock;
    qint64 m_stageStartDone = 0;
    qint64 m_total = -1;
};

} // namespace traclens
