#pragma once
// `traclens-cli compute --distributed`: the command-line side of core/distributed.
// Every process runs the same command line under a launcher (torchrun conventions or
// srun). Rank 0 opens the project as plain `compute` does and coordinates; the other
// ranks never open it and only compute. Builds without Gloo compile this file too and
// answer that the build lacks distributed support.

#include "influence/computejob.h"

#include <optional>

namespace traclens::cli {

// Called by `compute --distributed` before it opens the project. On a worker (rank > 0),
// or when the launcher's environment is unusable or this build has no distributed
// support, it does the whole job, prints any error and returns the exit code. On the
// coordinator it returns nothing: the caller opens the project and calls
// computeDistributed(). `heartbeatTimeoutSeconds` ≤ 0 keeps the default.
// `cancel` (SIGINT/SIGTERM) stops a worker between images and stops the run with its name.
std::optional<int> runDistributedWorker(const ComputeOptions &options, double heartbeatTimeoutSeconds, bool quiet,
                                        bool json, const CancelFlag *cancel);

// The coordinator's run (rank 0), with the same summary as computeFactors.
Result<ComputeSummary> computeDistributed(ProjectDb &db, int64_t modelId, const ComputeOptions &options,
                                          double heartbeatTimeoutSeconds, const ProgressFn &progress,
                                          const CancelFlag *cancel);

} // namespace traclens::cli
