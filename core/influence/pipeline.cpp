#include "influence/pipeline.h"

#include "model/trainjob.h"

#include <chrono>

namespace traclens {

namespace {
// The job row beside the engine's own, so that a cancelled or crashed import is finished
// on the next start instead of being taken for a complete one. Its name predates the
// pipeline's move out of the app; projects keep it.
constexpr const char *kImportJob = "ui:import";

int64_t nowMs()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

Status finish(const PipelineObserver &observer, PipelineStep step, Status status)
{
    if (observer.stepFinished)
        observer.stepFinished(step, status);
    return status;
}
} // namespace

Status requireWritable(const ProjectDb &db)
{
    if (db.isReadOnly())
        return Status::unsupported(db.path() + ": the project is open read-only (another TracLens has it open "
                                   "for writing); import, training and computing are done there");
    return Status::ok();
}

Result<bool> importComplete(ProjectDb &db)
{
    auto info = db.dataset();
    if (!info.ok())
        return info.status();
    if (!info.value())
        return false;
    auto count = db.exampleCount();
    if (!count.ok())
        return count.status();
    if (count.value() == 0)
        return false;
    auto job = db.job(kImportJob);
    if (!job.ok())
        return job.status();
    // No row: imported by another tool; trust it.
    return !job.value() || job.value()->state == "done";
}

Result<bool> factorsComplete(ProjectDb &db, int64_t modelId)
{
    auto ckpts = db.checkpoints(modelId);
    if (!ckpts.ok())
        return ckpts.status();
    for (const CheckpointRow &c : ckpts.value()) {
        auto missing = db.examplesMissingFactors(c.id);
        if (!missing.ok())
            return missing.status();
        if (!missing.value().empty())
            return false;
    }
    auto self = db.selfInfluence(modelId);
    if (!self.ok())
        return self.status();
    return !self.value().empty();
}

Result<ImportSummary> importStep(ProjectDb &db, const std::string &datasetPath, const ProgressFn &progress,
                                 const CancelFlag *cancel)
{
    TL_RETURN_IF_ERROR(requireWritable(db));
    JobRow row;
    row.name = kImportJob;
    row.state = "running";
    row.updatedMs = nowMs();
    row.message = datasetPath;
    db.setJob(row);
    auto summary = importDataset(db, datasetPath, progress, cancel);
    row.updatedMs = nowMs();
    if (summary.ok()) {
        row.state = "done";
        row.done = row.total = summary->train + summary->test;
        row.message = summary->toString();
    } else {
        row.state = summary.status().isCancelled() ? "cancelled" : "failed";
        row.message = summary.status().message();
    }
    db.setJob(row);
    return summary;
}

Result<int64_t> trainStep(ProjectDb &db, const TrainConfig &config, const std::string &name,
                          const ProgressFn &progress, const CancelFlag *cancel)
{
    TL_RETURN_IF_ERROR(requireWritable(db));
    auto id = trainProjectModel(db, config, name, progress, cancel);
    if (!id.ok())
        return id.status();
    TL_RETURN_IF_ERROR(db.setActiveModel(id.value()));
    return id;
}

Result<int64_t> importModelStep(ProjectDb &db, const std::string &directory, bool copyIntoProject,
                                const ProgressFn &progress)
{
    TL_RETURN_IF_ERROR(requireWritable(db));
    ModelImportOptions options;
    options.copyIntoProject = copyIntoProject;
    auto id = importModel(db, directory, progress, options);
    if (!id.ok())
        return id.status();
    TL_RETURN_IF_ERROR(db.setActiveModel(id.value()));
    return id;
}

Result<ComputeSummary> computeStep(ProjectDb &db, int64_t modelId, const ProgressFn &progress,
                                   const CancelFlag *cancel)
{
    TL_RETURN_IF_ERROR(requireWritable(db));
    return computeFactors(db, modelId, ComputeOptions{}, progress, cancel);
}

Result<PipelineOutcome> runPipeline(ProjectDb &db, const PipelineRequest &request, const PipelineObserver &observer,
                                    const ProgressFn &progress, const CancelFlag *cancel)
{
    auto imported = importComplete(db);
    if (!imported.ok())
        return imported.status();
    if (!imported.value()) {
        std::string source = request.datasetPath;
        if (source.empty()) {
            auto info = db.dataset();
            if (info.ok() && info.value())
                source = info.value()->importedFrom;
        }
        if (source.empty())
            return Status::invalid("the project has no dataset yet");
        auto summary = importStep(db, source, progress, cancel);
        TL_RETURN_IF_ERROR(finish(observer, PipelineStep::Import, summary.status()));
        if (observer.imported)
            observer.imported(summary.value());
    }
    if (isCancelled(cancel))
        return Status::cancelled();

    auto active = db.activeModel();
    if (!active.ok())
        return active.status();
    if (!active.value()) {
        switch (request.modelSource) {
        case PipelineRequest::ModelSource::None:
            return PipelineOutcome{};
        case PipelineRequest::ModelSource::TrainBuiltin: {
            auto id = trainStep(db, request.train, request.modelName, progress, cancel);
            TL_RETURN_IF_ERROR(finish(observer, PipelineStep::Train, id.status()));
            if (observer.trained)
                observer.trained(id.value());
            break;
        }
        case PipelineRequest::ModelSource::ImportDirectory: {
            auto id = importModelStep(db, request.modelDirectory, request.copyModelIntoProject, progress);
            TL_RETURN_IF_ERROR(finish(observer, PipelineStep::ImportModel, id.status()));
            break;
        }
        }
        active = db.activeModel();
        if (!active.ok())
            return active.status();
        if (!active.value())
            return Status::internal("no model was registered");
    }
    if (isCancelled(cancel))
        return Status::cancelled();

    const int64_t modelId = *active.value();
    bool compute = request.computeWhenComplete;
    if (!compute) {
        auto complete = factorsComplete(db, modelId);
        if (!complete.ok())
            return complete.status();
        compute = !complete.value();
    }
    if (compute) {
        auto summary = computeStep(db, modelId, progress, cancel);
        TL_RETURN_IF_ERROR(finish(observer, PipelineStep::Compute, summary.status()));
        if (observer.computed)
            observer.computed(summary.value());
    }
    if (isCancelled(cancel))
        return Status::cancelled();
    return PipelineOutcome{modelId};
}

} // namespace traclens
