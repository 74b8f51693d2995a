// Distributed compute (issue #15, docs/distributed-engine.md):
//   commit  — the coordinator's commit capacity in factor rows/s: rank 0 commits into a
//             synthetic project while worker threads send synthetic rows (no inference),
//             all ranks in this process over loopback Gloo, as they would be on nodes;
//   worker  — one worker's rate on a real project: planCompute + ChunkComputer over its
//             first chunks (decode + inference + factor rows, no SQLite, no transport).
// Usage:
//   bench_distributed commit [--workers 2] [--examples 60000] [--classes 10] [--dim 64]
//                            [--checkpoints 3] [--chunk 2048]
//   bench_distributed worker <project> [--threads 1] [--chunks 3] [--chunk 2048] [--batch 256]

#include "distributed/clustercompute.h"
#include "influence/computejob.h"
#include "model/modelrunner.h"
#include "store/projectdb.h"
#include "store/synthproject.h"

#include <sqlite3.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

using namespace traclens;
using Clock = std::chrono::steady_clock;

namespace {

int freePort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 29500;
    if (::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0
        && ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    ::close(fd);
    return port;
}

long argValue(int argc, char **argv, const char *name, long fallback)
{
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0)
            return std::atol(argv[i + 1]);
    return fallback;
}

int benchCommit(int argc, char **argv)
{
    const int workers = int(argValue(argc, argv, "--workers", 2));
    SynthOptions so;
    so.train = argValue(argc, argv, "--examples", 60000);
    so.test = 0;
    so.classes = int(argValue(argc, argv, "--classes", 10));
    so.dim = int(argValue(argc, argv, "--dim", 64));
    so.checkpoints = int(argValue(argc, argv, "--checkpoints", 3));
    so.overwrite = true;
    const int chunk = int(argValue(argc, argv, "--chunk", 2048));
    const std::string path =
        (std::filesystem::temp_directory_path() / ("bench-distributed-" + std::to_string(getpid()) + ".traclens"))
            .string();
    auto synth = writeSyntheticProject(path, so);
    if (!synth.ok()) {
        std::fprintf(stderr, "%s\n", synth.status().message().c_str());
        return 1;
    }
    auto db = ProjectDb::open(path);
    if (!db.ok()) {
        std::fprintf(stderr, "%s\n", db.status().message().c_str());
        return 1;
    }
    // An empty factors table, as before a first compute.
    sqlite3_exec((*db)->handle(), "DELETE FROM factors; DELETE FROM self_influence;", nullptr, nullptr, nullptr);

    // The plan a fresh project would give (no model files needed: workers make rows up).
    ComputePlan plan;
    plan.modelId = synth->modelId;
    for (const auto &cp : *(*db)->checkpoints(synth->modelId)) {
        plan.checkpointIds.push_back(cp.id);
        plan.checkpointFiles.push_back(cp.file);
        plan.checkpointHashes.emplace_back();
    }
    plan.numClasses = so.classes;
    auto examples = (*db)->examples();
    const size_t nc = plan.checkpointIds.size();
    plan.pairsTotal = int64_t(examples->size() * nc);
    for (size_t b = 0; b < examples->size(); b += size_t(chunk)) {
        ComputeChunk c;
        c.begin = int64_t(b);
        for (size_t i = b; i < std::min(examples->size(), b + size_t(chunk)); ++i)
            c.examples.push_back({(*examples)[i].id, (*examples)[i].source, (*examples)[i].currentLabel,
                                  std::vector<uint8_t>(nc, 1)});
        plan.chunks.push_back(std::move(c));
    }

    ClusterRole role;
    role.worldSize = workers + 1;
    role.masterAddr = "127.0.0.1";
    role.masterPort = freePort();
    role.hostname = "bench";
    DistributedOptions options;
    options.heartbeatTimeout = std::chrono::milliseconds(60000);
    const int k = so.classes, d = so.dim;
    // Rows of a chunk: random values made once per worker, ids set per chunk.
    const ChunkSourceFactory synthetic = [k, d, nc](const ComputePlan &) -> Result<ChunkSource> {
        auto rng = std::make_shared<std::mt19937>(7);
        return ChunkSource([rng, k, d, nc](const ComputeChunk &c) -> Result<ChunkFactors> {
            std::uniform_real_distribution<float> u(0.0f, 1.0f);
            ChunkFactors f;
            f.begin = c.begin;
            f.embeddingDim = d;
            f.perCheckpoint.resize(nc);
            FactorRow proto;
            proto.error.resize(size_t(k));
            proto.probs.resize(size_t(k));
            proto.embedding.resize(size_t(d));
            for (auto &v : proto.error)
                v = u(*rng);
            for (auto &v : proto.probs)
                v = u(*rng);
            for (auto &v : proto.embedding)
                v = u(*rng);
            for (size_t cp = 0; cp < nc; ++cp)
                for (const auto &e : c.examples) {
                    FactorRow r = proto;
                    r.exampleId = e.id;
                    r.labelUsed = e.label;
                    f.perCheckpoint[cp].push_back(std::move(r));
                }
            return f;
        });
    };
    std::vector<std::thread> threads;
    std::vector<WorkerSummary> sums(static_cast<size_t>(workers));
    for (int r = 1; r <= workers; ++r)
        threads.emplace_back([&, r] {
            ClusterRole w = role;
            w.rank = r;
            auto s = runComputeWorker(w, options, {}, nullptr, synthetic);
            if (s.ok())
                sums[size_t(r - 1)] = *s;
            else
                std::fprintf(stderr, "worker %d: %s\n", r, s.status().message().c_str());
        });
    auto summary = coordinatePlan(**db, plan, role, options);
    for (auto &t : threads)
        t.join();
    if (!summary.ok()) {
        std::fprintf(stderr, "%s\n", summary.status().message().c_str());
        return 1;
    }
    std::printf("commit capacity: %d workers, %lld examples x %zu checkpoints, K=%d D=%d, chunk %d: "
                "%lld factor rows in %.2f s = %.0f factor rows/s (%.1f MB/s of row data)\n",
                workers, (long long)examples->size(), nc, k, d, chunk, (long long)summary->computed,
                summary->seconds, summary->vectorsPerSecond,
                summary->vectorsPerSecond * double(2 * k + d) * 4 / 1e6);
    for (int r = 1; r <= workers; ++r)
        std::printf("  worker %d: %lld chunks, %lld rows sent\n", r, (long long)sums[size_t(r - 1)].chunks,
                    (long long)sums[size_t(r - 1)].pairs);
    db->reset();
    std::filesystem::remove(path);
    std::filesystem::remove(path + "-wal");
    std::filesystem::remove(path + "-shm");
    return 0;
}

int benchWorker(int argc, char **argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: bench_distributed worker <project> [--threads N] [--chunks N]\n");
        return 2;
    }
    auto db = ProjectDb::open(argv[2], ProjectDb::OpenMode::ReadOnly);
    if (!db.ok()) {
        std::fprintf(stderr, "%s\n", db.status().message().c_str());
        return 1;
    }
    auto model = (*db)->activeModel();
    ComputeOptions opt;
    opt.threads = int(argValue(argc, argv, "--threads", 1));
    opt.chunkSize = int(argValue(argc, argv, "--chunk", 2048));
    opt.batchSize = int(argValue(argc, argv, "--batch", 256));
    const int chunks = int(argValue(argc, argv, "--chunks", 3));
    ModelRunner::setThreads(opt.threads);
    // As if nothing were computed yet: every pair of every chunk is missing.
    auto plan = planCompute(**db, model.ok() && *model ? **model : 0, opt);
    if (!plan.ok()) {
        std::fprintf(stderr, "%s\n", plan.status().message().c_str());
        return 1;
    }
    auto computer = ChunkComputer::load(*plan, true);
    if (!computer.ok()) {
        std::fprintf(stderr, "%s\n", computer.status().message().c_str());
        return 1;
    }
    int64_t pairs = 0;
    const auto t0 = Clock::now();
    int done = 0;
    for (auto &c : plan->chunks) {
        if (done++ >= chunks)
            break;
        for (auto &e : c.examples)
            std::fill(e.missing.begin(), e.missing.end(), uint8_t(1));
        auto rows = (*computer)->compute(c);
        if (!rows.ok()) {
            std::fprintf(stderr, "%s\n", rows.status().message().c_str());
            return 1;
        }
        pairs += rows->pairs();
    }
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("worker rate: %s, %zu checkpoints, %d threads, %d chunks of %d: %lld factor rows in %.2f s = "
                "%.0f factor rows/s (%.0f images/s)\n",
                argv[2], plan->checkpointIds.size(), opt.threads, std::min<int>(chunks, int(plan->chunks.size())),
                opt.chunkSize, (long long)pairs, s, double(pairs) / s,
                double(pairs) / s / double(std::max<size_t>(1, plan->checkpointIds.size())));
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    std::printf("machine: %u cores; load average: ", std::thread::hardware_concurrency());
    if (FILE *f = std::fopen("/proc/loadavg", "r")) {
        char buf[64] = {};
        if (std::fgets(buf, sizeof buf, f))
            std::fputs(buf, stdout);
        std::fclose(f);
    } else {
        std::printf("?\n");
    }
    if (argc >= 2 && std::strcmp(argv[1], "commit") == 0)
        return benchCommit(argc, argv);
    if (argc >= 2 && std::strcmp(argv[1], "worker") == 0)
        return benchWorker(argc, argv);
    std::fprintf(stderr, "usage: bench_distributed commit|worker ... (see the file's header)\n");
    return 2;
}
