// traclens-cli train: the built-in CNN on the project, a checkpoint per epoch.

#include "commands.h"
#include "common.h"
#include "trainingoptions.h"

#include "model/modelrunner.h"
#include "model/trainer.h"
#include "model/trainjob.h"

#include <QJsonArray>
#include <QJsonObject>

#include <chrono>
#include <cstdio>

namespace traclens::cli {

int cmdTrain(Context &c)
{
    if (c.positional.size() != 1)
        return usage("train: expected <project>");
    auto db = openProject(c.positional[0]);
    if (!db.ok())
        return fail(db.status());
    TrainConfig cfg = TrainConfig::adaptiveDefault();
    if (!applyEpochOptions(c.parser, &cfg))
        return usage("train: --epochs, --max-epochs and --patience must be positive, --time-budget 0 or more");
    // The network first: it brings its own width, embedding, batch and SGD recipe.
    if (!applyNetworkOptions(c.parser, &cfg))
        return usage("train: --network must be cnn, bn-cnn or vgg, --augment none, shift or flip");
    if (c.parser.isSet("width"))
        cfg.width = c.parser.value("width").toInt();
    if (c.parser.isSet("embedding-dim"))
        cfg.embeddingDim = c.parser.value("embedding-dim").toInt();
    if (c.parser.isSet("batch"))
        cfg.batchSize = c.parser.value("batch").toInt();
    cfg.learningRate = c.parser.value("lr").toDouble();
    cfg.lrDecay = c.parser.value("lr-decay").toDouble();
    cfg.lrDecayEvery = c.parser.value("lr-decay-every").toInt();
    if (!parseLrSchedule(c.parser.value("lr-schedule").toStdString(), &cfg.schedule))
        return usage("train: --lr-schedule must be cosine or step");
    cfg.checkpointEvery = c.parser.value("checkpoint-every").toInt();
    cfg.seed = c.parser.value("seed").toULongLong();
    if (cfg.width < 1 || cfg.batchSize < 1 || cfg.learningRate <= 0 || cfg.embeddingDim < 1
        || cfg.checkpointEvery < 1)
        return usage("train: width, embedding-dim, batch and checkpoint-every must be positive, lr > 0");
    ModelRunner::setThreads(c.parser.value("threads").toInt());
    const auto t0 = std::chrono::steady_clock::now();
    const std::string name =
        c.parser.isSet("name") ? c.parser.value("name").toStdString() : std::string(builtinNetworkName(cfg.network));
    auto id = trainProjectModel(**db, cfg, name, progressPrinter(c.quiet), &g_cancel);
    if (!id.ok())
        return fail(id.status());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto epochs = (*db)->epochs(*id);
    auto cps = (*db)->checkpoints(*id);
    if (!epochs.ok() || !cps.ok())
        return fail(epochs.ok() ? cps.status() : epochs.status());
    const QJsonArray warnings = modelWarningsJson(**db, *id);
    if (c.json) {
        QJsonArray ep;
        for (const auto &e : *epochs)
            ep.append(QJsonObject{{"epoch", e.epoch}, {"learning_rate", e.learningRate}, {"train_loss", e.trainLoss},
                                  {"train_accuracy", e.trainAccuracy}, {"test_loss", e.testLoss},
                                  {"test_accuracy", e.testAccuracy}});
        printJson({{"model", qint64(*id)}, {"checkpoints", int(cps->size())}, {"seconds", seconds}, {"epochs", ep},
                   {"training", trainingRecordJson(**db, *id)}, {"model_warnings", warnings}});
    } else {
        std::printf("model %lld: %zu checkpoints, %.1f s\n", (long long)*id, cps->size(), seconds);
        printTrainingRecord(**db, *id);
        for (const auto &e : *epochs)
            std::printf("  epoch %d  lr %.4g  train loss %.4f acc %.4f  test loss %.4f acc %.4f\n", e.epoch,
                        e.learningRate, e.trainLoss, e.trainAccuracy, e.testLoss, e.testAccuracy);
        printModelWarnings(warnings, stdout);
    }
    return ExitOk;
}

void trainOptions(CommandOptions &p)
{
    // The defaults are the engine's (TrainConfig), so the help and the training agree;
    // CommandOptions prints them.
    const TrainConfig d;
    TrainConfig bn;
    bn.useBatchNormNetwork();
    auto option = [&](const char *name, const char *what, const char *value, const QString &def) {
        p.addOption({name, what, value, def});
    };
    auto perNetwork = [&](const char *name, const char *what, int cnn, int bnCnn) {
        p.addOption({name, QString("%1 Default: %2 (cnn), %3 (bn-cnn, vgg).").arg(what).arg(cnn).arg(bnCnn), "n"});
    };
    addEpochOptions(p);
    addNetworkOptions(p, true);
    perNetwork("width", "Channels of the first convolution.", d.width, bn.width);
    perNetwork("embedding-dim", "Size of the embedding fed to fc.", d.embeddingDim, bn.embeddingDim);
    perNetwork("batch", "Batch size.", d.batchSize, bn.batchSize);
    option("lr", "Initial learning rate.", "rate", QString::number(d.learningRate));
    QCommandLineOption schedule = lrScheduleOption(lrScheduleName(d.schedule));
    schedule.setDefaultValue(lrScheduleName(d.schedule));
    p.addOption(schedule);
    option("lr-decay", "Learning-rate factor per decay step.", "factor", QString::number(d.lrDecay));
    option("lr-decay-every",
           "Epochs per decay step (the validation run of adaptive training: more on a validation part under 1000 "
           "examples, as its patience).",
           "n", QString::number(d.lrDecayEvery));
    option("checkpoint-every", "Epochs between checkpoints.", "n", QString::number(d.checkpointEvery));
    option("seed", "Random seed.", "n", QString::number(d.seed));
    p.addOption({"name", "Model name. Default: the network's name (builtin-cnn, builtin-bn-cnn, builtin-vgg).", "name"});
    p.addOption(threadsOption());
}

} // namespace traclens::cli
