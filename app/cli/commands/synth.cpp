// traclens-cli synth: a synthetic project with planted clusters, for benchmarks and tests.

#include "commands.h"
#include "common.h"

#include "store/synthproject.h"

#include <algorithm>
#include <cstdio>

namespace traclens::cli {

int cmdSynth(Context &c)
{
    if (c.positional.size() != 1)
        return usage("synth: expected <project>");
    SynthOptions o;
    o.train = c.parser.value("train").toLongLong();
    o.test = c.parser.value("test").toLongLong();
    o.classes = c.parser.value("classes").toInt();
    o.dim = c.parser.value("dim").toInt();
    o.checkpoints = c.parser.value("checkpoints").toInt();
    o.clustersPerClass = c.parser.value("clusters-per-class").toInt();
    o.seed = c.parser.value("seed").toULongLong();
    o.chunk = c.parser.value("chunk").toLongLong();
    o.overwrite = c.parser.isSet("overwrite");
    auto summary = writeSyntheticProject(c.positional[0].toStdString(), o, progressPrinter(c.quiet), &g_cancel);
    if (!summary.ok())
        return fail(summary.status());
    if (c.json)
        printJson({{"model", qint64(summary->modelId)}, {"examples", qint64(summary->examples)},
                   {"factor_rows", qint64(summary->factorRows)}, {"seconds", summary->seconds}});
    else
        std::printf("synthetic project: %lld examples, %lld factor rows, model %lld, %.1f s (%.0f factor rows/s)\n",
                    (long long)summary->examples, (long long)summary->factorRows, (long long)summary->modelId,
                    summary->seconds, double(summary->factorRows) / std::max(1e-9, summary->seconds));
    return ExitOk;
}

void synthOptions(CommandOptions &p)
{
    p.addOption({"train", "Training examples.", "n", "10000"});
    p.addOption({"test", "Test examples.", "n", "1000"});
    p.addOption({"classes", "Classes.", "k", "10"});
    p.addOption({"dim", "Embedding size.", "d", "64"});
    p.addOption({"checkpoints", "Checkpoints.", "c", "3"});
    p.addOption({"clusters-per-class", "Planted clusters per class.", "q", "3"});
    p.addOption({"seed", "Random seed.", "n", "1"});
    p.addOption({"chunk", "Examples per transaction.", "n", "20000"});
    p.addOption({"overwrite", "Replace an existing project file."});
}

} // namespace traclens::cli
