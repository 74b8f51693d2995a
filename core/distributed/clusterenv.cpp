#include "distributed/clusterenv.h"

#include <cstdlib>
#include <unistd.h>

namespace traclens {

std::string ClusterRole::name() const
{
    return "rank " + std::to_string(rank) + " on " + hostname;
}

std::string thisHostname()
{
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0 || !buf[0])
        return "unknown-host";
    return buf;
}

std::string firstSlurmHost(const std::string &nodeList)
{
    // The first entry ends at a comma outside brackets.
    std::string first;
    int depth = 0;
    for (char ch : nodeList) {
        if (ch == '[')
            ++depth;
        else if (ch == ']')
            --depth;
        else if (ch == ',' && depth == 0)
            break;
        first += ch;
    }
    const size_t open = first.find('[');
    if (open == std::string::npos)
        return first;
    // "node[03-05,9]": the prefix and the first number of the first range, padding kept.
    std::string number;
    for (size_t i = open + 1; i < first.size() && first[i] != '-' && first[i] != ',' && first[i] != ']'; ++i)
        number += first[i];
    return first.substr(0, open) + number;
}

namespace {

Result<int> intVariable(const EnvLookup &env, const char *name, int min)
{
    const std::string v = env(name);
    char *end = nullptr;
    const long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || n < min || n > 1000000)
        return Status::invalid(std::string(name) + "='" + v + "' is not a whole number of at least "
                               + std::to_string(min));
    return int(n);
}

} // namespace

Result<ClusterRole> clusterRoleFrom(const EnvLookup &env, const std::string &hostname)
{
    ClusterRole role;
    role.hostname = hostname;
    const bool torchrun = !env("RANK").empty() || !env("WORLD_SIZE").empty();
    const char *rankVar = torchrun ? "RANK" : "SLURM_PROCID";
    const char *worldVar = torchrun ? "WORLD_SIZE" : "SLURM_NTASKS";
    if (env(rankVar).empty() || env(worldVar).empty())
        return Status::invalid("--distributed needs the launcher's environment: RANK and WORLD_SIZE (torchrun or "
                               "by hand, with MASTER_ADDR and MASTER_PORT) or SLURM_PROCID and SLURM_NTASKS (srun)");
    auto rank = intVariable(env, rankVar, 0);
    if (!rank.ok())
        return rank.status();
    auto world = intVariable(env, worldVar, 1);
    if (!world.ok())
        return world.status();
    if (*rank >= *world)
        return Status::invalid(std::string(rankVar) + "=" + std::to_string(*rank) + " is not below " + worldVar + "="
                               + std::to_string(*world));
    role.rank = *rank;
    role.worldSize = *world;
    role.masterAddr = env("MASTER_ADDR");
    if (role.masterAddr.empty()) {
        std::string nodes = env("SLURM_JOB_NODELIST");
        if (nodes.empty())
            nodes = env("SLURM_NODELIST");
        role.masterAddr = firstSlurmHost(nodes);
    }
    if (role.masterAddr.empty())
        return Status::invalid("MASTER_ADDR is not set (the host of rank 0), and there is no SLURM_JOB_NODELIST to "
                               "take the first host from");
    if (!env("MASTER_PORT").empty()) {
        auto port = intVariable(env, "MASTER_PORT", 1);
        if (!port.ok())
            return port.status();
        if (*port > 65535)
            return Status::invalid("MASTER_PORT=" + std::to_string(*port) + " is not a TCP port");
        role.masterPort = *port;
    }
    return role;
}

Result<ClusterRole> clusterRoleFromEnvironment()
{
    return clusterRoleFrom(
        [](const char *name) {
            const char *v = std::getenv(name);
            return std::string(v ? v : "");
        },
        thisHostname());
}

} // namespace traclens
