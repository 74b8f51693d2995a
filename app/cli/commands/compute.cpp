// traclens-cli compute: TracIn factors and self-influence of a model (resumable).

#include "commands.h"
#include "common.h"
#include "distributedcompute.h"

#include "influence/computejob.h"
#include "store/projectdb.h"

#include <cstdio>
#include <memory>

namespace traclens::cli {

int cmdCompute(Context &c)
{
    if (c.positional.size() != 1)
        return usage("compute: expected <project>");
    ComputeOptions opt;
    opt.threads = c.parser.value("threads").toInt();
    opt.batchSize = c.parser.value("batch").toInt();
    opt.chunkSize = c.parser.value("chunk").toInt();
    // --distributed: ranks above 0 never open the project (app/cli/distributedcompute.h).
    const bool distributed = c.parser.isSet("distributed");
    const double heartbeat = c.parser.value("heartbeat-timeout").toDouble();
    if (distributed)
        if (auto workerExit = runDistributedWorker(opt, heartbeat, c.quiet, c.json, &g_cancel))
            return *workerExit;
    auto opened = openProjectModel(c);
    if (!opened.ok())
        return fail(opened.status());
    std::unique_ptr<ProjectDb> &db = opened->db;
    const int64_t model = opened->model;
    if (Status s = prepareModelRun(*db, model, c.parser.isSet("trust-model"),
                                   c.parser.isSet("accept-changed-checkpoints"), c.quiet, c.positional[0]);
        !s)
        return fail(s);
    auto summary = distributed ? computeDistributed(*db, model, opt, heartbeat, progressPrinter(c.quiet), &g_cancel)
                               : computeFactors(*db, model, opt, progressPrinter(c.quiet), &g_cancel);
    if (!summary.ok())
        return fail(summary.status());
    if (c.json)
        printJson({{"model", qint64(model)}, {"computed", qint64(summary->computed)},
                   {"reused", qint64(summary->reused)}, {"seconds", summary->seconds},
                   {"vectors_per_second", summary->vectorsPerSecond}});
    else
        std::printf("computed %lld (example, checkpoint) factor rows, reused %lld, %.1f s, %.0f vectors/s\n",
                    (long long)summary->computed, (long long)summary->reused, summary->seconds,
                    summary->vectorsPerSecond);
    return ExitOk;
}

void computeOptions(CommandOptions &p)
{
    p.addOption(modelOption());
    p.addOption(threadsOption());
    p.addOption(trustModelOption());
    p.addOption({"accept-changed-checkpoints",
                 "A checkpoint file changed since its factors were computed: drop that checkpoint's "
                 "factors and recompute them with the new file (others are kept). Without it compute "
                 "refuses and keeps everything."});
    p.addOption({"batch", "Inference batch size.", "n", "256"});
    p.addOption({"chunk", "Examples per transaction.", "n", "2048"});
    p.addOption({"distributed", "One process of a run over many processes or machines, started by a "
                                "launcher (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT or srun's SLURM_*): "
                                "rank 0 writes the project, the others compute. See the README."});
    p.addOption({"heartbeat-timeout", "With --distributed: a worker silent this long is taken as dead.", "seconds",
                 "10"});
}

} // namespace traclens::cli
