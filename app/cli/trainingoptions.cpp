// Training options and training reports shared by several commands (see trainingoptions.h).

#include "trainingoptions.h"

#include "influence/flagging.h"
#include "model/trainer.h"
#include "model/trainingrecord.h"
#include "model/trainjob.h"
#include "store/projectdb.h"

#include <QCommandLineParser>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QString>

#include <cstdio>
#include <optional>
#include <string>

namespace traclens::cli {

// The weak-model warning (core/influence/flagging.h) for a model; empty when fit or unreadable.
QJsonArray modelWarningsJson(ProjectDb &db, int64_t modelId)
{
    QJsonArray out;
    auto fitness = modelFitness(db, modelId);
    if (fitness.ok())
        for (const std::string &problem : modelWeaknesses(*fitness))
            out.append(q(problem));
    return out;
}

void printModelWarnings(const QJsonArray &warnings, FILE *to)
{
    for (const auto &w : warnings)
        std::fprintf(to, "warning: %s\n", qPrintable(w.toString()));
}

// How many epochs for 'train' and 'demo': --epochs N trains exactly N; otherwise adaptive
// training (core/model/trainer.h) with --time-budget, --max-epochs and --patience. False on a
// bad value.
bool applyEpochOptions(const QCommandLineParser &p, TrainConfig *cfg)
{
    if (p.isSet("epochs")) {
        cfg->adaptive.enabled = false;
        cfg->epochs = p.value("epochs").toInt();
        return cfg->epochs >= 1;
    }
    cfg->adaptive.enabled = true;
    bool ok = true;
    const double minutes = p.value("time-budget").toDouble(&ok);
    if (!ok || !(minutes >= 0.0))
        return false;
    cfg->adaptive.timeBudgetSeconds = minutes * 60.0;
    // Without --max-epochs the limit stays automatic (0); one given must be 1 or more.
    if (p.isSet("max-epochs")) {
        cfg->adaptive.maxEpochs = p.value("max-epochs").toInt(&ok);
        if (!ok || cfg->adaptive.maxEpochs < 1)
            return false;
    }
    if (p.isSet("patience"))
        cfg->adaptive.patience = p.value("patience").toInt();
    return cfg->adaptive.patience >= 1;
}

void addEpochOptions(CommandOptions &p)
{
    p.addOption({"epochs", "Train exactly this many epochs. Default: until validation accuracy stops improving.",
                 "n"});
    p.addOption({"time-budget", "Adaptive training: minutes for the whole training (0 = no limit).", "minutes",
                 QString::number(kDefaultTimeBudgetMinutes)});
    const AdaptiveTraining a;
    p.addOption({"max-epochs",
                 QString("Adaptive training: at most this many epochs. Automatic: %1, or on a validation part under %2 "
                         "examples, whose epochs are a few SGD steps, %1 × √(%2 / its size) (%3 at %4).")
                     .arg(kDefaultMaxEpochs)
                     .arg(a.patienceReference)
                     .arg(adaptiveMaxEpochs(a.minValidation, a))
                     .arg(a.minValidation),
                 "n", "automatic"});
    p.addOption({"patience",
                 QString("Adaptive training: stop after this many epochs without improvement of the %1-epoch mean "
                         "validation accuracy; a validation part under %2 examples waits longer (patience × √(%2 / "
                         "its size): %3 at %4).")
                     .arg(a.smoothing)
                     .arg(a.patienceReference)
                     .arg(adaptivePatience(a.minValidation, a))
                     .arg(a.minValidation),
                 "n", QString::number(a.patience)});
}

// How training stopped, as a line for people.
void printTrainingRecord(ProjectDb &db, int64_t modelId)
{
    auto record = storedTrainingRecord(db, modelId);
    if (record.ok() && record->has_value()) {
        const TrainingRecord &r = **record;
        std::printf("training: %s\n", r.summary().c_str());
        if (r.adaptive && !r.validation.empty()) {
            std::printf("  validation accuracy by epoch:");
            for (const auto &v : r.validation)
                std::printf(" %.3f", v.accuracy);
            std::printf("\n");
        }
    }
}

QJsonObject trainingRecordJson(ProjectDb &db, int64_t modelId)
{
    auto record = storedTrainingRecord(db, modelId);
    if (!record.ok() || !record->has_value())
        return {};
    return QJsonDocument::fromJson(QByteArray::fromStdString(trainingRecordToJson(**record))).object();
}

QCommandLineOption lrScheduleOption(const QString &defaultName)
{
    return {"lr-schedule",
            QString("How the learning rate falls: cosine (from --lr to near zero over the run's epochs) or step "
                    "(--lr-decay every --lr-decay-every epochs; adaptive training's validation run always steps). "
                    "Default: %1.")
                .arg(defaultName.isEmpty() ? QString("as the model was trained") : defaultName),
            "cosine|step"};
}

bool applyNetworkOptions(const QCommandLineParser &p, TrainConfig *cfg)
{
    if (p.isSet("network")) {
        BuiltinNetwork n;
        if (!parseBuiltinNetwork(p.value("network").toStdString(), &n))
            return false;
        // A change of network brings the new one's recipe; naming the same one keeps
        // what was recorded (retrain).
        if (n != cfg->network)
            cfg->useNetwork(n);
    }
    return !p.isSet("augment") || parseAugmentation(p.value("augment").toStdString(), &cfg->augmentation);
}

void addNetworkOptions(CommandOptions &p, bool withDefaults)
{
    p.addOption({"network",
                 QString("The built-in network: cnn (small and fast), bn-cnn (batch norm, three convolution "
                         "blocks, momentum and shifted images: about 3× cnn's time, stronger on large data sets) "
                         "or vgg (bn-cnn with two convolutions per block: about 7× cnn's time, the strongest); "
                         "core/model/trainer.h. Default: %1.")
                     .arg(withDefaults ? "cnn" : "as the model was trained"),
                 "cnn|bn-cnn|vgg"});
    p.addOption({"augment",
                 QString("Random changes to training images: none, shift (up to 2 pixels) or flip (shift and "
                         "mirror; only for classes that survive mirroring). Default: %1.")
                     .arg(withDefaults ? "none for cnn, shift for bn-cnn and vgg" : "as the model was trained"),
                 "none|shift|flip"});
}

// Training options shared by 'evaluate' and 'retrain'; only options given on the command
// line change `cfg`, so 'retrain' keeps the recorded configuration otherwise.
bool applyTrainOptions(const QCommandLineParser &p, TrainConfig *cfg)
{
    auto set = [&](const char *name, auto *field, auto convert) {
        if (p.isSet(name))
            *field = convert(p.value(name));
    };
    // The network first: it brings its recipe, which the options below may then change.
    if (!applyNetworkOptions(p, cfg))
        return false;
    set("epochs", &cfg->epochs, [](const QString &v) { return v.toInt(); });
    set("width", &cfg->width, [](const QString &v) { return v.toInt(); });
    set("embedding-dim", &cfg->embeddingDim, [](const QString &v) { return v.toInt(); });
    set("batch", &cfg->batchSize, [](const QString &v) { return v.toInt(); });
    set("lr", &cfg->learningRate, [](const QString &v) { return v.toDouble(); });
    set("lr-decay", &cfg->lrDecay, [](const QString &v) { return v.toDouble(); });
    set("lr-decay-every", &cfg->lrDecayEvery, [](const QString &v) { return v.toInt(); });
    set("checkpoint-every", &cfg->checkpointEvery, [](const QString &v) { return v.toInt(); });
    set("seed", &cfg->seed, [](const QString &v) { return v.toULongLong(); });
    if (p.isSet("lr-schedule") && !parseLrSchedule(p.value("lr-schedule").toStdString(), &cfg->schedule))
        return false;
    // Adaptive training (core/model/trainer.h) when asked for; a fixed --epochs wins.
    if (p.isSet("adaptive") || p.isSet("time-budget")) {
        cfg->adaptive.enabled = true;
        if (p.isSet("time-budget"))
            cfg->adaptive.timeBudgetSeconds = p.value("time-budget").toDouble() * 60.0;
    }
    if (p.isSet("epochs"))
        cfg->adaptive.enabled = false;
    return cfg->epochs >= 1 && cfg->width >= 1 && cfg->embeddingDim >= 1 && cfg->batchSize >= 1
           && cfg->learningRate > 0 && cfg->checkpointEvery >= 1;
}

// `defaults`: the values a command trains with when an option is not given (evaluate);
// none for retrain, which keeps what the model was trained with.
void addTrainOptions(CommandOptions &p, const std::optional<TrainConfig> &defaults)
{
    auto text = [&](const char *what, const QString &value) {
        return QString("%1 Default: %2.").arg(what, defaults ? value : QString("as the model was trained"));
    };
    const TrainConfig d = defaults.value_or(TrainConfig{});
    addNetworkOptions(p, defaults.has_value());
    p.addOption({"epochs", text("Epochs.", QString::number(d.epochs)), "n"});
    TrainConfig bn = d;
    bn.useBatchNormNetwork();
    auto perNetwork = [&](int cnn, int bnCnn) { return QString("%1 (cnn), %2 (bn-cnn, vgg)").arg(cnn).arg(bnCnn); };
    p.addOption({"width", text("Channels of the first convolution.", perNetwork(d.width, bn.width)), "n"});
    p.addOption({"embedding-dim",
                 text("Size of the embedding fed to fc.", perNetwork(d.embeddingDim, bn.embeddingDim)), "n"});
    p.addOption({"batch", text("Batch size.", perNetwork(d.batchSize, bn.batchSize)), "n"});
    p.addOption({"lr", text("Initial learning rate.", QString::number(d.learningRate)), "rate"});
    p.addOption(lrScheduleOption(defaults ? QString(lrScheduleName(d.schedule)) : QString()));
    p.addOption({"lr-decay", text("Learning-rate factor per decay step.", QString::number(d.lrDecay)), "factor"});
    p.addOption({"lr-decay-every",
                 text("Epochs per decay step (adaptive training's validation run: more on a validation part under "
                      "1000 examples, as its patience).",
                      QString::number(d.lrDecayEvery)),
                 "n"});
    p.addOption({"checkpoint-every", text("Epochs between checkpoints.", QString::number(d.checkpointEvery)), "n"});
    p.addOption({"seed", text("Training seed.", QString::number(d.seed)), "n"});
    p.addOption({"adaptive", "Train until validation accuracy stops improving instead of a fixed number of epochs."});
    p.addOption({"time-budget", "Adaptive training's time budget, minutes (implies --adaptive; 0 = none). Default: "
                                "none (a fixed number of epochs).",
                 "minutes"});
}

} // namespace traclens::cli
