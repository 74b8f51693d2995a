#pragma once
// The kinds of background work the JobWorker runs; also the steps of a plan.

#include <QMetaType>

namespace traclens {

enum class JobKind : int {
    Plan, Import, Train, ImportModel, Compute, LoadEngine, Export, Rank, Retrain, Evaluate, CrossValidate, Cluster
};

// "Importing dataset", ... for the status bar.
const char *jobKindTitle(JobKind kind);

} // namespace traclens

Q_DECLARE_METATYPE(traclens::JobKind)
