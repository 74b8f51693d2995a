// traclens-cli rank: the review-queue ranking of the training examples.

#include "commands.h"
#include "common.h"
#include "trainingoptions.h"

#include "evaluation/calibration.h"
#include "influence/ranking.h"
#include "model/crossvalidation.h"
#include "store/projectdb.h"

#include <QCommandLineParser>
#include <QJsonArray>
#include <QJsonObject>
#include <QString>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <unordered_map>

namespace traclens::cli {

// "self-influence, loss, …, ensemble" (every kind the rank command takes).
std::string rankingKindList()
{
    std::string out;
    const auto kinds = allRankingKinds();
    for (size_t i = 0; i < kinds.size(); ++i)
        out += std::string(i == 0 ? "" : i + 1 == kinds.size() ? " or " : ", ") + rankingKindName(kinds[i]);
    return out;
}

// `fallback`: the spec without --ranking (the project's default, projectDefaultRanking()).
Result<RankingSpec> rankingFromOptions(const QCommandLineParser &p, const RankingSpec &fallback)
{
    RankingSpec spec = fallback;
    if (p.isSet("ranking")) {
        auto kind = parseRankingKind(p.value("ranking").toStdString());
        if (!kind)
            return Status::invalid("--ranking takes " + rankingKindList());
        spec = defaultRankingFor(*kind);
    }
    if (p.isSet("checkpoints") || p.isSet("weighting")) {
        auto policy = CheckpointPolicy::parse(
            p.isSet("checkpoints") ? p.value("checkpoints").toStdString() : spec.checkpoints.selectionName(),
            p.isSet("weighting") ? p.value("weighting").toStdString() : spec.checkpoints.weightingName());
        if (!policy)
            return Status::invalid("--checkpoints takes all, skip-N, last-N or skip-N,last-N; --weighting lr or uniform");
        spec.checkpoints = *policy;
    }
    spec.seed = p.value("ranking-seed").toULongLong();
    return spec;
}

int cmdRank(Context &c)
{
    if (c.positional.size() != 1)
        return usage("rank: expected <project>");
    // Options are checked before the project is opened, so a typo is a usage error; the
    // project then supplies its own default (a calibration, or what its inputs allow).
    auto spec = rankingFromOptions(c.parser, defaultRanking());
    if (!spec.ok())
        return usage(q(spec.status().message()));
    auto opened = openProjectModel(c, ProjectDb::OpenMode::ReadOnly);
    if (!opened.ok())
        return fail(opened.status());
    std::unique_ptr<ProjectDb> &db = opened->db;
    if (!c.parser.isSet("ranking"))
        spec = rankingFromOptions(c.parser, projectDefaultRanking(*db));
    const int64_t model = opened->model;
    auto terms = loadCheckpointTerms(*db, model, {}, &g_cancel);
    if (!terms.ok())
        return fail(terms.status());
    const Status prepared = prepareRankingTerms(*db, &*terms, *spec, c.parser.value("threads").toInt(), {}, &g_cancel);
    if (!prepared.isOk())
        return fail(prepared);
    auto classes = db->classes();
    if (!classes.ok())
        return fail(classes.status());
    std::unordered_map<int64_t, size_t> rowOf;
    for (size_t i = 0; i < terms->ids.size(); ++i)
        rowOf.emplace(terms->ids[i], i);
    const auto ranked = sortRanking(terms->ids, rankingScores(*terms, *spec));
    const int top = c.parser.value("top").toInt();
    const size_t shown = top > 0 ? std::min(ranked.size(), size_t(top)) : ranked.size();
    QJsonArray rows;
    const QJsonArray warnings = modelWarningsJson(*db, model);
    if (!c.json) {
        printModelWarnings(warnings, stderr);
        std::printf("%s, model %lld, %zu training examples\n", spec->toString().c_str(), (long long)model,
                    ranked.size());
        // Why this order, when the noise estimate chose it (no --ranking, no calibration).
        auto calibrated = storedCalibration(*db);
        auto noise = storedLabelNoiseEstimate(*db);
        if (!c.parser.isSet("ranking") && !(calibrated.ok() && calibrated->has_value()) && noise.ok()
            && hasFinishedCrossValidation(*db)) {
            std::fprintf(stderr,
                         "default order: confident learning estimated %lld of %lld labels (%.1f%%) wrong when the "
                         "cross-validation ran; from %.0f%% on the default is cv-boundary, below it the ensemble\n",
                         (long long)noise->pruned, (long long)noise->covered, 100.0 * noise->share(),
                         100.0 * kBoundaryReviewNoiseShare);
            if (noise->agreement() >= 0.0)
                std::fprintf(stderr, "  (its fold models' class was the label for %.1f%% of the examples they did not "
                                     "train on; their mistakes count as wrong labels too)\n",
                             100.0 * noise->agreement());
        }
    }
    for (size_t r = 0; r < shown; ++r) {
        auto e = db->example(ranked[r].exampleId);
        if (!e.ok())
            return fail(e.status());
        const size_t i = rowOf.at(ranked[r].exampleId);
        const std::string &label = className(*classes, e->currentLabel);
        const std::string &predicted = className(*classes, terms->predictedLast[i]);
        if (c.json)
            rows.append(QJsonObject{{"rank", int(r + 1)}, {"id", qint64(e->id)}, {"path", q(e->source)},
                                    {"label", q(label)}, {"predicted", q(predicted)}, {"score", ranked[r].score}});
        else
            std::printf("%5zu  %8lld  %12.6g  %-14s predicted %-14s %s\n", r + 1, (long long)e->id, ranked[r].score,
                        label.c_str(), predicted.c_str(), e->source.c_str());
    }
    if (c.json)
        printJson({{"model", qint64(model)}, {"ranking", q(spec->toString())}, {"kind", rankingKindName(spec->kind)},
                   {"checkpoints", q(spec->checkpoints.selectionName())},
                   {"weighting", spec->checkpoints.weightingName()}, {"model_warnings", warnings},
                   {"examples", rows}});
    return ExitOk;
}

void rankOptions(CommandOptions &p)
{
    p.addOption(modelOption());
    p.addOption({"ranking",
                 QString("%1. The cv- kinds and ensemble need 'crossvalidate' first. Default: the "
                         "project's measured default (Report ▸ Calibrate), else with cross-validation "
                         "ensemble, or cv-boundary where it estimated %3% or more of the labels wrong, "
                         "else %2 (the review queue's order).")
                     .arg(QString::fromStdString(rankingKindList()), rankingKindName(defaultRanking().kind))
                     .arg(100.0 * kBoundaryReviewNoiseShare, 0, 'f', 0),
                 "kind"});
    p.addOption({"checkpoints",
                 "Checkpoints used: all, skip-N, last-N or skip-N,last-N. Default: the ranking's own (see "
                 "the first line of the output).",
                 "which"});
    p.addOption({"weighting", "Checkpoint weights: lr (as recorded) or uniform. Default: the ranking's own.",
                 "w"});
    p.addOption({"ranking-seed", "Seed of the random ranking.", "n", "1"});
    p.addOption({"top", "How many rows to print (0 = all).", "n", "20"});
    p.addOption({"threads", "Threads of the neighbour search (0 = all cores).", "n", "0"});
}

} // namespace traclens::cli
