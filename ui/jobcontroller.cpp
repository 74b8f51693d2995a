#include "jobcontroller.h"

namespace traclens {

JobController::JobController(QObject *parent) : JobEvents(parent)
{
    qRegisterMetaType<traclens::Status>();
    qRegisterMetaType<traclens::JobKind>();
    qRegisterMetaType<std::shared_ptr<traclens::InfluenceIndex>>();
    qRegisterMetaType<traclens::ClusterOutcome>();

    m_thread.setObjectName("traclens-jobs");
    m_worker = new JobWorker(&m_cancel, &m_cancelledBefore);
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    // Queued: the worker emits on its thread, the controller lives on the GUI thread.
    connect(m_worker, &JobWorker::started, this, &JobController::started, Qt::QueuedConnection);
    connect(m_worker, &JobWorker::progress, this, &JobController::progress, Qt::QueuedConnection);
    connect(m_worker, &JobWorker::stepFinished, this, &JobController::stepFinished, Qt::QueuedConnection);
    connect(m_worker, &JobWorker::selfInfluenceLoaded, this, &JobController::selfInfluenceLoaded,
            Qt::QueuedConnection);
    connect(m_worker, &JobWorker::engineLoaded, this, &JobController::engineLoaded, Qt::QueuedConnection);
    connect(m_worker, &JobWorker::modelMissing, this, &JobController::modelMissing, Qt::QueuedConnection);
    connect(m_worker, &JobWorker::rankingReady, this, &JobController::rankingReady, Qt::QueuedConnection);
    connect(m_worker, &JobWorker::retrained, this, &JobController::retrained, Qt::QueuedConnection);
    connect(m_worker, &JobWorker::evaluationReady, this, &JobController::evaluationReady, Qt::QueuedConnection);
    connect(m_worker, &JobWorker::clustersReady, this, &JobController::clustersReady, Qt::QueuedConnection);
    connect(
        m_worker, &JobWorker::finished, this,
        [this](qint64 id, JobKind kind, const Status &status) {
            onFinished(id);
            emit finished(id, kind, status);
        },
        Qt::QueuedConnection);
    m_thread.start();
}

JobController::~JobController() { shutdown(); }

void JobController::shutdown()
{
    if (!m_thread.isRunning())
        return;
    cancelAll();
    m_thread.quit();
    m_thread.wait();
    m_worker = nullptr;
}

qint64 JobController::enqueue(std::function<void(qint64)> call)
{
    // After shutdown there is no thread to run anything.
    if (!m_worker)
        return -1;
    const qint64 id = m_nextId++;
    const bool wasBusy = isBusy();
    m_open.insert(id);
    QMetaObject::invokeMethod(m_worker, [call = std::move(call), id] { call(id); }, Qt::QueuedConnection);
    if (!wasBusy)
        emit busyChanged(true);
    return id;
}

void JobController::onFinished(qint64 jobId)
{
    m_open.remove(jobId);
    if (m_open.isEmpty())
        emit busyChanged(false);
}

// Each request captures the worker pointer by value: the lambda runs on the worker's
// thread, where the worker is alive until the thread finishes.
qint64 JobController::runPlan(const QString &projectPath, const ProjectPlan &plan)
{
    JobWorker *w = m_worker;
    return enqueue([w, projectPath, plan](qint64 id) { w->runPlan(id, projectPath, plan); });
}

qint64 JobController::importDataset(const QString &projectPath, const QString &datasetPath)
{
    JobWorker *w = m_worker;
    return enqueue([w, projectPath, datasetPath](qint64 id) { w->importDataset(id, projectPath, datasetPath); });
}

qint64 JobController::trainModel(const QString &projectPath, const TrainConfig &config, const QString &name)
{
    JobWorker *w = m_worker;
    return enqueue([w, projectPath, config, name](qint64 id) { w->trainModel(id, projectPath, config, name); });
}

qint64 JobController::importModel(const QString &projectPath, const QString &directory, bool copyIntoProject)
{
    JobWorker *w = m_worker;
    return enqueue([w, projectPath, directory, copyIntoProject](qint64 id) {
        w->importModel(id, projectPath, directory, copyIntoProject);
    });
}

qint64 JobController::computeFactors(const QString &projectPath, ModelConsent consent)
{
    JobWorker *w = m_worker;
    return enqueue([w, projectPath, consent](qint64 id) { w->computeFactors(id, projectPath, consent); });
}

qint64 JobController::loadEngine(const QString &projectPath)
{
    JobWorker *w = m_worker;
    return enqueue([w, projectPath](qint64 id) { w->loadEngine(id, projectPath); });
}

qint64 JobController::exportFiles(const QString &projectPath, const ExportRequest &request)
{
    JobWorker *w = m_worker;
    return enqueue([w, projectPath, request](qint64 id) { w->exportFiles(id, projectPath, request); });
}

qint64 JobController::rankExamples(const QString &projectPath, int rankingKind)
{
    JobWorker *w = m_worker;
    return enqueue([w, projectPath, rankingKind](qint64 id) { w->rankExamples(id, projectPath, rankingKind); });
}

qint64 JobController::rankBySpec(const QString &projectPath, const RankingSpec &spec)
{
    JobWorker *w = m_worker;
    return enqueue([w, projectPath, spec](qint64 id) { w->rankBySpec(id, projectPath, spec); });
}

qint64 JobController::runMislabelEvaluation(const EvaluationConfig &config, const QString &outDirectory,
                                            const QString &calibrateProject)
{
    JobWorker *w = m_worker;
    return enqueue([w, config, outDirectory, calibrateProject](qint64 id) {
        w->runMislabelEvaluation(id, config, outDirectory, calibrateProject);
    });
}

qint64 JobController::retrainWithCorrections(const QString &projectPath)
{
    JobWorker *w = m_worker;
    return enqueue([w, projectPath](qint64 id) { w->retrainWithCorrections(id, projectPath); });
}

qint64 JobController::crossValidate(const QString &projectPath, const CrossValidationConfig &config)
{
    JobWorker *w = m_worker;
    return enqueue([w, projectPath, config](qint64 id) { w->crossValidate(id, projectPath, config); });
}

qint64 JobController::clusterClass(const QString &projectPath, qint64 modelId, int classIdx, ClusterSpace space,
                                   std::shared_ptr<const FactorStore> store)
{
    JobWorker *w = m_worker;
    return enqueue([w, projectPath, modelId, classIdx, space, store](qint64 id) {
        w->clusterClass(id, projectPath, modelId, classIdx, space, store);
    });
}

void JobController::closeProject()
{
    JobWorker *w = m_worker;
    if (!w)
        return;
    QMetaObject::invokeMethod(m_worker, [w] { w->closeProject(); }, Qt::QueuedConnection);
}

void JobController::openReadOnly(const QString &projectPath)
{
    JobWorker *w = m_worker;
    if (!w)
        return;
    QMetaObject::invokeMethod(m_worker, [w, projectPath] { w->openReadOnly(projectPath); }, Qt::QueuedConnection);
}

void JobController::cancelAll()
{
    // Order matters, see JobWorker::beginJob.
    m_cancelledBefore.store(m_nextId);
    m_cancel.store(true);
}

} // namespace traclens
