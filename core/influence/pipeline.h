#pragma once
// The pipeline from a dataset to TracIn influence: import the dataset, get a model (train
// the built-in CNN or import a traclens-model/1 directory), compute the factors. One
// function for everyone who runs it: `traclens-cli demo` and the app's project plan
// (ui/jobworker.cpp), and the steps one by one for the app's single jobs.
//
// Every step resumes: runPipeline() does only what the project still lacks (an import
// that did not finish, no active model, missing factors), so a cancelled or crashed run
// finishes later without redoing finished work.
//
// Thread safety: call from the thread that owns `db`; the observer's functions run on
// that thread. Failure: Status values; a cancelled step returns Status::cancelled() with
// its finished chunks committed. A project opened read-only refuses every step
// (Status::unsupported).

#include "influence/computejob.h"
#include "model/trainer.h"
#include "store/importer.h"
#include "store/projectdb.h"
#include "util/progress.h"
#include "util/status.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace traclens {

struct PipelineRequest {
    // The dataset to import while the project lacks a complete import; empty: the source
    // the project was imported from.
    std::string datasetPath;
    // Where the model comes from when the project has no active model.
    enum class ModelSource { None, TrainBuiltin, ImportDirectory };
    ModelSource modelSource = ModelSource::TrainBuiltin;
    TrainConfig train = TrainConfig::adaptiveDefault();
    std::string modelName = "builtin-cnn";
    std::string modelDirectory;
    bool copyModelIntoProject = false;
    // Run the compute step even when every factor is stored (it then reuses them all and
    // recomputes self-influence); by default a complete model is left as it is.
    bool computeWhenComplete = false;
};

enum class PipelineStep { Import, Train, ImportModel, Compute };

// Told what each step did; every member may be empty.
struct PipelineObserver {
    std::function<void(PipelineStep, const Status &)> stepFinished;
    std::function<void(const ImportSummary &)> imported;
    std::function<void(int64_t modelId)> trained;
    std::function<void(const ComputeSummary &)> computed;
};

struct PipelineOutcome {
    // The active model with its factors computed; nullopt when the project has no model
    // and the request says none is coming (ModelSource::None).
    std::optional<int64_t> model;
};

Result<PipelineOutcome> runPipeline(ProjectDb &db, const PipelineRequest &request,
                                    const PipelineObserver &observer = {}, const ProgressFn &progress = {},
                                    const CancelFlag *cancel = nullptr);

// --- the steps, each also a job of its own

// Unsupported when the project is open read-only (another TracLens writes it): the guard
// of every step that writes, and of the app's other writing jobs.
Status requireWritable(const ProjectDb &db);

// Whether the project holds a finished import: a dataset with examples, and no import
// step recorded as unfinished (a project imported by another tool has no record).
Result<bool> importComplete(ProjectDb &db);
// Whether every checkpoint of the model has the factors of every live example, and the
// self-influence is stored.
Result<bool> factorsComplete(ProjectDb &db, int64_t modelId);

// Imports `datasetPath` (importer.h), recording the step in the project's jobs table so
// that an interrupted import is finished on the next run instead of taken for complete.
Result<ImportSummary> importStep(ProjectDb &db, const std::string &datasetPath, const ProgressFn &progress = {},
                                 const CancelFlag *cancel = nullptr);
// Trains the built-in CNN (trainjob.h) and makes it the active model.
Result<int64_t> trainStep(ProjectDb &db, const TrainConfig &config, const std::string &name,
                          const ProgressFn &progress = {}, const CancelFlag *cancel = nullptr);
// Registers a traclens-model/1 directory (trainjob.h) and makes it the active model.
Result<int64_t> importModelStep(ProjectDb &db, const std::string &directory, bool copyIntoProject,
                                const ProgressFn &progress = {});
// Computes the model's missing factors and its self-influence (computejob.h).
Result<ComputeSummary> computeStep(ProjectDb &db, int64_t modelId, const ProgressFn &progress = {},
                                   const CancelFlag *cancel = nullptr);

} // namespace traclens
