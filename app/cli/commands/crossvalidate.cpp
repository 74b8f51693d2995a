// traclens-cli crossvalidate: K-fold out-of-sample scores of the built-in CNN, then the examples ranked by them.

#include "commands.h"
#include "common.h"

#include "influence/ranking.h"
#include "model/crossvalidation.h"
#include "model/modelrunner.h"
#include "store/projectdb.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QString>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

namespace traclens::cli {

// The stored out-of-sample scores of the training examples, highest first, with their
// current labels: rows for people on stdout, or the JSON array returned with --json.
Result<QJsonArray> printOutOfSampleRanking(Context &c, ProjectDb &db, OutOfSampleScore kind, int top,
                                           LabelNoiseEstimate *noise)
{
    auto terms = loadOutOfSampleTerms(db);
    if (!terms.ok())
        return terms.status();
    auto classes = db.classes();
    if (!classes.ok())
        return classes.status();
    auto train = db.examples(Split::Train);
    if (!train.ok())
        return train.status();
    std::vector<int64_t> ids;
    std::vector<int> labels;
    std::unordered_map<int64_t, const ExampleRow *> byId;
    for (const auto &e : *train) {
        ids.push_back(e.id);
        labels.push_back(e.currentLabel);
        byId.emplace(e.id, &e);
    }
    const std::vector<double> scores = outOfSampleScores(*terms, ids, labels, kind);
    *noise = estimateLabelNoise(*terms, ids, labels);
    // Examples the run does not cover (added since) have no score and are left out.
    std::vector<int64_t> scoredIds;
    std::vector<double> scored;
    for (size_t i = 0; i < ids.size(); ++i)
        if (!std::isnan(scores[i])) {
            scoredIds.push_back(ids[i]);
            scored.push_back(scores[i]);
        }
    const auto ranked = sortRanking(scoredIds, scored);
    const size_t shown = top > 0 ? std::min(ranked.size(), size_t(top)) : ranked.size();
    const int k = terms->numClasses;
    const int cps = terms->numCheckpoints();
    QJsonArray rows;
    if (!c.json) {
        std::printf("confident learning estimates %lld of %lld labels (%.1f%%) are wrong (its pruned set: "
                    "cv-noise-rate >= 1)\n",
                    (long long)noise->pruned, (long long)noise->covered, 100.0 * noise->share());
        // How far to trust that: a weak fold model's mistakes count as wrong labels too.
        std::printf("the fold models' class is the label for %.1f%% of the examples they did not train on\n",
                    100.0 * noise->agreement());
        std::printf("%s, %zu training examples, out-of-fold\n", outOfSampleScoreName(kind), ranked.size());
    }
    for (size_t r = 0; r < shown; ++r) {
        const ExampleRow &e = *byId.at(ranked[r].exampleId);
        const size_t row = size_t(std::lower_bound(terms->ids.begin(), terms->ids.end(), e.id) - terms->ids.begin());
        const float *last = terms->probs.data() + (row * size_t(cps) + size_t(cps - 1)) * size_t(k);
        const int predicted = int(std::max_element(last, last + k) - last);
        const std::string &label = className(*classes, e.currentLabel);
        const std::string &pred = className(*classes, predicted);
        if (c.json)
            rows.append(QJsonObject{{"rank", int(r + 1)}, {"id", qint64(e.id)}, {"path", q(e.source)},
                                    {"label", q(label)}, {"predicted", q(pred)}, {"fold", terms->fold[row]},
                                    {"score", ranked[r].score}});
        else
            std::printf("%5zu  %8lld  %12.6g  %-14s predicted %-14s %s\n", r + 1, (long long)e.id, ranked[r].score,
                        label.c_str(), pred.c_str(), e.source.c_str());
    }
    return rows;
}

int cmdCrossValidate(Context &c)
{
    if (c.positional.size() != 1)
        return usage("crossvalidate: expected <project>");
    OutOfSampleScore kind = OutOfSampleScore::SelfConfidence;
    if (!parseOutOfSampleScore(c.parser.value("score").toStdString(), &kind))
        return usage("crossvalidate: --score takes self-confidence, margin, self-influence, noise-rate or boundary");
    bool okFolds = false, okSeed = false, okTop = false, okThreads = false;
    CrossValidationConfig cfg;
    cfg.folds = c.parser.value("folds").toInt(&okFolds);
    cfg.seed = c.parser.value("seed").toULongLong(&okSeed);
    const int top = c.parser.value("top").toInt(&okTop);
    const int threads = c.parser.value("threads").toInt(&okThreads);
    if (!okFolds || cfg.folds < 2 || !okSeed || !okTop || top < 0 || !okThreads || threads < 0)
        return usage("crossvalidate: --folds must be 2 or more, --seed, --top and --threads 0 or more");
    auto db = openProject(c.positional[0]);
    if (!db.ok())
        return fail(db.status());
    cfg.train = defaultCrossValidationTrainConfig(**db);
    if (c.parser.isSet("epochs")) {
        bool ok = false;
        cfg.train.epochs = c.parser.value("epochs").toInt(&ok);
        if (!ok || cfg.train.epochs < 1)
            return usage("crossvalidate: --epochs must be positive");
        cfg.train.adaptive.enabled = false;
    }
    std::optional<bool> mirrored;
    if (!parseCvViews(c.parser.value("cv-views"), &mirrored))
        return usage("crossvalidate: --cv-views takes auto, plain or mirrored");
    cfg.mirroredViews = mirrored.value_or(mirroredViewsByDefault(cfg.train));
    ModelRunner::setThreads(threads);
    const auto t0 = std::chrono::steady_clock::now();
    if (Status s = runCrossValidation(**db, cfg, progressPrinter(c.quiet), &g_cancel); !s)
        return fail(s);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // An adaptive run's epoch count is the one fold 1 settled on.
    const std::optional<TrainingRecord> chosen = cfg.train.adaptive.enabled ? adaptiveFoldRecord(**db) : std::nullopt;
    const int epochs = chosen ? chosen->epochs : cfg.train.epochs;
    if (!c.json) {
        std::printf("cross-validation: %d folds, %d epochs, fold seed %llu, %s views, %.1f s\n", cfg.folds, epochs,
                    (unsigned long long)cfg.seed, cfg.mirroredViews ? "mirrored" : "plain", seconds);
        if (chosen)
            std::printf("fold 1 chose the epoch count: %s\n", chosen->summary().c_str());
        else if (cfg.train.adaptive.enabled)
            std::printf("fold 1 trains on too few examples to hold out a validation part (%lld or more): "
                        "%d fixed epochs; --epochs sets another count\n",
                        (long long)kMinAdaptiveTrainExamples, cfg.train.epochs);
    }
    LabelNoiseEstimate noise;
    auto rows = printOutOfSampleRanking(c, **db, kind, top, &noise);
    if (!rows.ok())
        return fail(rows.status());
    if (c.json)
        printJson({{"folds", cfg.folds},
                   {"epochs", epochs},
                   {"epochs_chosen_by_fold_1", chosen.has_value()},
                   {"seed", qint64(cfg.seed)},
                   {"views", cfg.mirroredViews ? "mirrored" : "plain"},
                   {"seconds", seconds},
                   {"score", outOfSampleScoreName(kind)},
                   {"estimated_wrong_labels", qint64(noise.pruned)},
                   {"estimated_wrong_share", noise.share()},
                   {"out_of_fold_agreement", noise.agreement()},
                   {"examples", *rows}});
    return ExitOk;
}

void crossValidateOptions(CommandOptions &p)
{
    p.addOption({"folds", "Folds K (2 or more), stratified by label.", "n", QString::number(CrossValidationConfig{}.folds)});
    p.addOption({"epochs",
                 "Epochs of each fold model. Default: the active model's epoch count when it was trained in "
                 "the project, else the count fold 1 settles on when trained until held-out accuracy stops "
                 "improving.",
                 "n"});
    p.addOption({"seed", "Seed of the fold assignment.", "n", "1"});
    p.addOption({"score", "Ranking printed afterwards: self-confidence (1 - p[label]), margin, "
                          "self-influence (TracIn on the out-of-fold checkpoints), noise-rate (confident "
                          "learning's prune-by-noise-rate as an order) or boundary (its pruned set, least "
                          "certain first).",
                 "kind", "self-confidence"});
    p.addOption(cvViewsOption());
    p.addOption({"top", "How many rows to print (0 = all).", "n", "20"});
    p.addOption(threadsOption());
}

} // namespace traclens::cli
