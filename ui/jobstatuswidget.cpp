#include "jobstatuswidget.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QStyle>
#include <QToolButton>

#include <cmath>

namespace traclens {

JobStatusWidget::JobStatusWidget(QWidget *parent) : QWidget(parent)
{
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 4, 0);
    layout->setSpacing(8);
    m_title = new QLabel;
    m_bar = new QProgressBar;
    m_bar->setFixedWidth(220);
    m_bar->setMaximumHeight(16);
    m_bar->setTextVisible(true);
    m_eta = new QLabel;
    m_eta->setMinimumWidth(70);
    m_cancel = new QToolButton;
    m_cancel->setIcon(style()->standardIcon(QStyle::SP_DialogCancelButton));
    m_cancel->setText(tr("Cancel"));
    m_cancel->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_cancel->setAutoRaise(true);
    m_cancel->setToolTip(tr("Stop the background work; finished parts are kept and resume next time"));
    layout->addWidget(m_title);
    layout->addWidget(m_bar);
    layout->addWidget(m_eta);
    layout->addWidget(m_cancel);
    connect(m_cancel, &QToolButton::clicked, this, &JobStatusWidget::cancelRequested);
    setVisible(false);
}

QString JobStatusWidget::stageTitle(const QString &stage)
{
    if (stage == QLatin1String("import"))
        return tr("Importing");
    if (stage == QLatin1String("train"))
        return tr("Training");
    if (stage == QLatin1String("compute"))
        return tr("Computing influence");
    if (stage == QLatin1String("load"))
        return tr("Loading influence data");
    if (stage == QLatin1String("export"))
        return tr("Exporting");
    if (stage == QLatin1String("import-model"))
        return tr("Checking model");
    return stage.isEmpty() ? QString() : stage.left(1).toUpper() + stage.mid(1);
}

QString JobStatusWidget::formatRemaining(double seconds)
{
    if (!std::isfinite(seconds) || seconds < 0)
        return {};
    const qint64 s = qint64(std::ceil(seconds));
    if (s >= 3600)
        return tr("%1:%2 h left").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
    return tr("%1:%2 left").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

void JobStatusWidget::jobStarted(qint64 jobId, JobKind kind)
{
    m_jobId = jobId;
    m_stage.clear();
    m_total = -1;
    m_title->setText(tr(jobKindTitle(kind)));
    m_bar->setRange(0, 0);
    m_eta->clear();
    m_cancel->setEnabled(true);
    setVisible(true);
}

void JobStatusWidget::jobProgress(qint64 jobId, const QString &stage, const QString &detail, qint64 done, qint64 total)
{
    if (jobId != m_jobId)
        return;
    // A new stage, or a new phase of one (its total changes: reading images, then
    // epochs), starts a new rate measurement.
    if (stage != m_stage || total != m_total) {
        m_stage = stage;
        m_total = total;
        m_stageClock.start();
        m_stageStartDone = done;
    }
    QString title = stageTitle(stage);
    if (!detail.isEmpty())
        title += QStringLiteral(" · ") + detail;
    m_title->setText(title);
    if (total <= 0) {
        m_bar->setRange(0, 0);
        m_eta->clear();
        return;
    }
    m_bar->setRange(0, 1000);
    m_bar->setValue(int(1000 * std::min(done, total) / total));
    m_bar->setFormat(QStringLiteral("%1%").arg(100.0 * double(done) / double(total), 0, 'f', 0));
    // The rate since the stage began: the first seconds of a stage (loading, warming
    // up) make it pessimistic, which is the better error for a person waiting.
    const double elapsed = m_stageClock.elapsed() / 1000.0;
    const qint64 progressed = done - m_stageStartDone;
    if (elapsed > 2.0 && progressed > 0)
        m_eta->setText(formatRemaining(elapsed / double(progressed) * double(total - done)));
}

void JobStatusWidget::jobFinished(qint64 jobId)
{
    if (jobId != m_jobId)
        return;
    m_jobId = -1;
    setVisible(false);
}

} // namespace traclens
