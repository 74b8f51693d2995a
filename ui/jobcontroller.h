#pragma once
// Owns the background thread and its JobWorker; the GUI's only door to long work.
//
// Each request gets an increasing job id and is queued to the worker, which runs them
// in order. cancelAll() stops the running job at its next chunk boundary and skips the
// queued ones. shutdown() (also run by the destructor) cancels, quits the thread and
// waits: quitting mid-job is safe, and what finished is in the project for next time.
//
// Ownership: owns the QThread; the worker is deleted on its own thread when the thread
// finishes. Thread safety: GUI thread only.

#include "exportrequest.h"
#include "jobworker.h"
#include "projectplan.h"

#include <QObject>
#include <QSet>
#include <QThread>

#include <atomic>

namespace traclens {

class JobController : public JobEvents {
    Q_OBJECT
public:
    explicit JobController(QObject *parent = nullptr);
    ~JobController() override;

    // The worker itself; GUI code connects to the controller's signals instead. Null
    // after shutdown().
    JobWorker *worker() const { return m_worker; }

    // Each request returns its job id (−1 after shutdown()).

    qint64 runPlan(const QString &projectPath, const ProjectPlan &plan);
    qint64 importDataset(const QString &projectPath, const QString &datasetPath);
    qint64 trainModel(const QString &projectPath, const TrainConfig &config, const QString &name);
    // copyIntoProject: ModelImportOptions::copyIntoProject (core/model/trainjob.h).
    qint64 importModel(const QString &projectPath, const QString &directory, bool copyIntoProject = false);
    qint64 computeFactors(const QString &projectPath, ModelConsent consent = {});
    qint64 loadEngine(const QString &projectPath);
    qint64 exportFiles(const QString &projectPath, const ExportRequest &request);
    qint64 rankExamples(const QString &projectPath, int rankingKind);
    qint64 rankBySpec(const QString &projectPath, const RankingSpec &spec);
    qint64 retrainWithCorrections(const QString &projectPath);
    qint64 crossValidate(const QString &projectPath, const CrossValidationConfig &config);
    qint64 clusterClass(const QString &projectPath, qint64 modelId, int classIdx, ClusterSpace space,
                        std::shared_ptr<const FactorStore> store);
    qint64 runMislabelEvaluation(const EvaluationConfig &config, const QString &outDirectory,
                                 const QString &calibrateProject = {});
    // Drops the worker's database connection (queued behind running work).
    void closeProject();
    // Requests queued after this open `projectPath` read-only (JobWorker::openReadOnly).
    void openReadOnly(const QString &projectPath);

    // Cancels the running job and every queued one.
    void cancelAll();
    bool isBusy() const { return !m_open.isEmpty(); }
    void shutdown();

signals:
    void busyChanged(bool busy);

    // The worker's results and progress (JobEvents), re-emitted here on the GUI thread.

private:
    qint64 enqueue(std::function<void(qint64)> call);
    void onFinished(qint64 jobId);

    QThread m_thread;
    JobWorker *m_worker = nullptr;
    CancelFlag m_cancel{false};
    std::atomic<qint64> m_cancelledBefore{0};
    qint64 m_nextId = 1;
    QSet<qint64> m_open; // requested, not yet finished
};

} // namespace traclens
