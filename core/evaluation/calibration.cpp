#include "evaluation/calibration.h"
#include "util/jsonvalues.h"

#include "model/crossvalidation.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>
#include <cmath>

namespace traclens {

namespace {

QString q(const std::string &s)
{
    return QString::fromStdString(s);
}


std::optional<double> valueAt(const std::vector<double> &budgets, const std::vector<double> &values, double budget)
{
    for (size_t i = 0; i < budgets.size() && i < values.size(); ++i)
        if (std::abs(budgets[i] - budget) <= 1e-9)
            return values[i];
    return std::nullopt;
}

std::optional<CalibrationEvidence> parseEvidence(const std::string &text)
{
    QJsonParseError err;
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(text), &err);
    if (doc.isNull() || !doc.isObject())
        return std::nullopt;
    const QJsonObject o = doc.object();
    auto spec = rankingSpecFromJson(o.value("spec").toObject());
    if (!spec)
        return std::nullopt;
    CalibrationEvidence e;
    e.spec = *spec;
    e.name = o.value("name").toString().toStdString();
    e.budgets = doublesFrom(o.value("budgets"));
    e.recall = doublesFrom(o.value("recall"));
    e.auc = o.value("auc").toDouble(0.5);
    const QJsonObject baseline = o.value("baseline").toObject();
    e.baselineName = baseline.value("name").toString().toStdString();
    e.baselineRecall = doublesFrom(baseline.value("recall"));
    const QJsonObject noise = o.value("noise").toObject();
    e.noiseType = noise.value("type").toString().toStdString();
    e.noiseRate = noise.value("rate").toDouble();
    e.reportPath = o.value("report").toString().toStdString();
    e.date = o.value("date").toString().toStdString();
    const QJsonObject cleaning = o.value("cleaning").toObject();
    if (!cleaning.isEmpty()) {
        CleaningEvidence c;
        c.budget = cleaning.value("budget").toDouble();
        c.seeds = cleaning.value("seeds").toInt();
        c.gain = cleaning.value("gain").toDouble();
        c.runnerUp = cleaning.value("runner_up").toString().toStdString();
        c.runnerUpGain = cleaning.value("runner_up_gain").toDouble();
        if (cleaning.value("random_gain").isDouble())
            c.randomGain = cleaning.value("random_gain").toDouble();
        e.cleaning = c;
    }
    if (e.name.empty())
        e.name = e.spec.toString();
    return e;
}

} // namespace

std::optional<double> CalibrationEvidence::recallAt(double budget) const
{
    return valueAt(budgets, recall, budget);
}

std::optional<double> CalibrationEvidence::baselineRecallAt(double budget) const
{
    return valueAt(budgets, baselineRecall, budget);
}

QJsonObject rankingSpecToJson(const RankingSpec &s)
{
    return {{"kind", rankingKindName(s.kind)},
            {"selection", q(s.checkpoints.selectionName())},
            {"weighting", s.checkpoints.weightingName()},
            {"seed", QString::number(qulonglong(s.seed))},
            {"name", q(s.toString())}};
}

std::optional<RankingSpec> rankingSpecFromJson(const QJsonObject &o)
{
    const auto kind = parseRankingKind(o.value("kind").toString().toStdString());
    if (!kind)
        return std::nullopt;
    const auto policy = CheckpointPolicy::parse(o.value("selection").toString().toStdString(),
                                                o.value("weighting").toString().toStdString());
    if (!policy)
        return std::nullopt;
    RankingSpec s;
    s.kind = *kind;
    s.checkpoints = *policy;
    bool ok = false;
    const qulonglong seed = o.value("seed").toString().toULongLong(&ok);
    s.seed = ok ? seed : 1;
    return s;
}

std::vector<RankingSpec> calibrationCleaningRankings()
{
    return {defaultRankingFor(RankingKind::CvBoundary), defaultRankingFor(RankingKind::Ensemble)};
}

namespace {

// The cleaning loop's choice (bestCalibrationRanking()): the offered ranking whose review
// gained the most, with its evidence; nullopt when fewer than two reviews qualify.
std::optional<std::pair<const RankingEvaluation *, CleaningEvidence>> cleaningChoice(const EvaluationReport &report)
{
    const std::vector<CleaningRow> rows = cleaningRows(report);
    if (rows.empty())
        return std::nullopt;
    double budget = rows.front().budget;
    for (const CleaningRow &row : rows)
        if (std::abs(row.budget - 0.10) <= 1e-9)
            budget = row.budget;
    struct Candidate {
        const RankingEvaluation *ranking;
        double gain;
        int seeds;
    };
    std::vector<Candidate> candidates; // the queue first, as cleaningRows() gives it
    std::optional<double> randomGain;
    for (const CleaningRow &row : rows) {
        if (std::abs(row.budget - budget) > 1e-9 || row.gains.empty())
            continue;
        if (row.strategy == "random") {
            randomGain = row.meanGain();
            continue;
        }
        if (int(row.gains.size()) < kCalibrationCleaningSeeds)
            continue;
        // The queue's row is named by the evaluation's default; the others by their spec,
        // which is also the name of their row in report.rankings.
        const std::string name = row.strategy == "queue" ? report.defaultSpec.toString() : row.strategy;
        for (const RankingEvaluation &r : report.rankings)
            if (r.offered && r.name == name && r.spec.kind != RankingKind::Random) {
                candidates.push_back({&r, row.meanGain(), int(row.gains.size())});
                break;
            }
    }
    if (candidates.size() < 2)
        return std::nullopt;
    // Stable: on equal gains the earlier candidate, the queue, stays first.
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Candidate &a, const Candidate &b) { return a.gain > b.gain + 1e-12; });
    CleaningEvidence e;
    e.budget = budget;
    e.seeds = std::min(candidates[0].seeds, candidates[1].seeds);
    e.gain = candidates[0].gain;
    e.runnerUp = candidates[1].ranking->name;
    e.runnerUpGain = candidates[1].gain;
    e.randomGain = randomGain;
    return std::make_pair(candidates[0].ranking, e);
}

} // namespace

const RankingEvaluation *bestCalibrationRanking(const EvaluationReport &report, std::optional<CleaningEvidence> *cleaning)
{
    if (cleaning)
        cleaning->reset();
    if (auto choice = cleaningChoice(report)) {
        if (cleaning)
            *cleaning = choice->second;
        return choice->first;
    }
    // The same comparison as the report's best checkpoint policy (mean recall, then AUC),
    // with a tolerance so that rounding in a re-read report.json cannot swap equal rows.
    const RankingEvaluation *best = nullptr;
    for (const RankingEvaluation &r : report.rankings) {
        if (!r.offered || r.spec.kind == RankingKind::Random || r.recall.empty())
            continue;
        if (!best || r.meanRecall() > best->meanRecall() + 1e-12
            || (std::abs(r.meanRecall() - best->meanRecall()) <= 1e-12 && r.auc > best->auc))
            best = &r;
    }
    return best;
}

Status recordCalibration(ProjectDb &db, const EvaluationReport &report, const std::string &reportJsonPath)
{
    std::optional<CleaningEvidence> cleaning;
    const RankingEvaluation *best = bestCalibrationRanking(report, &cleaning);
    if (!best)
        return Status::invalid(reportJsonPath + ": the report has no measured ranking to take as the default");
    QJsonObject baseline;
    if (!report.baselineName.empty()) {
        baseline.insert("name", q(report.baselineName));
        for (const RankingEvaluation &r : report.rankings)
            if (r.name == report.baselineName) {
                baseline.insert("recall", doublesJson(r.recall));
                break;
            }
    }
    QJsonObject o{
        {"spec", rankingSpecToJson(best->spec)},
        {"name", q(best->name)},
        {"budgets", doublesJson(report.config.budgets)},
        {"recall", doublesJson(best->recall)},
        {"auc", best->auc},
        {"baseline", baseline},
        {"noise", QJsonObject{{"type", noiseTypeName(report.config.noiseType)}, {"rate", report.config.noiseRate}}},
        {"report", q(reportJsonPath)},
        {"date", QDateTime::currentDateTimeUtc().toString(Qt::ISODate)},
    };
    if (cleaning) {
        QJsonObject c{{"budget", cleaning->budget},
                      {"seeds", cleaning->seeds},
                      {"gain", cleaning->gain},
                      {"runner_up", q(cleaning->runnerUp)},
                      {"runner_up_gain", cleaning->runnerUpGain}};
        if (cleaning->randomGain)
            c.insert("random_gain", *cleaning->randomGain);
        o.insert("cleaning", c);
    }
    return db.setMeta(kCalibrationMetaKey, QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString());
}

Result<std::optional<CalibrationEvidence>> storedCalibration(ProjectDb &db)
{
    auto stored = db.meta(kCalibrationMetaKey);
    if (!stored.ok())
        return stored.status();
    if (!stored->has_value())
        return std::optional<CalibrationEvidence>();
    auto parsed = parseEvidence(**stored);
    if (!parsed)
        return Status::corruption(db.path() + ": the stored default ranking (meta '" + kCalibrationMetaKey
                                  + "') does not parse; calibrate again");
    return std::optional<CalibrationEvidence>(std::move(*parsed));
}

bool hasFinishedCrossValidation(ProjectDb &db)
{
    // The same test as loadOutOfSampleTerms() up to reading the terms, which for a large
    // project take a while and are not needed to choose a default.
    auto run = db.crossValidationRun();
    if (!run.ok() || !run->has_value())
        return false;
    auto folds = db.crossValidationFolds((*run)->id);
    return folds.ok() && !folds->empty() && int(folds->size()) >= (*run)->folds;
}

RankingSpec projectDefaultRanking(ProjectDb &db)
{
    const bool crossValidated = hasFinishedCrossValidation(db);
    auto stored = storedCalibration(db);
    if (stored.ok() && stored->has_value()) {
        const RankingSpec &spec = (*stored)->spec;
        // A calibration measured with cross-validation stays valid only while the project
        // still has a finished run (a re-import or relabel-and-rerun may have dropped it).
        const bool needsCv = needsCrossValidation(spec.kind) || spec.kind == RankingKind::Ensemble;
        if (!needsCv || crossValidated)
            return spec;
    }
    if (!crossValidated)
        return evaluationDefaultRanking(std::nullopt);
    auto noise = storedLabelNoiseEstimate(db);
    // Unreadable estimate: the ensemble, the default that needs no estimate beyond the run.
    return evaluationDefaultRanking(noise.ok() ? std::optional<double>(noise->share()) : std::optional<double>(0.0));
}

} // namespace traclens
