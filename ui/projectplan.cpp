#include "projectplan.h"

#include "store/projectdb.h"

#include <QJsonDocument>
#include <QJsonObject>

namespace traclens {

namespace {
constexpr const char *kPlanKey = "ui.plan";
}

QByteArray ProjectPlan::toJson() const
{
    QJsonObject o;
    o["dataset"] = datasetPath;
    o["model"] = modelSource == ModelSource::TrainBuiltin      ? "train"
                 : modelSource == ModelSource::ImportDirectory ? "import"
                                                               : "none";
    o["modelName"] = modelName;
    o["modelDirectory"] = modelDirectory;
    o["copyModel"] = copyModelIntoProject;
    QJsonObject t;
    t["width"] = train.width;
    t["embeddingDim"] = train.embeddingDim;
    t["epochs"] = train.epochs;
    t["batchSize"] = train.batchSize;
    t["learningRate"] = train.learningRate;
    t["lrDecay"] = train.lrDecay;
    t["lrDecayEvery"] = train.lrDecayEvery;
    t["lrSchedule"] = lrScheduleName(train.schedule);
    t["checkpointEvery"] = train.checkpointEvery;
    t["seed"] = double(train.seed);
    t["adaptive"] = train.adaptive.enabled;
    t["timeBudgetSeconds"] = train.adaptive.timeBudgetSeconds;
    t["network"] = builtinNetworkName(train.network);
    t["augmentation"] = augmentationName(train.augmentation);
    t["momentum"] = train.momentum;
    t["weightDecay"] = train.weightDecay;
    o["train"] = t;
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

ProjectPlan ProjectPlan::fromJson(const QByteArray &json)
{
    ProjectPlan p;
    const QJsonObject o = QJsonDocument::fromJson(json).object();
    p.datasetPath = o["dataset"].toString();
    const QString model = o["model"].toString();
    p.modelSource = model == "train"    ? ModelSource::TrainBuiltin
                    : model == "import" ? ModelSource::ImportDirectory
                                        : ModelSource::None;
    p.modelName = o["modelName"].toString(p.modelName);
    p.modelDirectory = o["modelDirectory"].toString();
    p.copyModelIntoProject = o["copyModel"].toBool(false);
    const QJsonObject t = o["train"].toObject();
    // The network first: it brings its recipe, which the stored fields then override. Plans
    // saved before the other networks existed train the small CNN.
    BuiltinNetwork network = BuiltinNetwork::Cnn;
    if (parseBuiltinNetwork(t["network"].toString().toStdString(), &network))
        p.train.useNetwork(network);
    const TrainConfig d = p.train;
    // Left at the recipe's augmentation when the plan has none (parseAugmentation writes
    // only what it parses).
    parseAugmentation(t["augmentation"].toString().toStdString(), &p.train.augmentation);
    p.train.momentum = t["momentum"].toDouble(d.momentum);
    p.train.weightDecay = t["weightDecay"].toDouble(d.weightDecay);
    p.train.width = t["width"].toInt(d.width);
    p.train.embeddingDim = t["embeddingDim"].toInt(d.embeddingDim);
    p.train.epochs = t["epochs"].toInt(d.epochs);
    p.train.batchSize = t["batchSize"].toInt(d.batchSize);
    p.train.learningRate = t["learningRate"].toDouble(d.learningRate);
    p.train.lrDecay = t["lrDecay"].toDouble(d.lrDecay);
    p.train.lrDecayEvery = t["lrDecayEvery"].toInt(d.lrDecayEvery);
    // Plans saved before schedules existed trained with the step schedule.
    if (!parseLrSchedule(t["lrSchedule"].toString("step").toStdString(), &p.train.schedule))
        p.train.schedule = LrSchedule::Step;
    p.train.checkpointEvery = t["checkpointEvery"].toInt(d.checkpointEvery);
    p.train.seed = uint64_t(t["seed"].toDouble(double(d.seed)));
    // Plans saved before adaptive training have no "adaptive": they keep their fixed epochs.
    p.train.adaptive.enabled = t["adaptive"].toBool(false);
    p.train.adaptive.timeBudgetSeconds = t["timeBudgetSeconds"].toDouble(d.adaptive.timeBudgetSeconds);
    return p;
}

ProjectPlan ProjectPlan::load(ProjectDb &db)
{
    auto value = db.meta(kPlanKey);
    if (!value.ok() || !value.value())
        return {};
    return fromJson(QByteArray::fromStdString(*value.value()));
}

Status ProjectPlan::save(ProjectDb &db) const
{
    return db.setMeta(kPlanKey, toJson().toStdString());
}

} // namespace traclens
