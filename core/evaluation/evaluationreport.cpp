// The evaluation's files: report.json (the data; the app's report view reads it back),
// report.md (for people) and the PNG charts.

#include "evaluation/evaluation.h"
#include "util/jsonvalues.h"
#include "evaluation/calibration.h"
#include "evaluation/detectionmetrics.h"
#include "evaluation/imagesheet.h"
#include "evaluation/retrain.h"
#include "util/filereader.h"
#include "influence/flagging.h"
#include "model/trainjob.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <filesystem>

namespace fs = std::filesystem;

namespace traclens {

namespace {

constexpr const char *kReportFormat = "traclens-evaluation/1";

QString q(const std::string &s)
{
    return QString::fromStdString(s);
}

QString pct(double v, int decimals = 1)
{
    return QString::number(v * 100.0, 'f', decimals) + "%";
}


// The spelling the project's calibration entry shares (calibration.h).
QJsonObject specJson(const RankingSpec &s)
{
    return rankingSpecToJson(s);
}

RankingSpec specFrom(const QJsonObject &o)
{
    RankingSpec s;
    s.kind = parseRankingKind(o.value("kind").toString().toStdString()).value_or(RankingKind::SelfInfluence);
    s.checkpoints = CheckpointPolicy::parse(o.value("selection").toString().toStdString(),
                                            o.value("weighting").toString().toStdString())
                        .value_or(CheckpointPolicy{});
    s.seed = o.value("seed").toString().toULongLong();
    return s;
}

QJsonArray rankingsJson(const std::vector<RankingEvaluation> &list)
{
    QJsonArray out;
    for (const auto &r : list) {
        QJsonArray curve;
        for (const auto &[x, y] : r.curve)
            curve.append(QJsonArray{x, y});
        QJsonObject o{{"name", q(r.name)},           {"spec", specJson(r.spec)}, {"offered", r.offered},
                      {"recall", doublesJson(r.recall)}, {"auc", r.auc},             {"mean_recall", r.meanRecall()}};
        if (!r.curve.empty())
            o.insert("curve", curve);
        out.append(o);
    }
    return out;
}

std::vector<RankingEvaluation> rankingsFrom(const QJsonValue &v)
{
    std::vector<RankingEvaluation> out;
    for (const auto &x : v.toArray()) {
        const QJsonObject o = x.toObject();
        RankingEvaluation r;
        r.name = o.value("name").toString().toStdString();
        r.spec = specFrom(o.value("spec").toObject());
        r.offered = o.value("offered").toBool(true);
        r.recall = doublesFrom(o.value("recall"));
        r.auc = o.value("auc").toDouble(0.5);
        for (const auto &p : o.value("curve").toArray())
            r.curve.emplace_back(p.toArray().at(0).toDouble(), p.toArray().at(1).toDouble());
        out.push_back(std::move(r));
    }
    return out;
}

QJsonArray matrixJson(const std::vector<std::vector<double>> &m)
{
    QJsonArray rows;
    for (const auto &row : m)
        rows.append(doublesJson(row));
    return rows;
}

QJsonArray loadJson(const std::array<double, 3> &load)
{
    return QJsonArray{load[0], load[1], load[2]};
}

std::array<double, 3> loadFrom(const QJsonValue &v)
{
    const QJsonArray a = v.toArray();
    return {a.at(0).toDouble(-1), a.at(1).toDouble(-1), a.at(2).toDouble(-1)};
}

bool truthRun(const EvaluationReport &r)
{
    return !r.config.truthFile.empty();
}

QJsonObject toJson(const EvaluationReport &r)
{
    const EvaluationConfig &c = r.config;
    QJsonArray classes, flips, epochs, checkpoints, cleaning, seedRuns, seconds;
    for (const auto &n : r.classes)
        classes.append(q(n));
    for (size_t i = 0; i < r.flips.size(); ++i)
        flips.append(QJsonObject{{"id", qint64(r.flips[i].exampleId)},
                                 {"source", i < r.flipSources.size() ? q(r.flipSources[i]) : QString()},
                                 {"true", r.flips[i].trueLabel},
                                 {"noisy", r.flips[i].noisyLabel}});
    for (const auto &e : r.epochs)
        epochs.append(QJsonObject{{"epoch", e.epoch},
                                  {"learning_rate", e.learningRate},
                                  {"train_loss", e.trainLoss},
                                  {"train_accuracy", e.trainAccuracy},
                                  {"test_loss", e.testLoss},
                                  {"test_accuracy", e.testAccuracy}});
    for (const auto &s : r.checkpoints)
        checkpoints.append(QJsonObject{{"checkpoint", s.checkpoint},
                                       {"learning_rate", s.learningRate},
                                       {"train_accuracy", s.trainAccuracy},
                                       {"test_accuracy", s.testAccuracy},
                                       {"mean_self_term_flipped", s.meanSelfTermFlipped},
                                       {"mean_self_term_clean", s.meanSelfTermClean},
                                       {"share_of_self_influence", s.shareOfSelfInfluence}});
    for (const auto *list : {&r.cleaning, &r.seedRuns})
        for (const auto &run : *list)
            (list == &r.cleaning ? cleaning : seedRuns)
                .append(QJsonObject{{"strategy", q(run.strategy)},
                                    {"budget", run.budget},
                                    {"reviewed", qint64(run.reviewed)},
                                    {"fixed", qint64(run.fixed)},
                                    {"seed", QString::number(qulonglong(run.seed))},
                                    {"test_accuracy", run.testAccuracy},
                                    {"seconds", run.seconds}});
    for (const auto &[stage, s] : r.seconds)
        seconds.append(QJsonObject{{"stage", q(stage)}, {"seconds", s}});
    QJsonArray unflipped;
    for (const auto &u : r.unflippedAtTop)
        unflipped.append(QJsonObject{{"id", qint64(u.id)},
                                     {"source", q(u.source)},
                                     {"rank", qint64(u.rank)},
                                     {"label", u.label},
                                     {"model_class", u.modelClass},
                                     {"label_probability", u.labelProbability},
                                     {"out_of_sample", u.outOfSample}});
    QJsonArray cleaningRankings;
    for (const RankingSpec &spec : c.cleaningRankings)
        cleaningRankings.append(specJson(spec));
    QJsonObject training = trainConfigToJson(c.train);
    training["model"] = qint64(r.modelId);
    training["adaptive"] = c.train.adaptive.enabled;
    training["curve"] = epochs;
    return {{"format", kReportFormat},
            {"command", q(c.command)},
            {"dataset", q(c.dataset)},
            {"work_directory", q(c.workDirectory)},
            {"classes", classes},
            {"train", qint64(r.trainCount)},
            {"test", qint64(r.testCount)},
            {"subset", QJsonObject{{"train_limit", qint64(c.trainLimit)}, {"test_limit", qint64(c.testLimit)}}},
            {"noise", QJsonObject{{"rate", c.noiseRate},
                                  {"type", truthRun(r) ? QString("none") : QString(noiseTypeName(c.noiseType))},
                                  {"seed", QString::number(qulonglong(c.noiseSeed))},
                                  {"count", int(r.flips.size())},
                                  {"confusion_file", q(c.confusionFile)},
                                  {"confusion_source", q(r.confusionSource)},
                                  {"confusion", matrixJson(r.confusion)},
                                  {"flips", flips}}},
            {"truth", QJsonObject{{"file", q(c.truthFile)},
                                  {"count", truthRun(r) ? int(r.flips.size()) : 0},
                                  {"labelled", r.truthLabelled},
                                  {"not_in_subset", qint64(r.truthNotInSubset)}}},
            {"machine", QJsonObject{{"cpu", q(r.machine.cpuModel)},
                                    {"logical_cores", r.machine.logicalCores},
                                    {"torch_threads", r.machine.torchThreads},
                                    {"load_start", loadJson(r.machine.loadStart)},
                                    {"load_end", loadJson(r.machine.loadEnd)},
                                    {"description", q(describeMachine(r.machine))}}},
            {"training", training},
            {"checkpoints", checkpoints},
            {"budgets", doublesJson(c.budgets)},
            {"default_ranking", specJson(r.defaultSpec)},
            {"ensemble_formula", r.ensembleFormula},
            {"estimated_wrong_labels", QJsonObject{{"pruned", qint64(r.labelNoise.pruned)},
                                                   {"covered", qint64(r.labelNoise.covered)},
                                                   {"share", r.labelNoise.share()}}},
            {"baseline_ranking", q(r.baselineName)},
            {"folds", c.folds},
            {"cv_views", r.mirroredViews ? "mirrored" : "plain"},
            {"rankings", rankingsJson(r.rankings)},
            {"checkpoint_policies", rankingsJson(r.policies)},
            {"best_policy", q(r.bestPolicy)},
            {"histogram", QJsonObject{{"log", r.histogramLog},
                                      {"edges", doublesJson(r.histogramEdges)},
                                      {"clean", doublesJson(r.histogramClean)},
                                      {"flipped", doublesJson(r.histogramFlipped)}}},
            {"unflipped_at_top", unflipped},
            {"cleaning", QJsonObject{{"budgets", doublesJson(c.cleaningBudgets)},
                                     {"seeds", c.cleaningSeeds},
                                     {"rankings", cleaningRankings},
                                     {"skipped", q(r.cleaningSkipped)},
                                     {"test_accuracy_before", r.testAccuracyBefore},
                                     {"runs", cleaning},
                                     {"seed_runs", seedRuns}}},
            {"seconds", seconds},
            {"total_seconds", r.totalSeconds}};
}

const RankingEvaluation *findRanking(const std::vector<RankingEvaluation> &list, const std::string &name)
{
    for (const auto &r : list)
        if (r.name == name)
            return &r;
    return nullptr;
}

QString datasetTitle(const std::string &path)
{
    const QString name = QDir(q(path)).dirName();
    return name.isEmpty() ? q(path) : name;
}

// "10% label noise", "10% pair label noise", "25 known errors".
QString noiseLabel(const EvaluationReport &r)
{
    if (truthRun(r))
        return QString("%1 known errors").arg(r.flips.size());
    const QString type = r.config.noiseType == NoiseType::Uniform ? QString() : QString(noiseTypeName(r.config.noiseType)) + " ";
    return pct(r.config.noiseRate, 0) + " " + type + "label noise";
}

QString className(const EvaluationReport &r, int c)
{
    return c >= 0 && c < int(r.classes.size()) ? q(r.classes[size_t(c)]) : QString::number(c);
}

QString noiseBullet(const EvaluationReport &r)
{
    const EvaluationConfig &c = r.config;
    if (truthRun(r)) {
        QString md = QString("- **Known errors** (no injected noise): %1 training examples listed in `%2` are scored "
                             "as the wrong labels%3; their ids and sources are in `report.json`.")
                         .arg(r.flips.size())
                         .arg(q(c.truthFile))
                         .arg(r.truthLabelled ? QString(", each with its correct label") : QString(" (no correct labels given)"));
        if (r.truthNotInSubset > 0)
            md += QString(" %1 more entries of the file are not in the seeded subset and are not scored.")
                      .arg(r.truthNotInSubset);
        return md + "\n";
    }
    const QString where = "the flips (id, source, true and noisy label) are in `report.json` and in the project's label "
                          "history (origin `noise`).";
    const QString head = QString("- **Noise**: %1 training labels (%2, seed %3, chosen uniformly among the training "
                                 "examples)")
                             .arg(r.flips.size())
                             .arg(pct(c.noiseRate, 0))
                             .arg(qulonglong(c.noiseSeed));
    switch (c.noiseType) {
    case NoiseType::Uniform:
        return QString("- **Noise**: %1 training labels (%2, seed %3) moved to a uniformly chosen *other* class; ")
                   .arg(r.flips.size())
                   .arg(pct(c.noiseRate, 0))
                   .arg(qulonglong(c.noiseSeed))
               + where + "\n";
    case NoiseType::Pair: {
        QString map;
        const int k = int(r.classes.size());
        for (int i = 0; i < k; ++i)
            map += (map.isEmpty() ? "" : ", ") + className(r, i) + " → " + className(r, (i + 1) % k);
        return head + " moved to one fixed other class each, class c → class (c+1) mod K in the dataset's class order (" + map + "); " + where + "\n";
    }
    case NoiseType::Confusion: {
        QString md = head + " moved to a class drawn from their class's row of the confusion matrix below (diagonal "
                            "left out, the rest normalised), so flips go where a classifier's mistakes go; " + where
                     + "\n\n";
        md += "  Confusion matrix (" + q(r.confusionSource.empty() ? c.confusionFile : r.confusionSource)
              + "; row = true class, column = class assigned):\n\n";
        if (!r.confusion.empty()) {
            md += "  | true \\ assigned |";
            QString rule = "  |---|";
            for (size_t j = 0; j < r.confusion.size(); ++j) {
                md += " " + className(r, int(j)) + " |";
                rule += "---:|";
            }
            md += "\n" + rule + "\n";
            for (size_t i = 0; i < r.confusion.size(); ++i) {
                md += "  | " + className(r, int(i)) + " |";
                for (double v : r.confusion[i])
                    md += " " + QString::number(v, 'g', 6) + " |";
                md += "\n";
            }
        }
        return md + "\n";
    }
    }
    return {};
}

QString duration(double seconds)
{
    if (seconds < 90)
        return QString::number(seconds, 'f', 0) + " s";
    if (seconds < 5400)
        return QString::number(seconds / 60.0, 'f', 1) + " min";
    return QString::number(seconds / 3600.0, 'f', 2) + " h";
}

QString recallTable(const EvaluationReport &r, const std::vector<const RankingEvaluation *> &rows,
                    const std::string &bold, bool withOracle)
{
    QString md = "| ranking |";
    QString rule = "|---|";
    for (double b : r.config.budgets) {
        md += " top " + QString::number(b * 100.0, 'g', 3) + "% |";
        rule += "---:|";
    }
    md += " ROC AUC |\n" + rule + "---:|\n";
    for (const RankingEvaluation *e : rows) {
        const bool b = e->name == bold;
        QString line = "| " + QString(b ? "**" : "") + q(e->name) + (b ? " (default)**" : "") + " |";
        for (double v : e->recall)
            line += " " + QString(b ? "**" : "") + pct(v) + (b ? "**" : "") + " |";
        line += " " + QString::number(e->auc, 'f', 4) + " |\n";
        md += line;
    }
    if (withOracle && r.trainCount > 0) {
        const double noise = double(r.flips.size()) / double(r.trainCount);
        md += "| *best possible* |";
        for (double b : r.config.budgets)
            md += " *" + pct(std::min(1.0, b / noise)) + "* |";
        md += " *1* |\n";
    }
    return md;
}

// Which PNG files were drawn (a chart without data is left out).
struct Plots {
    bool any = false, recall = false, policies = false, histogram = false, unflipped = false;
};

// The first unflipped examples of the default queue: how many of them each budget holds,
// who they are, and their picture.
QString unflippedSection(const EvaluationReport &r, const RankingEvaluation *def, bool picture)
{
    if (r.unflippedAtTop.empty())
        return {};
    const bool truth = truthRun(r);
    const QString unflipped = truth ? "unlisted" : "unflipped";
    QString md = QString("### %1 labels at the top of the default queue\n\n").arg(truth ? "Unlisted" : "Unflipped");
    if (def && def->recall.size() == r.config.budgets.size()) {
        // Only budgets no larger than the number of wrong labels: there each of them takes
        // the place of a wrong label the review could have found.
        QStringList counts;
        for (size_t i = 0; i < r.config.budgets.size(); ++i) {
            const int64_t reviewed = reviewCount(r.trainCount, r.config.budgets[i]);
            if (reviewed > int64_t(r.flips.size()))
                continue;
            const int64_t found = std::llround(def->recall[i] * double(r.flips.size()));
            counts << QString("%1 in the top %2").arg(std::max<int64_t>(0, reviewed - found)).arg(pct(r.config.budgets[i], 0));
        }
        if (!counts.isEmpty())
            md += QString("Where the top of the queue holds no more examples than there are %1, each example "
                          "whose label was %2 takes the place of one: %3.\n\n")
                      .arg(truth ? "known errors" : "flips", truth ? "not listed" : "not flipped", counts.join(", "));
    }
    md += QString("%1 The first %2 in queue order (the model's class and p[label] %3):\n\n")
              .arg(truth ? "Some of them may be wrong labels the truth file misses."
                         : "On a real dataset many of them are wrong labels the dataset came with, which the "
                           "injected noise does not count.")
              .arg(r.unflippedAtTop.size())
              .arg(r.unflippedAtTop.front().outOfSample ? "from the fold model that never trained on the example"
                                                        : "from the evaluated model");
    md += "| rank | example | label | model's class | p[label] |\n|---:|---|---|---|---:|\n";
    for (const auto &u : r.unflippedAtTop)
        md += QString("| %1 | `%2` | %3 | %4 | %5 |\n")
                  .arg(u.rank)
                  .arg(u.source.empty() ? QString::number(u.id) : q(u.source))
                  .arg(className(r, u.label), u.modelClass >= 0 ? className(r, u.modelClass) : QString("—"))
                  .arg(u.labelProbability >= 0 ? QString::number(u.labelProbability, 'f', 3) : QString("—"));
    md += "\n";
    if (picture)
        md += QString("![The first %1 labels of the default queue: label → model's class](unflipped-at-top.png)\n\n")
                  .arg(unflipped);
    md += QString("To score the rankings against the ones you confirm, list them in a file (one `example,correct "
                  "label` per line) and run `traclens-cli evaluate --truth FILE`.\n\n");
    return md;
}

// `training`: how the model was trained, when its project recorded it (trainjob.h).
QString markdown(const EvaluationReport &r, const Plots &plots, const std::optional<TrainingRecord> &training)
{
    const EvaluationConfig &c = r.config;
    const TrainConfig &t = c.train;
    const std::string defaultName = r.defaultSpec.toString();
    const RankingEvaluation *def = findRanking(r.rankings, defaultName);
    const RankingEvaluation *loss = nullptr;
    for (const auto &e : r.rankings)
        if (e.spec.kind == RankingKind::Loss)
            loss = &e;
    QString md;
    md += "# Mislabel detection: " + datasetTitle(c.dataset) + ", " + noiseLabel(r) + "\n\n";
    md += "*Generated by `traclens-cli evaluate` (core/evaluation/evaluation.cpp); the numbers below are measured, not "
          "edited.*\n\n";
    md += QString("- **Data**: `%1`, %2 training and %3 test images, %4 classes%5.\n")
              .arg(q(c.dataset))
              .arg(r.trainCount)
              .arg(r.testCount)
              .arg(r.classes.size())
              .arg(c.trainLimit > 0 || c.testLimit > 0 ? QString(" (a seeded subset)") : QString());
    md += noiseBullet(r);
    QString rates;
    for (double eta : r.learningRates)
        rates += (rates.isEmpty() ? "" : ", ") + QString::number(eta, 'g', 4);
    const QString epochs = t.adaptive.enabled
                               ? QString("%1 epochs (adaptive: until validation accuracy stopped improving)")
                                     .arg(r.epochs.size())
                               : QString("%1 epochs").arg(t.epochs);
    const QString schedule = t.schedule == LrSchedule::Cosine
                                 ? QString("η = %1 annealed to near zero (cosine)").arg(t.learningRate)
                                 : QString("η = %1 multiplied by %2 every %3 epochs")
                                       .arg(t.learningRate)
                                       .arg(t.lrDecay)
                                       .arg(t.lrDecayEvery);
    const QString network = t.network != BuiltinNetwork::Cnn
                                ? QString("the built-in %1 (`%2`, width %3, embedding %4)")
                                      .arg(t.network == BuiltinNetwork::Vgg ? "VGG-style CNN" : "batch-norm CNN")
                                      .arg(builtinNetworkName(t.network))
                                      .arg(t.width)
                                      .arg(t.embeddingDim)
                                : QString("the built-in CNN (width %1, embedding %2)").arg(t.width).arg(t.embeddingDim);
    QString sgd = t.momentum > 0.0 ? QString("SGD with Nesterov momentum %1").arg(t.momentum) : QString("plain SGD");
    if (t.weightDecay > 0.0)
        sgd += QString(", weight decay %1").arg(t.weightDecay);
    if (t.augmentation != Augmentation::None)
        sgd += t.augmentation == Augmentation::ShiftFlip ? QString(", images shifted by up to 2 pixels and mirrored")
                                                         : QString(", images shifted by up to 2 pixels");
    md += QString("- **Model**: %1, %2, %3, batch %4, %5 → %6 "
                  "checkpoints with η = (%7); trained on the %8 labels, test accuracy %9.\n")
              .arg(network)
              .arg(sgd)
              .arg(epochs)
              .arg(t.batchSize)
              .arg(schedule)
              .arg(r.learningRates.size())
              .arg(rates)
              .arg(truthRun(r) ? "dataset's" : "noisy")
              .arg(pct(r.testAccuracyBefore));
    // The weak-model and under-training warnings (core/influence/flagging.h), judged on the test
    // accuracy curve the report holds and the training record when there is one.
    ModelFitness fitness;
    fitness.numClasses = int(r.classes.size());
    fitness.trainExamples = r.trainCount;
    fitness.epochs = r.epochs;
    fitness.training = training;
    if (training && training->adaptive)
        md += "- **Training**: " + q(training->summary()) + ".\n";
    for (const std::string &problem : modelWeaknesses(fitness))
        md += "- **Warning**: " + q(problem) + "\n";
    md += "- **Default review queue**: **" + q(defaultName)
          + "** (`evaluationDefaultRanking()` in core/influence/ranking.cpp: without out-of-sample scores the loss; "
            "with them the ensemble, or cv-boundary where confident learning estimates "
          + QString::number(kBoundaryReviewNoiseShare * 100, 'f', 0) + " % of the labels wrong or more)"
          + (r.ensembleFormula > 0 ? QString("; the ensemble is formula %1 (`kEnsembleFormulaVersion`)").arg(r.ensembleFormula)
                                   : QString())
          + ".\n";
    if (r.labelNoise.covered > 0)
        md += QString("- **Estimated wrong labels**: %1 of %2 (%3 %), confident learning's pruned set on the "
                      "noisy labels (`estimateLabelNoise()`, core/model/crossvalidation.h).\n")
                  .arg(r.labelNoise.pruned)
                  .arg(r.labelNoise.covered)
                  .arg(r.labelNoise.share() * 100, 0, 'f', 1);
    if (!r.baselineName.empty())
        md += QString("- **Baseline**: **%1** — confident learning's self-confidence, 1 − p[label] from %2-fold "
                      "cross-validated, out-of-sample probabilities of the same CNN with the same epochs%3 "
                      "(core/model/crossvalidation.h).\n")
                  .arg(q(r.baselineName))
                  .arg(c.folds)
                  .arg(r.mirroredViews ? QString(", each image scored as given and mirrored left–right (the mean "
                                                 "of the two views' probabilities)")
                                       : QString());
    md += "\n";

    const QString wrong = truthRun(r) ? "known errors" : "flipped labels";
    md += "## " + QString(truthRun(r) ? "Known errors" : "Flipped labels") + " found in the top of each ranking\n\n";
    md += "Recall = share of all " + wrong + " that are among the first X % of the ranking (what a person "
          "reviewing that much of the queue would find). ROC AUC: how well the score separates " + wrong
          + " from the other labels (0.5 = chance).\n\n";
    std::vector<const RankingEvaluation *> rows;
    for (const auto &e : r.rankings)
        rows.push_back(&e);
    md += recallTable(r, rows, defaultName, true) + "\n";
    if (plots.recall)
        md += "![Recall against the fraction of the training set reviewed](recall-rankings.png)\n\n";

    if (def) {
        md += "### Targets for the default queue\n\n";
        auto at = [&](double budget) -> double {
            for (size_t i = 0; i < c.budgets.size(); ++i)
                if (std::abs(c.budgets[i] - budget) < 1e-9)
                    return def->recall[i];
            return -1.0;
        };
        auto target = [&](double budget, double goal) {
            const double v = at(budget);
            if (v < 0)
                return QString("- top %1: not measured\n").arg(pct(budget, 0));
            return QString("- ≥ %1 of flips in the top %2: measured **%3** — %4\n")
                .arg(pct(goal, 0), pct(budget, 0), pct(v))
                .arg(v >= goal ? QString("met") : QString("missed by %1 points").arg((goal - v) * 100.0, 0, 'f', 1));
        };
        md += target(0.10, 0.80);
        md += target(0.20, 0.95);
        // Whether the default finds at least as many at every budget, and the differences.
        auto recallDifferences = [&](const RankingEvaluation &other) {
            QString diffs;
            bool all = true;
            for (size_t i = 0; i < c.budgets.size(); ++i) {
                const double d = def->recall[i] - other.recall[i];
                all = all && d >= -1e-12;
                diffs += (diffs.isEmpty() ? "" : ", ") + QString("%1: %2%3")
                                                             .arg(pct(c.budgets[i], 0))
                                                             .arg(d >= 0 ? "+" : "")
                                                             .arg(d * 100.0, 0, 'f', 1);
            }
            return std::make_pair(all, diffs);
        };
        if (const RankingEvaluation *base = r.baselineName.empty() ? nullptr : findRanking(r.rankings, r.baselineName);
            base && base != def) {
            const auto [all, diffs] = recallDifferences(*base);
            md += QString("- at least as good as the confident-learning baseline at every budget: %1 (points vs "
                          "baseline: %2)\n")
                      .arg(all ? "met" : "**not met**", diffs);
        }
        if (loss) {
            const auto [all, diffs] = recallDifferences(*loss);
            if (def == loss)
                md += "- at least as good as the loss ranking at every budget: the default *is* the loss ranking\n";
            else
                md += QString("- at least as good as the loss ranking at every budget: %1 (points vs loss: %2)\n")
                          .arg(all ? "met" : "**not met**", diffs);
        }
        md += "\n";
    }
    md += unflippedSection(r, def, plots.unflipped);

    md += "## Checkpoint policy\n\n";
    md += "TracIn sums ηᵢ·‖eᵢ‖²(‖hᵢ‖²+1) over checkpoints i. Early checkpoints of an under-trained model with a "
          "large η can dominate that sum. Every policy below is recomputed from the stored factors (no "
          "retraining).\n\n";
    md += "| checkpoint | η | train acc. (noisy labels) | test acc. | mean sᵢ flipped | mean sᵢ clean | flipped / "
          "clean | share of Σ ηᵢsᵢ |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto &s : r.checkpoints)
        md += QString("| %1 | %2 | %3 | %4 | %5 | %6 | %7 | %8 |\n")
                  .arg(s.checkpoint)
                  .arg(s.learningRate, 0, 'g', 4)
                  .arg(s.trainAccuracy >= 0 ? pct(s.trainAccuracy) : QString("–"))
                  .arg(s.testAccuracy >= 0 ? pct(s.testAccuracy) : QString("–"))
                  .arg(s.meanSelfTermFlipped, 0, 'g', 4)
                  .arg(s.meanSelfTermClean, 0, 'g', 4)
                  .arg(s.meanSelfTermClean > 0 ? s.meanSelfTermFlipped / s.meanSelfTermClean : 0.0, 0, 'f', 1)
                  .arg(pct(s.shareOfSelfInfluence));
    md += "\n";
    {
        // Which checkpoint dominates the sum, and which one separates best on its own.
        const CheckpointStudyRow *largest = nullptr;
        for (const auto &s : r.checkpoints)
            if (!largest || s.shareOfSelfInfluence > largest->shareOfSelfInfluence)
                largest = &s;
        int bestCheckpoint = 0;
        double bestRecall = -1.0;
        size_t at10 = 0;
        for (size_t i = 0; i < c.budgets.size(); ++i)
            if (std::abs(c.budgets[i] - 0.10) < 1e-9)
                at10 = i;
        for (const auto &e : r.policies) {
            int checkpoint = 0;
            if (e.name.rfind("self-influence (checkpoint ", 0) == 0)
                checkpoint = std::atoi(e.name.c_str() + std::string("self-influence (checkpoint ").size());
            else if (e.offered && e.spec.kind == RankingKind::SelfInfluence && e.spec.checkpoints.select(int(r.checkpoints.size())).size() == 1)
                checkpoint = int(r.checkpoints.size());
            if (checkpoint > 0 && at10 < e.recall.size() && e.recall[at10] > bestRecall) {
                bestRecall = e.recall[at10];
                bestCheckpoint = checkpoint;
            }
        }
        if (largest && bestCheckpoint > 0)
            md += QString("Checkpoint %1 carries the largest share of the η-weighted sum (%2); on its own, checkpoint "
                          "%3 separates best (%4 of the flips in the top %5).%6\n\n")
                      .arg(largest->checkpoint)
                      .arg(pct(largest->shareOfSelfInfluence))
                      .arg(bestCheckpoint)
                      .arg(pct(bestRecall))
                      .arg(pct(c.budgets.empty() ? 0.1 : c.budgets[at10], 0))
                      .arg(largest->checkpoint != bestCheckpoint
                               ? QString(" Weighting by η gives the best-separating checkpoint %1 of the sum.")
                                     .arg(pct(r.checkpoints[size_t(bestCheckpoint - 1)].shareOfSelfInfluence))
                               : QString());
    }
    std::vector<const RankingEvaluation *> study;
    for (const auto &e : r.policies)
        study.push_back(&e);
    std::stable_sort(study.begin(), study.end(), [](const RankingEvaluation *a, const RankingEvaluation *b) {
        return a->meanRecall() > b->meanRecall();
    });
    md += "Sorted by mean recall over the budgets (the selection criterion); *italic* rows are for insight only "
          "(not offered rankings: one early checkpoint alone, and each factor of self-influence alone).\n\n";
    QString table = recallTable(r, study, defaultName, false);
    for (const RankingEvaluation *e : study)
        if (!e->offered)
            table.replace("| " + q(e->name) + " |", "| *" + q(e->name) + "* |");
    md += table + "\n";
    md += "- Best offered policy (mean recall): **" + q(r.bestPolicy) + "**.\n";
    md += "- The default queue: **" + q(defaultName) + "**" +
          (r.bestPolicy == defaultName ? QString(" — the measured best.\n")
                                       : QString(" — differs from the best of this run; see the README for why.\n"));
    md += "\n";
    if (plots.policies)
        md += "![Recall of self-influence under each checkpoint policy](recall-checkpoints.png)\n\n";

    if (!r.cleaningSkipped.empty())
        md += "## The cleaning loop\n\nNot run: " + q(r.cleaningSkipped) + ".\n\n";
    if (!r.cleaning.empty()) {
        md += "## The cleaning loop\n\n";
        md += "A simulated person reviews the top X % of the default queue (or of another ranking, or a random X % of "
              "the training set), "
              "restores the true label of every flip found there and keeps the rest; the model is retrained with "
              "the same configuration. Each cell is trained with every cleaning seed and compared with the model "
              "trained on the noisy labels with the same seed (the gain); the table gives the mean gain and, in "
              "brackets, the smallest and largest. Test accuracy of the model trained on the noisy labels: **"
              + pct(r.testAccuracyBefore, 2) + "** (seed " + QString::number(qulonglong(c.train.seed)) + ").\n\n";
        auto points = [](double v) { return QString("%1%2").arg(v >= 0 ? "+" : "").arg(v * 100.0, 0, 'f', 2); };
        md += "| reviewed | review | flips fixed | test acc. gain | gain / random gain |\n|---:|---|---:|---:|---:|\n";
        for (const CleaningRow &row : cleaningRows(r)) {
            QString gain = "–";
            if (row.gains.size() == 1) {
                gain = points(row.gains.front());
            } else if (!row.gains.empty()) {
                const auto [lo, hi] = std::minmax_element(row.gains.begin(), row.gains.end());
                gain = QString("%1 [%2, %3] (%4 seeds)")
                           .arg(points(row.meanGain()), points(*lo), points(*hi))
                           .arg(row.gains.size());
            }
            QString ratio = "–";
            if (row.strategy == "random")
                ratio = row.gains.empty() ? QString("–") : QString("1×");
            else if (!std::isnan(row.ratioToRandom))
                ratio = QString::number(row.ratioToRandom, 'f', 1) + "×";
            else if (!row.gains.empty() && row.meanGain() > 0)
                ratio = "random review gained nothing";
            const QString title = row.strategy == "queue" ? "**" + q(row.title) + "**, the default" : q(row.title);
            md += QString("| %1 (%2) | %3 | %4 | %5 | %6 |\n")
                      .arg(pct(row.budget, 0))
                      .arg(row.reviewed)
                      .arg(title,
                           row.fixedMin < 0 ? QString("–") : QString("%1 of %2").arg(row.fixedMin).arg(r.flips.size()),
                           gain, ratio);
        }
        for (const auto &run : r.cleaning)
            if (run.strategy == "all flips fixed")
                md += QString("\nUpper bound — every flip fixed (the clean labels): test accuracy **%1** (%2%3 "
                              "points).\n")
                          .arg(pct(run.testAccuracy, 2))
                          .arg(run.testAccuracy >= r.testAccuracyBefore ? "+" : "")
                          .arg((run.testAccuracy - r.testAccuracyBefore) * 100.0, 0, 'f', 2);
        if (!r.seedRuns.empty()) {
            // The spread between seeds with the same noisy labels: the scale against which
            // the changes above are read.
            std::vector<double> acc{r.testAccuracyBefore};
            QString list = pct(r.testAccuracyBefore, 2) + QString(" (seed %1)").arg(qulonglong(c.train.seed));
            for (const auto &run : r.seedRuns) {
                acc.push_back(run.testAccuracy);
                list += ", " + pct(run.testAccuracy, 2) + QString(" (seed %1)").arg(qulonglong(run.seed));
            }
            double mean = 0.0, var = 0.0;
            for (double a : acc)
                mean += a / double(acc.size());
            for (double a : acc)
                var += (a - mean) * (a - mean) / double(acc.size() - 1);
            const auto [lo, hi] = std::minmax_element(acc.begin(), acc.end());
            md += QString("\nSeed-to-seed spread, same noisy labels, other training seeds: %1 — standard deviation "
                          "%2 points, range %3 points. The gains above are paired by seed; the range of a cell's gains "
                          "shows how much run-to-run variation is left after pairing, and a difference between "
                          "queue and random smaller than that range is not resolved.\n\n")
                      .arg(list)
                      .arg(std::sqrt(var) * 100.0, 0, 'f', 2)
                      .arg((*hi - *lo) * 100.0, 0, 'f', 2);
        } else {
            md += "\nOne training seed per cell: differences of a few tenths of a point are within seed-to-seed "
                  "variation.\n\n";
        }
    }

    if (plots.histogram) {
        md += "## Score distribution\n\n";
        md += "![Default-ranking scores of clean and flipped examples](score-histogram.png)\n\n";
    }

    md += "## Run\n\n";
    md += "```sh\n" + q(c.command.empty() ? std::string("traclens-cli evaluate ...") : c.command) + "\n```\n\n";
    md += "| stage | time |\n|---|---:|\n";
    for (const auto &[stage, s] : r.seconds)
        md += "| " + q(stage) + " | " + duration(s) + " |\n";
    md += "| **total** | **" + duration(r.totalSeconds) + "** |\n\n";
    if (r.machine.logicalCores > 0 || !r.machine.cpuModel.empty())
        md += "Measured on " + q(describeMachine(r.machine))
              + ". A load average near or above the number of cores means other work shared the machine. A "
                "stage done by an earlier run keeps the time measured then; factors and cross-validation "
                "interrupted and resumed count every sitting (each up to its last progress report); "
                "training interrupted starts again and counts its last sitting.\n";
    else
        md += "The machine this was measured on is not recorded.\n";
    if (!plots.any)
        md += "\n*Plots were not drawn: the program that wrote this report had no QGuiApplication.*\n";
    return md;
}

Status writeFile(const QString &path, const QByteArray &data)
{
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(data) != data.size() || !f.commit())
        return Status::ioError(path.toStdString() + ": cannot write: " + f.errorString().toStdString());
    return Status::ok();
}

Status writeImage(const QString &path, const QImage &image)
{
    if (image.isNull() || !image.save(path, "PNG"))
        return Status::ioError(path.toStdString() + ": cannot write the PNG");
    return Status::ok();
}

} // namespace

LineChart recallChart(const EvaluationReport &r)
{
    LineChart chart;
    chart.title = QString("Flipped labels found vs. fraction reviewed (%1, %2)")
                      .arg(datasetTitle(r.config.dataset), noiseLabel(r));
    chart.xLabel = "fraction of the training set reviewed (top of the ranking)";
    chart.yLabel = "flipped labels found (recall)";
    chart.xMax = 0.5;
    chart.markers = r.config.budgets;
    int color = 0;
    for (const auto &e : r.rankings) {
        ChartSeries s;
        s.name = q(e.name) + (e.name == r.defaultSpec.toString() ? QString(" — default") : QString());
        for (const auto &[x, y] : e.curve)
            if (x <= chart.xMax + 1e-9)
                s.points.emplace_back(x, y);
        if (e.spec.kind == RankingKind::Random) {
            s.color = QColor(127, 127, 127);
        } else {
            // Past the palette the colours come round again, dashed, so no two lines look
            // the same.
            s.style = color >= kChartColors ? Qt::DashLine : Qt::SolidLine;
            s.color = chartColor(color++);
        }
        chart.series.push_back(s);
    }
    if (r.trainCount > 0 && !r.flips.empty()) {
        const double noise = double(r.flips.size()) / double(r.trainCount);
        chart.series.push_back({"best possible", {{0, 0}, {noise, 1}, {chart.xMax, 1}}, {}, Qt::black, Qt::DashLine});
    }
    return chart;
}

LineChart checkpointPolicyChart(const EvaluationReport &r)
{
    LineChart chart;
    chart.title = "Self-influence under each checkpoint policy";
    chart.xLabel = "fraction of the training set reviewed (top of the ranking)";
    chart.yLabel = "flipped labels found (recall)";
    chart.xMax = 0.5;
    chart.markers = r.config.budgets;
    int color = 0;
    for (const auto &e : r.policies) {
        if (e.curve.empty())
            continue;
        ChartSeries s;
        s.name = q(e.name);
        for (const auto &[x, y] : e.curve)
            if (x <= chart.xMax + 1e-9)
                s.points.emplace_back(x, y);
        s.color = chartColor(color++);
        s.style = e.offered ? Qt::SolidLine : Qt::DotLine;
        chart.series.push_back(s);
    }
    return chart;
}

HistogramChart scoreHistogram(const EvaluationReport &r)
{
    HistogramChart h;
    h.title = "Default-ranking score: clean vs. flipped labels";
    h.xLabel = q(r.defaultSpec.toString()) + (r.histogramLog ? " (log scale)" : "");
    h.yLabel = "training examples";
    h.logX = r.histogramLog;
    h.edges = r.histogramEdges;
    h.series.push_back({QString("clean (%1)").arg(r.trainCount - qint64(r.flips.size())), {}, r.histogramClean,
                        chartColor(0), Qt::SolidLine});
    h.series.push_back(
        {QString("flipped (%1)").arg(r.flips.size()), {}, r.histogramFlipped, chartColor(5), Qt::SolidLine});
    return h;
}

double CleaningRow::meanGain() const
{
    if (gains.empty())
        return std::numeric_limits<double>::quiet_NaN();
    double m = 0.0;
    for (double g : gains)
        m += g / double(gains.size());
    return m;
}

std::vector<CleaningRow> cleaningRows(const EvaluationReport &r)
{
    // Test accuracy of the noisy-label model of each seed: the baseline of that seed's runs.
    std::map<uint64_t, double> noisyAccuracy{{r.config.train.seed, r.testAccuracyBefore}};
    for (const auto &run : r.seedRuns)
        noisyAccuracy.emplace(run.seed, run.testAccuracy);
    auto rowOf = [&](double budget, const std::string &strategy, const std::string &title) {
        CleaningRow row;
        row.budget = budget;
        row.strategy = strategy;
        row.title = title;
        for (const auto &run : r.cleaning) {
            if (run.strategy != strategy || std::abs(run.budget - budget) > 1e-9)
                continue;
            row.reviewed = run.reviewed;
            const auto base = noisyAccuracy.find(run.seed);
            if (base == noisyAccuracy.end() || run.testAccuracy < 0 || base->second < 0)
                continue;
            row.gains.push_back(run.testAccuracy - base->second);
            row.fixedMin = row.fixedMin < 0 ? run.fixed : std::min(row.fixedMin, run.fixed);
            row.fixedMax = std::max(row.fixedMax, run.fixed);
        }
        return row;
    };
    std::vector<CleaningRow> rows;
    for (double b : r.config.cleaningBudgets) {
        const CleaningRow random = rowOf(b, "random", "random");
        const double randomGain = random.meanGain();
        std::vector<CleaningRow> cell{rowOf(b, "queue", "queue (" + r.defaultSpec.toString() + ")")};
        for (const RankingSpec &spec : r.config.cleaningRankings)
            cell.push_back(rowOf(b, spec.toString(), spec.toString()));
        cell.push_back(random);
        for (CleaningRow &row : cell) {
            if (row.gains.empty() && row.strategy != "queue" && row.strategy != "random")
                continue;
            // Gains are shown to a hundredth of a point: a random review whose mean rounds to
            // +0.00 (gains of ±1 test image that cancel leave 1e-16) has no ratio to quote.
            row.ratioToRandom = randomGain >= kMinRandomGainForRatio && !row.gains.empty()
                                    ? row.meanGain() / randomGain
                                    : std::numeric_limits<double>::quiet_NaN();
            rows.push_back(row);
        }
    }
    return rows;
}

Status writeEvaluationReport(const EvaluationReport &report, const std::string &outDir)
{
    std::error_code ec;
    fs::create_directories(outDir, ec);
    if (!fs::is_directory(outDir))
        return Status::ioError(outDir + ": cannot create the report directory");
    const QDir dir(q(outDir));
    TL_RETURN_IF_ERROR(writeFile(dir.filePath("report.json"), QJsonDocument(toJson(report)).toJson()));
    Plots plots;
    plots.any = canRenderCharts();
    if (plots.any) {
        const LineChart recall = recallChart(report), policies = checkpointPolicyChart(report);
        const HistogramChart histogram = scoreHistogram(report);
        plots.recall = !recall.series.empty() && !recall.series.front().points.empty();
        plots.policies = !policies.series.empty();
        plots.histogram = histogram.edges.size() >= 2;
        if (plots.recall)
            TL_RETURN_IF_ERROR(writeImage(dir.filePath("recall-rankings.png"), renderLineChart(recall)));
        if (plots.policies)
            TL_RETURN_IF_ERROR(writeImage(dir.filePath("recall-checkpoints.png"), renderLineChart(policies)));
        if (plots.histogram)
            TL_RETURN_IF_ERROR(writeImage(dir.filePath("score-histogram.png"), renderHistogram(histogram)));
        std::vector<SheetTile> tiles;
        for (const auto &u : report.unflippedAtTop)
            if (!u.image.isNull())
                tiles.push_back({u.image, QString("#%1 %2").arg(u.rank).arg(className(report, u.label)),
                                 "→ " + (u.modelClass >= 0 ? className(report, u.modelClass) : QString("?"))});
        plots.unflipped = !tiles.empty();
        if (plots.unflipped)
            TL_RETURN_IF_ERROR(writeImage(dir.filePath("unflipped-at-top.png"), renderImageSheet(tiles)));
    }
    // Best effort: the evaluation's project remembers its report, so the app's report view
    // opened on that project shows it, and says how its model was trained. A missing or
    // busy project changes nothing here.
    const std::string project = (fs::path(report.config.workDirectory) / "evaluation.traclens").string();
    std::optional<TrainingRecord> training;
    if (!report.config.workDirectory.empty() && fs::exists(project)) {
        auto db = ProjectDb::open(project, ProjectDb::OpenMode::ReadWrite);
        if (db.ok()) {
            (*db)->setMeta("evaluation_report", QFileInfo(dir.filePath("report.json")).absoluteFilePath().toStdString());
            if (auto record = storedTrainingRecord(**db, report.modelId); record.ok())
                training = *record;
        }
    }
    TL_RETURN_IF_ERROR(writeFile(dir.filePath("report.md"), markdown(report, plots, training).toUtf8()));
    return Status::ok();
}

Result<EvaluationReport> readEvaluationReport(const std::string &jsonFile)
{
    Result<std::string> bytes = readFileCapped(jsonFile, kMaxJsonFileBytes, "an evaluation report");
    if (!bytes.ok())
        return bytes.status();
    QJsonParseError err;
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(*bytes), &err);
    if (doc.isNull())
        return Status::invalid(jsonFile + ": not JSON: " + err.errorString().toStdString());
    const QJsonObject o = doc.object();
    if (o.value("format").toString() != kReportFormat)
        return Status::unsupported(jsonFile + ": not a TracLens evaluation report (format '"
                                   + o.value("format").toString().toStdString() + "')");
    EvaluationReport r;
    EvaluationConfig &c = r.config;
    c.command = o.value("command").toString().toStdString();
    c.dataset = o.value("dataset").toString().toStdString();
    c.workDirectory = o.value("work_directory").toString().toStdString();
    for (const auto &v : o.value("classes").toArray())
        r.classes.push_back(v.toString().toStdString());
    r.trainCount = o.value("train").toInteger();
    r.testCount = o.value("test").toInteger();
    const QJsonObject subset = o.value("subset").toObject();
    c.trainLimit = subset.value("train_limit").toInteger();
    c.testLimit = subset.value("test_limit").toInteger();
    const QJsonObject noise = o.value("noise").toObject();
    c.noiseRate = noise.value("rate").toDouble();
    c.noiseSeed = noise.value("seed").toString().toULongLong();
    c.noiseType = parseNoiseType(noise.value("type").toString().toStdString()).value_or(NoiseType::Uniform);
    c.confusionFile = noise.value("confusion_file").toString().toStdString();
    r.confusionSource = noise.value("confusion_source").toString().toStdString();
    for (const auto &row : noise.value("confusion").toArray())
        r.confusion.push_back(doublesFrom(row));
    const QJsonObject truth = o.value("truth").toObject();
    c.truthFile = truth.value("file").toString().toStdString();
    r.truthLabelled = truth.value("labelled").toBool();
    r.truthNotInSubset = truth.value("not_in_subset").toInteger();
    const QJsonObject machine = o.value("machine").toObject();
    r.machine.cpuModel = machine.value("cpu").toString().toStdString();
    r.machine.logicalCores = machine.value("logical_cores").toInt();
    r.machine.torchThreads = machine.value("torch_threads").toInt();
    r.machine.loadStart = loadFrom(machine.value("load_start"));
    r.machine.loadEnd = loadFrom(machine.value("load_end"));
    for (const auto &v : noise.value("flips").toArray()) {
        const QJsonObject f = v.toObject();
        r.flips.push_back({f.value("id").toInteger(), f.value("true").toInt(), f.value("noisy").toInt()});
        r.flipSources.push_back(f.value("source").toString().toStdString());
    }
    const QJsonObject training = o.value("training").toObject();
    r.modelId = training.value("model").toInteger();
    TrainConfig &t = c.train;
    t = trainConfigFromJson(training, t);
    t.adaptive.enabled = training.value("adaptive").toBool(false);
    for (const auto &v : training.value("curve").toArray()) {
        const QJsonObject e = v.toObject();
        r.epochs.push_back({e.value("epoch").toInt(), e.value("learning_rate").toDouble(),
                            e.value("train_loss").toDouble(), e.value("train_accuracy").toDouble(),
                            e.value("test_loss").toDouble(-1), e.value("test_accuracy").toDouble(-1)});
    }
    for (const auto &v : o.value("checkpoints").toArray()) {
        const QJsonObject s = v.toObject();
        CheckpointStudyRow row;
        row.checkpoint = s.value("checkpoint").toInt();
        row.learningRate = s.value("learning_rate").toDouble();
        row.trainAccuracy = s.value("train_accuracy").toDouble(-1);
        row.testAccuracy = s.value("test_accuracy").toDouble(-1);
        row.meanSelfTermFlipped = s.value("mean_self_term_flipped").toDouble();
        row.meanSelfTermClean = s.value("mean_self_term_clean").toDouble();
        row.shareOfSelfInfluence = s.value("share_of_self_influence").toDouble();
        r.checkpoints.push_back(row);
        r.learningRates.push_back(row.learningRate);
    }
    c.budgets = doublesFrom(o.value("budgets"));
    r.defaultSpec = specFrom(o.value("default_ranking").toObject());
    r.ensembleFormula = o.value("ensemble_formula").toInt(0); // absent before the field existed
    {
        const QJsonObject noise = o.value("estimated_wrong_labels").toObject(); // absent in older reports
        r.labelNoise.pruned = noise.value("pruned").toInteger(0);
        r.labelNoise.covered = noise.value("covered").toInteger(0);
    }
    r.baselineName = o.value("baseline_ranking").toString().toStdString();
    c.folds = o.value("folds").toInt(0);
    r.mirroredViews = o.value("cv_views").toString() == "mirrored"; // absent before the option: plain
    r.rankings = rankingsFrom(o.value("rankings"));
    r.policies = rankingsFrom(o.value("checkpoint_policies"));
    r.bestPolicy = o.value("best_policy").toString().toStdString();
    const QJsonObject hist = o.value("histogram").toObject();
    r.histogramLog = hist.value("log").toBool(true);
    r.histogramEdges = doublesFrom(hist.value("edges"));
    r.histogramClean = doublesFrom(hist.value("clean"));
    r.histogramFlipped = doublesFrom(hist.value("flipped"));
    for (const auto &v : o.value("unflipped_at_top").toArray()) { // absent in older reports
        const QJsonObject u = v.toObject();
        UnflippedSuspect s;
        s.id = u.value("id").toInteger();
        s.source = u.value("source").toString().toStdString();
        s.rank = u.value("rank").toInteger();
        s.label = u.value("label").toInt();
        s.modelClass = u.value("model_class").toInt(-1);
        s.labelProbability = u.value("label_probability").toDouble(-1);
        s.outOfSample = u.value("out_of_sample").toBool();
        r.unflippedAtTop.push_back(std::move(s));
    }
    const QJsonObject cleaning = o.value("cleaning").toObject();
    c.cleaningBudgets = doublesFrom(cleaning.value("budgets"));
    c.cleaningSeeds = cleaning.value("seeds").toInt(1);
    for (const auto &v : cleaning.value("rankings").toArray()) {
        const auto spec = rankingSpecFromJson(v.toObject());
        if (!spec)
            return Status::corruption(jsonFile + ": cleaning ranking '"
                                      + v.toObject().value("kind").toString().toStdString()
                                      + "' is not one this build knows");
        c.cleaningRankings.push_back(*spec);
    }
    r.cleaningSkipped = cleaning.value("skipped").toString().toStdString();
    r.testAccuracyBefore = cleaning.value("test_accuracy_before").toDouble(-1);
    for (const char *key : {"runs", "seed_runs"}) {
        for (const auto &v : cleaning.value(key).toArray()) {
            const QJsonObject run = v.toObject();
            CleaningRun c;
            c.strategy = run.value("strategy").toString().toStdString();
            c.seed = run.value("seed").toString().toULongLong();
            c.budget = run.value("budget").toDouble();
            c.reviewed = run.value("reviewed").toInteger();
            c.fixed = run.value("fixed").toInteger();
            c.testAccuracy = run.value("test_accuracy").toDouble(-1);
            c.seconds = run.value("seconds").toDouble();
            (std::string(key) == "runs" ? r.cleaning : r.seedRuns).push_back(c);
        }
    }
    for (const auto &v : o.value("seconds").toArray())
        r.seconds.emplace_back(v.toObject().value("stage").toString().toStdString(),
                               v.toObject().value("seconds").toDouble());
    r.totalSeconds = o.value("total_seconds").toDouble();
    return r;
}

} // namespace traclens
