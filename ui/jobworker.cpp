#include "jobworker.h"

#include "model/checkpointcheck.h"

#include "influence/computejob.h"
#include "influence/pipeline.h"
#include "evaluation/calibration.h"
#include "evaluation/evaluation.h"
#include "store/exporter.h"
#include "store/importer.h"
#include "model/modeltrust.h"
#include "influence/ranking.h"
#include "model/crossvalidation.h"
#include "evaluation/retrain.h"
#include "store/projectdb.h"
#include "model/trainjob.h"

#include <QDir>

namespace traclens {

namespace {
// The job kind that reports a pipeline step.
JobKind jobKindOf(PipelineStep step)
{
    switch (step) {
    case PipelineStep::Import: return JobKind::Import;
    case PipelineStep::Train: return JobKind::Train;
    case PipelineStep::ImportModel: return JobKind::ImportModel;
    case PipelineStep::Compute: return JobKind::Compute;
    }
    return JobKind::Plan;
}
} // namespace

const char *jobKindTitle(JobKind kind)
{
    switch (kind) {
    case JobKind::Plan: return "Preparing project";
    case JobKind::Import: return "Importing dataset";
    case JobKind::Train: return "Training model";
    case JobKind::ImportModel: return "Checking model";
    case JobKind::Compute: return "Computing influence";
    case JobKind::LoadEngine: return "Loading influence data";
    case JobKind::Export: return "Exporting";
    case JobKind::Rank: return "Ordering the review queue";
    case JobKind::Retrain: return "Retraining with your corrections";
    case JobKind::Evaluate: return "Running the mislabel evaluation";
    case JobKind::CrossValidate: return "Cross-validating";
    case JobKind::Cluster: return "Clustering";
    }
    return "Working";
}

JobWorker::JobWorker(CancelFlag *cancel, const std::atomic<qint64> *cancelledBefore, QObject *parent)
    : JobEvents(parent), m_cancel(cancel), m_cancelledBefore(cancelledBefore)
{
}

JobWorker::~JobWorker() = default;

bool JobWorker::beginJob(qint64 jobId, JobKind kind)
{
    // Reset first, then check: a cancel() racing with us either raised cancelledBefore
    // before the check (we skip) or sets the flag after the reset (the job sees it).
    m_cancel->store(false);
    if (jobId < m_cancelledBefore->load()) {
        emit finished(jobId, kind, Status::cancelled());
        return false;
    }
    m_lastStage.clear();
    emit started(jobId, kind);
    return true;
}

Status JobWorker::ensureDb(const QString &projectPath)
{
    const std::string path = projectPath.toStdString();
    if (m_db && m_db->path() == path)
        return Status::ok();
    m_db.reset();
    const bool readOnly = !m_readOnlyPath.isEmpty() && m_readOnlyPath == projectPath;
    auto db = ProjectDb::open(path, readOnly ? ProjectDb::OpenMode::ReadOnly : ProjectDb::OpenMode::ReadWrite);
    if (!db.ok())
        return db.status();
    m_db = std::move(db).value();
    return Status::ok();
}

Result<int64_t> JobWorker::activeModel(const QString &projectPath)
{
    TL_RETURN_IF_ERROR(ensureDb(projectPath));
    auto active = m_db->activeModel();
    if (!active.ok())
        return active.status();
    if (!active.value())
        return Status::notFound("the project has no model yet");
    return *active.value();
}

void JobWorker::closeProject()
{
    m_db.reset();
    m_readOnlyPath.clear();
}

void JobWorker::openReadOnly(const QString &projectPath)
{
    m_db.reset();
    m_readOnlyPath = projectPath;
}

Status JobWorker::checkWritable() const
{
    return m_db ? requireWritable(*m_db) : Status::ok();
}

ProgressFn JobWorker::progressFn(qint64 jobId)
{
    return [this, jobId](const Progress &p) {
        const QString stage = QString::fromStdString(p.stage);
        const bool stageChanged = stage != m_lastStage;
        const bool complete = p.total > 0 && p.done >= p.total;
        if (!stageChanged && !complete && m_sinceEmit.isValid() && m_sinceEmit.elapsed() < kProgressIntervalMs)
            return;
        m_lastStage = stage;
        m_sinceEmit.start();
        emit progress(jobId, stage, QString::fromStdString(p.detail), p.done, p.total);
    };
}

Status JobWorker::report(qint64 jobId, JobKind kind, Status status)
{
    emit stepFinished(jobId, kind, status);
    return status;
}

Status JobWorker::stepImport(qint64 jobId, const QString &datasetPath)
{
    auto summary = importStep(*m_db, datasetPath.toStdString(), progressFn(jobId), m_cancel);
    return report(jobId, JobKind::Import, summary.status());
}

Status JobWorker::stepTrain(qint64 jobId, const TrainConfig &config, const QString &name)
{
    auto id = trainStep(*m_db, config, name.toStdString(), progressFn(jobId), m_cancel);
    return report(jobId, JobKind::Train, id.status());
}

Status JobWorker::stepImportModel(qint64 jobId, const QString &directory, bool copyIntoProject)
{
    auto id = importModelStep(*m_db, directory.toStdString(), copyIntoProject, progressFn(jobId));
    return report(jobId, JobKind::ImportModel, id.status());
}

Status JobWorker::stepCompute(qint64 jobId, int64_t modelId)
{
    auto summary = computeStep(*m_db, modelId, progressFn(jobId), m_cancel);
    return report(jobId, JobKind::Compute, summary.status());
}

Status JobWorker::stepLoadEngine(qint64 jobId, int64_t modelId)
{
    auto engine = InfluenceIndex::open(*m_db, modelId, IndexOptions::serving(), progressFn(jobId));
    if (!engine.ok())
        return report(jobId, JobKind::LoadEngine, engine.status());
    std::shared_ptr<InfluenceIndex> shared(std::move(engine).value());
    if (auto self = m_db->selfInfluence(modelId); self.ok()) {
        QVector<qint64> ids;
        QVector<double> values;
        ids.reserve(qsizetype(self->size()));
        values.reserve(qsizetype(self->size()));
        for (const auto &[id, value] : self.value()) {
            ids.push_back(id);
            values.push_back(value);
        }
        emit selfInfluenceLoaded(jobId, modelId, ids, values);
    } else {
        return report(jobId, JobKind::LoadEngine, self.status());
    }
    emit engineLoaded(jobId, shared);
    return report(jobId, JobKind::LoadEngine, Status::ok());
}

void JobWorker::runPlan(qint64 jobId, const QString &projectPath, const ProjectPlan &plan)
{
    if (!beginJob(jobId, JobKind::Plan))
        return;
    const Status status = [&]() -> Status {
        TL_RETURN_IF_ERROR(ensureDb(projectPath));
        PipelineRequest request;
        request.datasetPath = plan.datasetPath.toStdString();
        switch (plan.modelSource) {
        case ProjectPlan::ModelSource::None: request.modelSource = PipelineRequest::ModelSource::None; break;
        case ProjectPlan::ModelSource::TrainBuiltin:
            request.modelSource = PipelineRequest::ModelSource::TrainBuiltin;
            break;
        case ProjectPlan::ModelSource::ImportDirectory:
            request.modelSource = PipelineRequest::ModelSource::ImportDirectory;
            break;
        }
        request.train = plan.train;
        request.modelName = plan.modelName.toStdString();
        request.modelDirectory = plan.modelDirectory.toStdString();
        request.copyModelIntoProject = plan.copyModelIntoProject;
        PipelineObserver observer;
        observer.stepFinished = [this, jobId](PipelineStep step, const Status &s) {
            emit stepFinished(jobId, jobKindOf(step), s);
        };
        auto outcome = runPipeline(*m_db, request, observer, progressFn(jobId), m_cancel);
        if (!outcome.ok())
            return outcome.status();
        if (!outcome->model) {
            emit modelMissing(jobId);
            return Status::ok();
        }
        return stepLoadEngine(jobId, *outcome->model);
    }();
    emit finished(jobId, JobKind::Plan, status);
}

void JobWorker::importDataset(qint64 jobId, const QString &projectPath, const QString &datasetPath)
{
    if (!beginJob(jobId, JobKind::Import))
        return;
    Status s = ensureDb(projectPath);
    if (s)
        s = stepImport(jobId, datasetPath);
    emit finished(jobId, JobKind::Import, s);
}

void JobWorker::trainModel(qint64 jobId, const QString &projectPath, const TrainConfig &config, const QString &name)
{
    if (!beginJob(jobId, JobKind::Train))
        return;
    Status s = ensureDb(projectPath);
    if (s)
        s = stepTrain(jobId, config, name);
    emit finished(jobId, JobKind::Train, s);
}

void JobWorker::importModel(qint64 jobId, const QString &projectPath, const QString &directory,
                            bool copyIntoProject)
{
    if (!beginJob(jobId, JobKind::ImportModel))
        return;
    Status s = ensureDb(projectPath);
    if (s)
        s = stepImportModel(jobId, directory, copyIntoProject);
    emit finished(jobId, JobKind::ImportModel, s);
}

void JobWorker::computeFactors(qint64 jobId, const QString &projectPath, ModelConsent consent)
{
    if (!beginJob(jobId, JobKind::Compute))
        return;
    const Status status = [&]() -> Status {
        auto active = activeModel(projectPath);
        if (!active.ok())
            return active.status();
        if (consent.trustModel)
            TL_RETURN_IF_ERROR(trustModel(*m_db, active.value()));
        if (consent.acceptChangedCheckpoints) {
            auto accepted = acceptChangedCheckpoints(*m_db, active.value());
            if (!accepted.ok())
                return accepted.status();
        }
        TL_RETURN_IF_ERROR(stepCompute(jobId, active.value()));
        if (isCancelled(m_cancel))
            return Status::cancelled();
        return stepLoadEngine(jobId, active.value());
    }();
    emit finished(jobId, JobKind::Compute, status);
}

void JobWorker::loadEngine(qint64 jobId, const QString &projectPath)
{
    if (!beginJob(jobId, JobKind::LoadEngine))
        return;
    const Status status = [&]() -> Status {
        auto active = activeModel(projectPath);
        if (!active.ok())
            return active.status();
        return stepLoadEngine(jobId, active.value());
    }();
    emit finished(jobId, JobKind::LoadEngine, status);
}

void JobWorker::exportFiles(qint64 jobId, const QString &projectPath, const ExportRequest &request)
{
    if (!beginJob(jobId, JobKind::Export))
        return;
    const Status status = [&]() -> Status {
        TL_RETURN_IF_ERROR(ensureDb(projectPath));
        if (!request.labelsCsv.isEmpty())
            TL_RETURN_IF_ERROR(exportLabelsCsv(*m_db, request.labelsCsv.toStdString(), request.overwrite));
        if (!request.changeLog.isEmpty())
            TL_RETURN_IF_ERROR(exportChangeLog(*m_db, request.changeLog.toStdString(), request.overwrite));
        if (!request.imageFolder.isEmpty())
            TL_RETURN_IF_ERROR(exportImageFolder(*m_db, request.imageFolder.toStdString(),
                                                 request.hardLinks ? TreeMode::HardLink : TreeMode::Copy,
                                                 request.overwrite, progressFn(jobId), m_cancel));
        return Status::ok();
    }();
    emit finished(jobId, JobKind::Export, report(jobId, JobKind::Export, status));
}

void JobWorker::rankExamples(qint64 jobId, const QString &projectPath, int rankingKind)
{
    rankBySpec(jobId, projectPath, defaultRankingFor(RankingKind(rankingKind)));
}

void JobWorker::rankBySpec(qint64 jobId, const QString &projectPath, const RankingSpec &spec)
{
    const int rankingKind = int(spec.kind);
    if (!beginJob(jobId, JobKind::Rank))
        return;
    const Status status = [&]() -> Status {
        auto active = activeModel(projectPath);
        if (!active.ok())
            return active.status();
        auto ranked = rankTrainingExamples(*m_db, active.value(), spec, progressFn(jobId), m_cancel);
        if (!ranked.ok())
            return ranked.status();
        QVector<qint64> ids;
        ids.reserve(qsizetype(ranked->size()));
        for (const RankedExample &r : ranked.value())
            ids.push_back(r.exampleId);
        emit rankingReady(jobId, rankingKind, QString::fromStdString(spec.toString()), ids);
        return Status::ok();
    }();
    emit finished(jobId, JobKind::Rank, report(jobId, JobKind::Rank, status));
}

void JobWorker::runMislabelEvaluation(qint64 jobId, const EvaluationConfig &config, const QString &outDirectory,
                                      const QString &calibrateProject)
{
    if (!beginJob(jobId, JobKind::Evaluate))
        return;
    // runEvaluation imports the dataset into its own project in the work directory and
    // opens its own connection there: the person's project is not touched.
    const Status status = [&]() -> Status {
        auto result = runEvaluation(config, progressFn(jobId), m_cancel);
        if (!result.ok())
            return result.status();
        const Status written = writeEvaluationReport(*result, outDirectory.toStdString());
        if (!written.isOk())
            return written;
        const QString reportFile = QDir(outDirectory).absoluteFilePath(QStringLiteral("report.json"));
        if (!calibrateProject.isEmpty()) {
            // The worker's own connection to the person's project (the GUI thread has its
            // own): only its meta entry is written.
            TL_RETURN_IF_ERROR(ensureDb(calibrateProject));
            TL_RETURN_IF_ERROR(checkWritable());
            TL_RETURN_IF_ERROR(recordCalibration(*m_db, *result, reportFile.toStdString()));
        }
        emit evaluationReady(jobId, reportFile);
        return Status::ok();
    }();
    emit finished(jobId, JobKind::Evaluate, report(jobId, JobKind::Evaluate, status));
}

void JobWorker::crossValidate(qint64 jobId, const QString &projectPath, const CrossValidationConfig &config)
{
    if (!beginJob(jobId, JobKind::CrossValidate))
        return;
    const Status status = [&]() -> Status {
        TL_RETURN_IF_ERROR(ensureDb(projectPath));
        TL_RETURN_IF_ERROR(checkWritable());
        return runCrossValidation(*m_db, config, progressFn(jobId), m_cancel);
    }();
    emit finished(jobId, JobKind::CrossValidate, report(jobId, JobKind::CrossValidate, status));
}

void JobWorker::clusterClass(qint64 jobId, const QString &projectPath, qint64 modelId, int classIdx,
                             ClusterSpace space, std::shared_ptr<const FactorStore> store)
{
    if (!beginJob(jobId, JobKind::Cluster))
        return;
    ClusterOutcome out;
    out.classIdx = classIdx;
    out.space = space;
    out.store = std::move(store);
    out.status = [&]() -> Status {
        TL_RETURN_IF_ERROR(ensureDb(projectPath));
        if (!out.store) {
            auto loaded = FactorStore::load(*m_db, modelId, FactorPrecision::Float16, progressFn(jobId), m_cancel);
            if (!loaded.ok())
                return loaded.status();
            out.store = std::shared_ptr<const FactorStore>(std::move(loaded).value());
        }
        ClusterOptions opt;
        opt.space = space;
        opt.classes = {classIdx};
        auto summary = computeClusters(*m_db, modelId, opt, progressFn(jobId), m_cancel, out.store.get());
        if (!summary.ok())
            return summary.status();
        if (!summary->sets.empty())
            out.set = std::move(summary->sets.front());
        return Status::ok();
    }();
    const Status status = out.status;
    emit clustersReady(jobId, out);
    emit finished(jobId, JobKind::Cluster, report(jobId, JobKind::Cluster, status));
}

void JobWorker::retrainWithCorrections(qint64 jobId, const QString &projectPath)
{
    if (!beginJob(jobId, JobKind::Retrain))
        return;
    const Status status = [&]() -> Status {
        auto active = activeModel(projectPath);
        if (!active.ok())
            return active.status();
        TL_RETURN_IF_ERROR(checkWritable());
        auto result = traclens::retrainWithCorrections(*m_db, active.value(), std::nullopt, {}, progressFn(jobId),
                                                       m_cancel);
        if (!result.ok())
            return result.status();
        emit retrained(jobId, result->newModel, result->previousTestAccuracy, result->newTestAccuracy,
                       result->labelChangesSince);
        return Status::ok();
    }();
    emit finished(jobId, JobKind::Retrain, report(jobId, JobKind::Retrain, status));
}

} // namespace traclens
