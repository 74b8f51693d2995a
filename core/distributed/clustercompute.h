#pragma once
// TracIn factors computed by many processes on many machines, committed by one.
//
// Engine: torch.distributed's C++ backend (c10d) as Debian's LibTorch ships it — a
// TCPStore served by rank 0 for coordination and a Gloo process group for the factor
// rows (docs/distributed-engine.md records why). Processes are started by a launcher
// (torchrun conventions or srun; clusterenv.h) and find each other through the store.
//
// Roles:
//  - The coordinator (rank 0) owns the project and is its only writer. It plans the run
//    with planCompute() — the chunk boundaries of a single-process run — and publishes
//    the plan header and every pending chunk's examples in the store. It computes
//    nothing itself: it receives chunk rows, commits each chunk in its own transaction
//    exactly as computeFactors() does (commitChunk), and reports progress (pairs done of
//    total, each worker's rate; the printer adds the ETA). At the end it computes
//    self-influence (finishCompute).
//  - A worker (rank > 0) never opens the project: it reads the plan from the store, loads
//    the model's checkpoints from the same path (checking their SHA-256 against the
//    project's), claims chunks one at a time with the store's atomic counter (a slow
//    node does not hold the others back), decodes the images from the dataset root, runs
//    the chunk's batches and sends the rows to rank 0. Same chunks and batches as one
//    process, so the same numbers given the same LibTorch threads per process.
//
// Failure behaviour (the run stops; committed chunks stay; running the same command again
// with any number of processes resumes and recomputes none of them):
//  - a worker that fails (an unreadable image, a missing checkpoint) reports the error
//    in the store; the coordinator stops with it, naming the worker (rank and host);
//  - a worker that dies (SIGKILL, machine down) stops sending heartbeats: the
//    coordinator stops after `heartbeatTimeout`, naming it. Gloo's receive does not
//    return when a peer dies, which is why liveness goes through the store;
//  - the coordinator stops or dies: every worker's watchdog notices (an "abort" key, or
//    the store's connection failing) within a heartbeat interval or the store timeout
//    and calls `onStop`.
// After a failure the coordinator abandons (leaks) its process group and the thread
// blocked in a Gloo receive; the process is expected to exit.
//
// Ownership and threads: the ProjectDb is borrowed for the call and used only on the
// calling thread. Each call adds threads of its own (rank 0: one receiving from Gloo;
// workers: a watchdog) and, on success, joins them before it returns. One run per process
// at a time: ModelRunner::setThreads is process-wide.
//
// No exception crosses this API: c10d and Gloo exceptions are caught here.

#include "distributed/clusterenv.h"
#include "influence/computejob.h"

#include <chrono>
#include <functional>

namespace traclens {

struct DistributedOptions {
    ComputeOptions compute;                                 // as computeFactors
    std::chrono::milliseconds heartbeatInterval{500};       // a worker's beat
    std::chrono::milliseconds heartbeatTimeout{10000};      // silence that means dead
    std::chrono::milliseconds connectTimeout{300000};       // for every rank to reach the store
};

// Where a worker's rows come from: by default the plan's checkpoints (ChunkComputer).
// Benchmarks feed synthetic rows to measure the coordinator alone.
using ChunkSource = std::function<Result<ChunkFactors>(const ComputeChunk &)>;
using ChunkSourceFactory = std::function<Result<ChunkSource>(const ComputePlan &)>;

// Called at most once, on the worker's watchdog thread, when the run must stop while
// the worker may be blocked in Gloo (the coordinator aborted or vanished). A command-line
// program prints the message and ends the process; if the handler returns, the worker
// returns that status after its current chunk.
using StopHandler = std::function<void(const Status &)>;

struct WorkerSummary {
    int64_t chunks = 0;
    int64_t pairs = 0;   // (example, checkpoint) rows sent
    double seconds = 0.0;
};

// Rank 0: plans from the project and runs the coordinator. `role.rank` must be 0.
Result<ComputeSummary> coordinateCompute(ProjectDb &db, int64_t modelId, const ClusterRole &role,
                                         const DistributedOptions &options, const ProgressFn &progress = {},
                                         const CancelFlag *cancel = nullptr);

// The same with a plan made by the caller; commits its chunks and does not compute
// self-influence (finishCompute). For benchmarks.
Result<ComputeSummary> coordinatePlan(ProjectDb &db, const ComputePlan &plan, const ClusterRole &role,
                                      const DistributedOptions &options, const ProgressFn &progress = {},
                                      const CancelFlag *cancel = nullptr);

// Rank > 0. `source` empty = the plan's checkpoints. Returns when the coordinator has
// committed everything, or with the first error (its message names this rank and host).
Result<WorkerSummary> runComputeWorker(const ClusterRole &role, const DistributedOptions &options,
                                       const StopHandler &onStop, const CancelFlag *cancel = nullptr,
                                       const ChunkSourceFactory &source = {});

} // namespace traclens
