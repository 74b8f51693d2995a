#pragma once
// The cluster gallery: the training examples of one class grouped by TracIn similarity
// (or embedding similarity), one row per cluster — its size and a strip of its
// representatives (the members closest to the centroid); "Show all" opens a grid of
// every member. Clicking a tile emits exampleActivated(id), which the main window turns
// into an influence query.
//
// Clusters come from the project (ProjectDb cluster sets). When the stored set of the
// chosen class and space is missing or stale, it is computed and stored by the background
// worker (JobWorker::clusterClass, one job at a time with the others: its progress and
// Cancel are in the status bar); only the newest request's answer is shown. The factors
// loaded for that are kept for the next class until an example changes.
//
// Ownership: does not own the session or `jobs`; without `jobs` (tests) the page runs a
// JobController of its own. Thread safety: GUI thread only.

#include "index/clusterjob.h"
#include "jobworker.h"

#include <QWidget>

#include <memory>
#include <vector>

class QComboBox;
class QLabel;
class QScrollArea;
class QVBoxLayout;

namespace traclens {

class JobController;
class ProjectSession;

class ClusterPage : public QWidget {
    Q_OBJECT
public:
    explicit ClusterPage(ProjectSession *session, QWidget *parent = nullptr, JobController *jobs = nullptr);
    ~ClusterPage() override;

    void setClass(int classIdx);
    int currentClass() const;
    void setSpace(ClusterSpace space);
    ClusterSpace space() const { return m_space; }
    // Re-reads the stored clusters (recomputing them when stale), e.g. after a relabel.
    void refresh();

    // What is shown (empty while computing).
    const ClusterSetRow &clusters() const { return m_set; }
    bool isBusy() const { return m_job >= 0; }
    // Expands or collapses a cluster's row (all members vs representatives).
    void setExpanded(int cluster, bool expanded);

signals:
    void exampleActivated(qint64 exampleId);
    // The clusters of `classIdx` are on screen.
    void clustersShown(int classIdx);
    void clustersFailed(const QString &message);

protected:
    void showEvent(QShowEvent *event) override;

private:
    struct Row;

    void request();
    void showOutcome(qint64 jobId, const ClusterOutcome &out);
    void clearRows();

    ProjectSession *m_session;
    ClusterSpace m_space = ClusterSpace::TracIn;
    QComboBox *m_classCombo;
    QComboBox *m_spaceCombo;
    QLabel *m_status;
    QScrollArea *m_scroll;
    QWidget *m_rowsHost;
    QVBoxLayout *m_rowsLayout;
    std::vector<std::unique_ptr<Row>> m_rows;
    ClusterSetRow m_set;
    JobController *m_jobs;
    qint64 m_job = -1;                           // the running request, −1 when none
    std::shared_ptr<const FactorStore> m_store; // factors of the last computation
    bool m_pending = false;                      // a request waits for the running one
    bool m_shownOnce = false;
};

} // namespace traclens
