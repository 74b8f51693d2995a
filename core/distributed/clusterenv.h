#pragma once
// Where this process stands in a distributed run, read from the launcher's environment
// the way torchrun and SLURM set it:
//   RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT                         (torchrun, by hand)
//   SLURM_PROCID, SLURM_NTASKS, first host of SLURM_JOB_NODELIST       (srun)
// torchrun's variables win where both are set; MASTER_PORT defaults to 29500.
//
// Thread safety: pure functions of their arguments (clusterRoleFromEnvironment reads the
// process environment). Failure: InvalidArgument naming the variable at fault.

#include "util/status.h"

#include <functional>
#include <string>

namespace traclens {

struct ClusterRole {
    int rank = 0;              // 0 is the coordinator
    int worldSize = 1;
    std::string masterAddr;    // host of rank 0, which serves the store
    int masterPort = 29500;
    std::string hostname;      // this machine's name, for messages
    bool isCoordinator() const { return rank == 0; }
    // "rank 2 on node-a", the name a process goes by in messages.
    std::string name() const;
};

// Looks a variable up; an empty string means unset. Tests pass their own.
using EnvLookup = std::function<std::string(const char *name)>;

Result<ClusterRole> clusterRoleFromEnvironment();
Result<ClusterRole> clusterRoleFrom(const EnvLookup &env, const std::string &hostname);

// The first host of a SLURM node list: "node[03-05,9],gpu1" → "node03".
std::string firstSlurmHost(const std::string &nodeList);

std::string thisHostname();

} // namespace traclens
