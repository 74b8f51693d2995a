#include "distributedcompute.h"

#include <cstdio>
#include <cstdlib>

#ifdef TRACLENS_HAVE_DISTRIBUTED
#include "distributed/clustercompute.h"
#endif

namespace traclens::cli {

namespace {

// Exit codes as main.cpp's: 1 failed, 2 bad usage, 4 cancelled.
constexpr int kExitFailed = 1;
[[maybe_unused]] constexpr int kExitUsage = 2;
[[maybe_unused]] constexpr int kExitCancelled = 4;

#ifdef TRACLENS_HAVE_DISTRIBUTED
DistributedOptions distributedOptions(const ComputeOptions &options, double heartbeatTimeoutSeconds)
{
    DistributedOptions d;
    d.compute = options;
    if (heartbeatTimeoutSeconds > 0)
        d.heartbeatTimeout = std::chrono::milliseconds(int64_t(heartbeatTimeoutSeconds * 1000.0));
    d.heartbeatInterval = std::min(d.heartbeatInterval, d.heartbeatTimeout / 4);
    return d;
}
#endif

[[maybe_unused]] const char *kNoSupport = "this build of traclens-cli has no distributed support (it was built without Gloo: "
                         "install libgloo-dev and configure with -DTRACLENS_DISTRIBUTED=ON); run 'compute' without "
                         "--distributed";

} // namespace

#ifdef TRACLENS_HAVE_DISTRIBUTED

std::optional<int> runDistributedWorker(const ComputeOptions &options, double heartbeatTimeoutSeconds, bool quiet,
                                        bool json, const CancelFlag *cancel)
{
    auto role = clusterRoleFromEnvironment();
    if (!role.ok()) {
        std::fprintf(stderr, "traclens-cli: compute --distributed: %s\n", role.status().message().c_str());
        return kExitUsage;
    }
    if (role->isCoordinator())
        return std::nullopt;
    // The watchdog's handler: the main thread may be blocked in Gloo for good, so this
    // is where a worker whose coordinator stopped or vanished ends.
    const StopHandler stop = [](const Status &s) {
        std::fprintf(stderr, "traclens-cli: %s\n", s.message().c_str());
        std::fflush(stderr);
        std::_Exit(kExitFailed);
    };
    auto summary = runComputeWorker(*role, distributedOptions(options, heartbeatTimeoutSeconds), stop, cancel);
    if (!summary.ok()) {
        std::fprintf(stderr, "traclens-cli: %s\n", summary.status().message().c_str());
        std::fflush(stderr);
        // Threads of an abandoned process group may still be blocked; do not unwind them.
        std::_Exit(summary.status().isCancelled() ? kExitCancelled : kExitFailed);
    }
    if (json)
        std::printf("{\"rank\": %d, \"chunks\": %lld, \"computed\": %lld, \"seconds\": %.3f}\n", role->rank,
                    (long long)summary->chunks, (long long)summary->pairs, summary->seconds);
    else if (!quiet)
        std::printf("%s: computed %lld chunks, %lld (example, checkpoint) factor rows, %.1f s\n",
                    role->name().c_str(), (long long)summary->chunks, (long long)summary->pairs, summary->seconds);
    return 0;
}

Result<ComputeSummary> computeDistributed(ProjectDb &db, int64_t modelId, const ComputeOptions &options,
                                          double heartbeatTimeoutSeconds, const ProgressFn &progress,
                                          const CancelFlag *cancel)
{
    auto role = clusterRoleFromEnvironment();
    if (!role.ok())
        return role.status();
    return coordinateCompute(db, modelId, *role, distributedOptions(options, heartbeatTimeoutSeconds), progress,
                             cancel);
}

#else

std::optional<int> runDistributedWorker(const ComputeOptions &, double, bool, bool, const CancelFlag *)
{
    std::fprintf(stderr, "traclens-cli: compute --distributed: %s\n", kNoSupport);
    return kExitFailed;
}

Result<ComputeSummary> computeDistributed(ProjectDb &, int64_t, const ComputeOptions &, double, const ProgressFn &,
                                          const CancelFlag *)
{
    return Status::unsupported(kNoSupport);
}

#endif

} // namespace traclens::cli
