#include "influence/ranking.h"

#include "model/crossvalidation.h"
#include "store/factors.h"
#include "influence/influenceindex.h"
#include "index/neighbourvote.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <thread>
#include <unordered_map>

namespace traclens {

namespace {

// SplitMix64: a fixed, portable mix, so a seeded random ranking is the same everywhere.
uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

// The examples (in id order) that both scores cover: neither is NaN.
std::vector<size_t> coveredByBoth(const std::vector<double> &a, const std::vector<double> &b)
{
    std::vector<size_t> covered;
    covered.reserve(a.size());
    for (size_t i = 0; i < a.size(); ++i)
        if (!std::isnan(a[i]) && !std::isnan(b[i]))
            covered.push_back(i);
    return covered;
}

// Each of `among`'s rank by `x` as a fraction of their count (0 for the lowest, towards 1
// for the highest), NaN for the other examples. Ties keep the order of `among` (id order),
// so the ranks are deterministic.
std::vector<double> rankFractions(const std::vector<double> &x, std::vector<size_t> among)
{
    std::stable_sort(among.begin(), among.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
    std::vector<double> rank(x.size(), std::numeric_limits<double>::quiet_NaN());
    for (size_t r = 0; r < among.size(); ++r)
        rank[among[r]] = double(r) / double(among.size());
    return rank;
}

// Scores of the rankings built on the neighbour lists and the cross-validation terms.
std::vector<double> extraScores(const CheckpointTerms &terms, RankingKind kind)
{
    const size_t n = terms.ids.size();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> scores(n, nan);
    if (needsNeighbours(kind) && (!terms.neighbours || terms.neighbours->rows() != int64_t(n)))
        return scores;
    if (needsCrossValidation(kind) && !terms.outOfSample)
        return scores;
    std::vector<double> agreement;
    if (needsNeighbours(kind))
        agreement = neighbourAgreement(*terms.neighbours, terms.labels);
    if (kind == RankingKind::Neighbours) {
        for (size_t i = 0; i < n; ++i)
            scores[i] = 1.0 - agreement[i];
        return scores;
    }
    if (kind == RankingKind::Ensemble) {
        // The fold model's probabilities averaged over the later half of its checkpoints: at
        // the top of the queue the last checkpoint's p[y] saturates near 0 for flips and for
        // the unflipped labels that reach it alike, and the mean puts the labels every late
        // checkpoint contradicts before those only the last one does (measured out of sample,
        // docs/evaluation/README.md, "The fold models' later checkpoints").
        const int window = lateCheckpointWindow(terms.outOfSample->numCheckpoints());
        // 1 − p[y] of the cross-validation, kept NaN for examples it did not cover.
        const std::vector<double> cv = outOfSampleScores(*terms.outOfSample, terms.ids, terms.labels,
                                                         OutOfSampleScore::SelfConfidence, window);
        // The out-of-sample margin enters as its rank among the covered examples (0 for the
        // most confident label, towards 1 for the most contradicted): on its own scale it
        // crowds the top with near-ties, as a rank it adds the runner-up class's evidence
        // that pair and confusion noise leave (docs/evaluation/README.md, "The ensemble").
        // Ties keep id order, so the order is deterministic.
        const std::vector<double> margin = outOfSampleScores(*terms.outOfSample, terms.ids, terms.labels,
                                                             OutOfSampleScore::Margin, window);
        const std::vector<double> marginRank = rankFractions(margin, coveredByBoth(margin, cv));
        std::vector<double> pooled(n, nan);
        for (size_t i = 0; i < n; ++i)
            pooled[i] = (cv[i] + (1.0 - agreement[i]) + (1.0 - double(terms.labelProbLast[i])) + marginRank[i]) / 4.0;
        // The pool's rank plus the rank of confident learning's own score (the fold model's
        // last checkpoint): the pool alone ranked a few flips more in the top 10 % than the
        // baseline on some seeds and a few fewer on others; the sum of the two ranks keeps
        // near the top what both put there (tested on seeds registered before they were run,
        // docs/evaluation/README.md, "The ensemble's order and the baseline's").
        const std::vector<double> base = outOfSampleScores(*terms.outOfSample, terms.ids, terms.labels,
                                                           OutOfSampleScore::SelfConfidence);
        const std::vector<size_t> both = coveredByBoth(pooled, base);
        const std::vector<double> pooledRank = rankFractions(pooled, both);
        const std::vector<double> baseRank = rankFractions(base, both);
        for (size_t i = 0; i < n; ++i)
            scores[i] = pooledRank[i] + baseRank[i];
        return scores;
    }
    const OutOfSampleScore which = kind == RankingKind::CvMargin         ? OutOfSampleScore::Margin
                                   : kind == RankingKind::CvSelfInfluence ? OutOfSampleScore::SelfInfluence
                                   : kind == RankingKind::CvNoiseRate     ? OutOfSampleScore::NoiseRate
                                   : kind == RankingKind::CvBoundary      ? OutOfSampleScore::Boundary
                                                                          : OutOfSampleScore::SelfConfidence;
    return outOfSampleScores(*terms.outOfSample, terms.ids, terms.labels, which);
}

} // namespace

const char *rankingKindName(RankingKind kind)
{
    switch (kind) {
    case RankingKind::SelfInfluence: return "self-influence";
    case RankingKind::Loss: return "loss";
    case RankingKind::Margin: return "margin";
    case RankingKind::Random: return "random";
    case RankingKind::Neighbours: return "neighbours";
    case RankingKind::CvSelfConfidence: return "cv-self-confidence";
    case RankingKind::CvMargin: return "cv-margin";
    case RankingKind::CvSelfInfluence: return "cv-self-influence";
    case RankingKind::Ensemble: return "ensemble";
    case RankingKind::CvNoiseRate: return "cv-noise-rate";
    case RankingKind::CvBoundary: return "cv-boundary";
    }
    return "?";
}

bool needsCrossValidation(RankingKind kind)
{
    return kind == RankingKind::CvSelfConfidence || kind == RankingKind::CvMargin
           || kind == RankingKind::CvSelfInfluence || kind == RankingKind::Ensemble
           || kind == RankingKind::CvNoiseRate || kind == RankingKind::CvBoundary;
}

bool needsNeighbours(RankingKind kind)
{
    return kind == RankingKind::Neighbours || kind == RankingKind::Ensemble;
}

std::optional<RankingKind> parseRankingKind(const std::string &name)
{
    for (RankingKind k : allRankingKinds())
        if (name == rankingKindName(k))
            return k;
    return std::nullopt;
}

std::vector<RankingKind> allRankingKinds()
{
    return {RankingKind::SelfInfluence,    RankingKind::Loss,     RankingKind::Margin,
            RankingKind::Random,           RankingKind::Neighbours, RankingKind::CvSelfConfidence,
            RankingKind::CvMargin,         RankingKind::CvSelfInfluence, RankingKind::Ensemble,
            RankingKind::CvNoiseRate,      RankingKind::CvBoundary};
}

std::vector<int> CheckpointPolicy::select(int numCheckpoints) const
{
    std::vector<int> out;
    const int first = std::max(0, skipFirst);
    for (int i = first; i < numCheckpoints; ++i)
        out.push_back(i);
    if (lastCount > 0 && int(out.size()) > lastCount)
        out.erase(out.begin(), out.end() - lastCount);
    if (out.empty() && numCheckpoints > 0)
        out.push_back(numCheckpoints - 1);
    return out;
}

std::string CheckpointPolicy::selectionName() const
{
    std::string s;
    if (skipFirst > 0)
        s = "skip-" + std::to_string(skipFirst);
    if (lastCount > 0)
        s += (s.empty() ? "" : ",") + std::string("last-") + std::to_string(lastCount);
    return s.empty() ? "all" : s;
}

const char *CheckpointPolicy::weightingName() const
{
    return weighting == Weighting::LearningRate ? "lr" : "uniform";
}

std::string CheckpointPolicy::toString() const
{
    return selectionName() + ", " + (weighting == Weighting::LearningRate ? "η" : "uniform");
}

std::optional<CheckpointPolicy> CheckpointPolicy::parse(const std::string &selection, const std::string &weighting)
{
    CheckpointPolicy p;
    if (weighting == "lr" || weighting == "eta")
        p.weighting = Weighting::LearningRate;
    else if (weighting == "uniform")
        p.weighting = Weighting::Uniform;
    else
        return std::nullopt;
    if (selection == "all")
        return p;
    // Comma-separated parts; an empty part ("last-2,") is malformed.
    size_t pos = 0;
    for (bool more = true; more;) {
        const size_t comma = selection.find(',', pos);
        more = comma != std::string::npos;
        const std::string part = selection.substr(pos, more ? comma - pos : std::string::npos);
        pos = more ? comma + 1 : selection.size();
        auto number = [&](const char *prefix, int *out) {
            const std::string pre(prefix);
            if (part.rfind(pre, 0) != 0 || part.size() == pre.size())
                return false;
            const std::string digits = part.substr(pre.size());
            if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })
                || digits.size() > 4)
                return false;
            *out = std::stoi(digits);
            return *out > 0;
        };
        if (!number("skip-", &p.skipFirst) && !number("last-", &p.lastCount))
            return std::nullopt;
    }
    return p;
}

std::string RankingSpec::toString() const
{
    // Only the factor rankings have a checkpoint policy.
    if (kind == RankingKind::Random || needsNeighbours(kind) || needsCrossValidation(kind))
        return rankingKindName(kind);
    return std::string(rankingKindName(kind)) + " (" + checkpoints.toString() + ")";
}

RankingSpec defaultRanking()
{
    // Measured, not assumed (docs/evaluation/report.md: Fashion-MNIST, 60k training images,
    // 10 % of labels flipped, built-in CNN, 3 checkpoints): the loss at the last checkpoint
    // finds 90.8 % of the flips in the top 10 % of the queue and 98.8 % in the top 20 %;
    // TracIn self-influence as published (all checkpoints, η) finds 75.5 % / 97.2 %, and its
    // best checkpoint policy (last only) 79.7 % / 98.6 %. Two reasons, both in the report:
    // - self-influence per checkpoint is ‖e‖²·(‖h‖²+1). The feature factor ‖h‖²+1 does not
    //   tell flipped from clean labels at all (ROC AUC ≈ 0.49) but varies ±30 % between
    //   examples, so it scrambles the error factor that carries the signal;
    // - ‖e‖² is bounded (≤ 2) and saturates for confidently contradicted labels, while
    //   −log p[y] keeps separating a flipped label (p[y] ≈ 0.001) from a merely hard one
    //   (p[y] ≈ 0.1).
    // Early checkpoints do dilute self-influence (the first one carries the largest share
    // of the sum and separates worst), which is why later-only policies help it, but no
    // policy closes the gap. Loss needs no extra factors either. Self-influence, margin and
    // random stay selectable (rank --ranking, defaultRankingFor()).
    return RankingSpec{RankingKind::Loss, CheckpointPolicy::lastOnly(), 1};
}

RankingSpec evaluationDefaultRanking(std::optional<double> estimatedWrongShare)
{
    if (!estimatedWrongShare)
        return defaultRanking();
    // The threshold is where the cleaning loop's winner changed (docs/evaluation/README.md);
    // below it the ensemble, which finds the most wrong labels, also paid at least as much.
    const RankingKind kind =
        *estimatedWrongShare >= kBoundaryReviewNoiseShare ? RankingKind::CvBoundary : RankingKind::Ensemble;
    return RankingSpec{kind, CheckpointPolicy::all(), 1};
}

RankingSpec defaultRankingFor(RankingKind kind)
{
    const RankingSpec best = defaultRanking();
    if (kind == best.kind)
        return best;
    switch (kind) {
    case RankingKind::SelfInfluence: return RankingSpec{kind, CheckpointPolicy::all(), 1};
    case RankingKind::Loss:
    case RankingKind::Margin: return RankingSpec{kind, CheckpointPolicy::lastOnly(), 1};
    case RankingKind::Random: return RankingSpec{kind, CheckpointPolicy::all(), 1};
    default: return RankingSpec{kind, CheckpointPolicy::all(), 1}; // no checkpoint policy
    }
    return best;
}

Result<CheckpointTerms> loadCheckpointTerms(ProjectDb &db, int64_t modelId, const ProgressFn &progress,
                                            const CancelFlag *cancel)
{
    auto model = db.model(modelId);
    if (!model.ok())
        return model.status();
    auto cps = db.checkpoints(modelId);
    if (!cps.ok())
        return cps.status();
    if (cps->empty())
        return Status::invalid(db.path() + ": model " + std::to_string(modelId) + " has no checkpoints");
    auto train = db.examples(Split::Train);
    if (!train.ok())
        return train.status();

    CheckpointTerms t;
    t.modelId = modelId;
    const size_t n = train->size();
    const size_t nc = cps->size();
    std::unordered_map<int64_t, size_t> rowOf;
    rowOf.reserve(n);
    for (const auto &e : *train) {
        rowOf.emplace(e.id, t.ids.size());
        t.ids.push_back(e.id);
    }
    for (const auto &cp : *cps)
        t.learningRates.push_back(cp.learningRate);
    t.labels.assign(n, -1);
    t.predictedLast.assign(n, -1);
    t.selfTerm.assign(n * nc, 0.0);
    t.errorNorm.assign(n * nc, 0.0f);
    t.loss.assign(n * nc, 0.0f);
    t.margin.assign(n * nc, 0.0f);
    t.labelProbLast.assign(n, 0.0f);
    std::vector<char> seen(n);

    for (size_t c = 0; c < nc; ++c) {
        if (isCancelled(cancel))
            return Status::cancelled();
        if (progress)
            progress({"rank", "reading factors of checkpoint " + std::to_string(c + 1), int64_t(c), int64_t(nc)});
        std::fill(seen.begin(), seen.end(), 0);
        Status bad;
        TL_RETURN_IF_ERROR(db.forEachFactor((*cps)[c].id, [&](const FactorRow &r) {
            auto it = rowOf.find(r.exampleId);
            if (it == rowOf.end() || !bad.isOk())
                return; // a test example
            const size_t i = it->second;
            const int k = int(r.error.size());
            const int y = r.labelUsed;
            if (y < 0 || y >= k || int(r.probs.size()) != k) {
                bad = Status::corruption(db.path() + ": factors row (checkpoint " + std::to_string((*cps)[c].id)
                                         + ", example " + std::to_string(r.exampleId) + "): malformed");
                return;
            }
            seen[i] = 1;
            const double e2 = dot(r.error.data(), r.error.data(), k);
            const double h2 = dot(r.embedding.data(), r.embedding.data(), int(r.embedding.size()));
            float other = -1.0f;
            for (int j = 0; j < k; ++j)
                if (j != y)
                    other = std::max(other, r.probs[size_t(j)]);
            const size_t at = t.at(i, int(c));
            t.selfTerm[at] = e2 * (h2 + 1.0);
            t.errorNorm[at] = float(e2);
            t.loss[at] = r.loss;
            t.margin[at] = r.probs[size_t(y)] - other;
            // The label of the last checkpoint's factors is the one the queue shows.
            t.labels[i] = y;
            if (c + 1 == nc) {
                t.predictedLast[i] = r.predicted;
                t.labelProbLast[i] = r.probs[size_t(y)];
            }
        }));
        TL_RETURN_IF_ERROR(bad);
        const auto missing = size_t(std::count(seen.begin(), seen.end(), 0));
        if (missing > 0)
            return Status::notFound(db.path() + ": " + std::to_string(missing) + " training examples lack factors at "
                                    + "checkpoint " + std::to_string(c + 1) + " of model " + std::to_string(modelId)
                                    + "; run 'compute' first");
    }
    if (progress)
        progress({"rank", "factors read", int64_t(nc), int64_t(nc)});
    return t;
}

std::vector<double> rankingScores(const CheckpointTerms &terms, const RankingSpec &spec)
{
    const size_t n = terms.ids.size();
    std::vector<double> scores(n, 0.0);
    if (spec.kind == RankingKind::Random) {
        for (size_t i = 0; i < n; ++i)
            scores[i] = double(mix64(spec.seed * 0x100000001b3ull ^ uint64_t(terms.ids[i])) >> 11) * 0x1.0p-53;
        return scores;
    }
    if (needsNeighbours(spec.kind) || needsCrossValidation(spec.kind))
        return extraScores(terms, spec.kind);
    const std::vector<int> used = spec.checkpoints.select(terms.numCheckpoints());
    std::vector<double> w;
    for (int c : used)
        w.push_back(spec.checkpoints.weighting == CheckpointPolicy::Weighting::LearningRate
                        ? terms.learningRates[size_t(c)]
                        : 1.0);
    const double wsum = std::accumulate(w.begin(), w.end(), 0.0);
    for (size_t i = 0; i < n; ++i) {
        double s = 0.0;
        for (size_t j = 0; j < used.size(); ++j) {
            const size_t at = terms.at(i, used[j]);
            switch (spec.kind) {
            case RankingKind::SelfInfluence: s += w[j] * terms.selfTerm[at]; break;
            case RankingKind::Loss: s += w[j] * terms.loss[at]; break;
            case RankingKind::Margin: s -= w[j] * terms.margin[at]; break;
            default: break;
            }
        }
        scores[i] = spec.kind == RankingKind::SelfInfluence || wsum <= 0.0 ? s : s / wsum;
    }
    return scores;
}

std::vector<RankedExample> sortRanking(const std::vector<int64_t> &ids, const std::vector<double> &scores)
{
    std::vector<RankedExample> out(ids.size());
    for (size_t i = 0; i < ids.size(); ++i)
        out[i] = {ids[i], scores[i]};
    std::sort(out.begin(), out.end(), [](const RankedExample &a, const RankedExample &b) {
        const bool an = std::isnan(a.score), bn = std::isnan(b.score);
        if (an != bn)
            return bn; // a number before NaN
        if (!an && a.score != b.score)
            return a.score > b.score;
        return a.exampleId < b.exampleId;
    });
    return out;
}

Result<std::vector<RankedExample>> rankTrainingExamples(ProjectDb &db, int64_t modelId, const RankingSpec &spec,
                                                        const ProgressFn &progress, const CancelFlag *cancel)
{
    auto terms = loadCheckpointTerms(db, modelId, progress, cancel);
    if (!terms.ok())
        return terms.status();
    TL_RETURN_IF_ERROR(prepareRankingTerms(db, &*terms, spec, 0, progress, cancel));
    return sortRanking(terms->ids, rankingScores(*terms, spec));
}

Status prepareRankingTerms(ProjectDb &db, CheckpointTerms *terms, const RankingSpec &spec, int threads,
                           const ProgressFn &progress, const CancelFlag *cancel)
{
    if (needsCrossValidation(spec.kind) && !terms->outOfSample) {
        auto oos = loadOutOfSampleTerms(db);
        if (!oos.ok()) {
            if (oos.status().code() == Status::Code::NotFound)
                return Status::notFound("the " + std::string(rankingKindName(spec.kind))
                                        + " ranking needs out-of-sample scores: run 'traclens-cli crossvalidate "
                                        + db.path() + "' (or Project ▸ Cross-validate… in the app) first");
            return oos.status();
        }
        terms->outOfSample = std::make_shared<const OutOfSampleTerms>(std::move(oos).value());
    }
    if (needsNeighbours(spec.kind) && !terms->neighbours) {
        auto cps = db.checkpoints(terms->modelId);
        if (!cps.ok())
            return cps.status();
        if (cps->empty())
            return Status::invalid(db.path() + ": model " + std::to_string(terms->modelId) + " has no checkpoints");
        if (progress)
            progress({"rank", "reading embeddings of the last checkpoint", 0, 2});
        std::unordered_map<int64_t, size_t> rowOf;
        for (size_t i = 0; i < terms->ids.size(); ++i)
            rowOf.emplace(terms->ids[i], i);
        int dim = 0;
        std::vector<float> embeddings;
        Status bad;
        TL_RETURN_IF_ERROR(db.forEachFactor(cps->back().id, [&](const FactorRow &r) {
            auto it = rowOf.find(r.exampleId);
            if (it == rowOf.end() || !bad.isOk())
                return;
            if (dim == 0) {
                dim = int(r.embedding.size());
                embeddings.assign(terms->ids.size() * size_t(dim), 0.0f);
            }
            if (int(r.embedding.size()) != dim) {
                bad = Status::corruption(db.path() + ": factors of example " + std::to_string(r.exampleId)
                                         + " have an embedding of another size");
                return;
            }
            std::copy(r.embedding.begin(), r.embedding.end(), embeddings.begin() + ptrdiff_t(it->second * size_t(dim)));
        }));
        TL_RETURN_IF_ERROR(bad);
        if (isCancelled(cancel))
            return Status::cancelled();
        if (progress)
            progress({"rank", "finding each example's nearest neighbours", 1, 2});
        const int workers = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
        auto lists = nearestNeighbours(embeddings, int64_t(terms->ids.size()), dim, kRankingNeighbours, workers, cancel);
        if (!lists.ok())
            return lists.status();
        terms->neighbours = std::make_shared<const NeighbourLists>(std::move(lists).value());
        if (progress)
            progress({"rank", "neighbours found", 2, 2});
    }
    return Status::ok();
}

std::optional<std::vector<RankedExample>> rankFromIndex(const InfluenceIndex &engine, const RankingSpec &spec)
{
    // Loss over the last checkpoint alone: Σ wᵢℓᵢ / Σ wᵢ is ℓ itself whatever the weighting,
    // and the engine keeps ℓ at the last checkpoint as stored with the factors. (w·ℓ)/w may
    // differ from ℓ in the last bit of a double, but never reorders two float losses, so
    // the order equals rankTrainingExamples()'s.
    const int n = engine.numCheckpoints();
    const std::vector<int> used = spec.checkpoints.select(n);
    if (spec.kind != RankingKind::Loss || used.size() != 1 || used.front() != n - 1)
        return std::nullopt;
    const std::vector<int64_t> &ids = engine.trainIds();
    std::vector<double> scores(ids.size());
    for (size_t i = 0; i < ids.size(); ++i)
        scores[i] = double(engine.lossAtLast(ids[i]));
    return sortRanking(ids, scores);
}

} // namespace traclens
