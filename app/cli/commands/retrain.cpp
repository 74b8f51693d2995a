// traclens-cli retrain: train again on the current labels (your corrections) and compare test accuracy.

#include "commands.h"
#include "common.h"
#include "trainingoptions.h"

#include "evaluation/retrain.h"
#include "influence/computejob.h"
#include "model/modelrunner.h"
#include "model/trainer.h"
#include "store/projectdb.h"

#include <cstdio>
#include <memory>
#include <optional>

namespace traclens::cli {

int cmdRetrain(Context &c)
{
    if (c.positional.size() != 1)
        return usage("retrain: expected <project>");
    auto opened = openProjectModel(c);
    if (!opened.ok())
        return fail(opened.status());
    std::unique_ptr<ProjectDb> &db = opened->db;
    const int64_t model = opened->model;
    std::optional<TrainConfig> cfg;
    auto recorded = recordedTrainConfig(*db, model);
    if (recorded.ok())
        cfg = *recorded;
    else if (!c.parser.isSet("epochs"))
        return fail(recorded.status()); // an imported model: say why, unless told how to train
    else
        cfg = TrainConfig{};
    if (!applyTrainOptions(c.parser, &*cfg))
        return usage("retrain: epochs, width, embedding-dim, batch and checkpoint-every must be positive, lr > 0, --lr-schedule cosine or step");
    ModelRunner::setThreads(c.parser.value("threads").toInt());
    auto r = retrainWithCorrections(*db, model, cfg, c.parser.value("name").toStdString(), progressPrinter(c.quiet),
                                    &g_cancel);
    if (!r.ok())
        return fail(r.status());
    if (c.parser.isSet("compute")) {
        ComputeOptions opt;
        opt.threads = c.parser.value("threads").toInt();
        auto computed = computeFactors(*db, r->newModel, opt, progressPrinter(c.quiet), &g_cancel);
        if (!computed.ok())
            return fail(computed.status());
    }
    const double delta = r->newTestAccuracy - r->previousTestAccuracy;
    if (c.json) {
        printJson({{"previous_model", qint64(r->previousModel)}, {"model", qint64(r->newModel)},
                   {"previous_test_accuracy", r->previousTestAccuracy}, {"test_accuracy", r->newTestAccuracy},
                   {"change", delta}, {"label_changes_since", qint64(r->labelChangesSince)},
                   {"seconds", r->seconds}, {"factors_computed", c.parser.isSet("compute")}});
    } else {
        std::printf("model %lld trained on the current labels (%lld label changes since model %lld), %.0f s\n",
                    (long long)r->newModel, (long long)r->labelChangesSince, (long long)r->previousModel, r->seconds);
        if (r->previousTestAccuracy >= 0 && r->newTestAccuracy >= 0)
            std::printf("test accuracy: %.2f%% → %.2f%% (%+.2f points)\n", 100.0 * r->previousTestAccuracy,
                        100.0 * r->newTestAccuracy, 100.0 * delta);
        else
            std::printf("test accuracy: not measured (the project has no test split)\n");
        if (!c.parser.isSet("compute"))
            std::printf("the new model is active; run 'compute' for its TracIn factors\n");
    }
    return ExitOk;
}

void retrainOptions(CommandOptions &p)
{
    p.addOption(modelOption());
    p.addOption(threadsOption());
    addTrainOptions(p, std::nullopt);
    p.addOption({"name", "Name of the new model. Default: the model's name with \"-retrained\".", "name"});
    p.addOption({"compute", "Then compute the new model's TracIn factors."});
}

} // namespace traclens::cli
