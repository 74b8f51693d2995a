#include "influenceengine.h"

#include "factors.h"
#include "parallelrows.h"
#include "simdkernels.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <thread>
#include <unordered_map>

namespace traclens {

namespace {

// Exact scans use up to four threads: beyond that the memory bandwidth, not the
// arithmetic, limits them.
int scanThreads()
{
    return int(std::min(4u, std::max(1u, std::thread::hardware_concurrency())));
}

constexpr int64_t kParallelFrom = 20000;

// The k best rows of `scores` (highest when `highest`), skipping `exclude`.
std::vector<Neighbour> topK(const std::vector<float> &scores, int64_t n, int k, bool highest, int64_t exclude,
                            const std::vector<int64_t> &ids)
{
    std::vector<int64_t> idx;
    idx.reserve(size_t(n));
    for (int64_t j = 0; j < n; ++j)
        if (j != exclude)
            idx.push_back(j);
    const size_t kk = std::min(idx.size(), size_t(std::max(0, k)));
    auto better = [&](int64_t a, int64_t b) {
        if (scores[a] != scores[b])
            return highest ? scores[a] > scores[b] : scores[a] < scores[b];
        return a < b; // stable ties: lower id first
    };
    std::nth_element(idx.begin(), idx.begin() + kk, idx.end(), better);
    std::sort(idx.begin(), idx.begin() + kk, better);
    std::vector<Neighbour> out;
    out.reserve(kk);
    for (size_t i = 0; i < kk; ++i)
        out.push_back({ids[size_t(idx[i])], double(scores[idx[i]])});
    return out;
}

} // namespace

struct InfluenceEngine::Impl {
    int64_t modelId = 0;
    int k = 0, d = 0;
    std::vector<float> eta;
    std::vector<int64_t> ids;        // all rows: train rows first, then test
    int64_t nTrain = 0;
    std::vector<int64_t> trainIds;
    std::unordered_map<int64_t, int64_t> rowOf;
    std::vector<std::vector<float>> blocks; // per checkpoint: rows × (K + D)
    std::vector<float> unitH;        // last checkpoint, rows × D, unit length
    std::vector<double> self;        // rows
    std::vector<int> predicted;      // rows, last checkpoint
    std::vector<int> labelUsed;      // rows, the label e was formed with
    std::vector<float> prob, loss;   // rows, last checkpoint

    void score(const std::vector<const float *> &eq, const std::vector<const float *> &hq, std::vector<float> *out) const
    {
        out->assign(size_t(nTrain), 0.0f);
        float *s = out->data();
        const int64_t stride = k + d;
        parallelRows(nTrain, scanThreads(), kParallelFrom, [&](int64_t b, int64_t e) {
            for (size_t c = 0; c < blocks.size(); ++c)
                simd::accumulateTracIn(blocks[c].data() + b * stride, k, d, eq[c], hq[c], eta[c], e - b, s + b);
        });
    }

    QueryResult run(const std::vector<const float *> &eq, const std::vector<const float *> &hq, double selfQ,
                    int64_t excludeRow, int kk, Scoring scoring) const
    {
        QueryResult r;
        r.scoring = scoring;
        r.selfInfluence = selfQ;
        std::vector<float> s;
        score(eq, hq, &s);
        if (scoring == Scoring::Normalised) {
            for (int64_t j = 0; j < nTrain; ++j) {
                const double denom = std::sqrt(self[size_t(j)] * selfQ);
                s[size_t(j)] = denom > 0 ? float(s[size_t(j)] / denom) : 0.0f;
            }
        }
        r.proponents = topK(s, nTrain, kk, true, excludeRow, ids);
        r.opponents = topK(s, nTrain, kk, false, excludeRow, ids);

        // Embedding neighbours at the last checkpoint.
        std::vector<float> q(hq.back(), hq.back() + d);
        float norm = std::sqrt(std::max(1e-30f, std::inner_product(q.begin(), q.end(), q.begin(), 0.0f)));
        for (auto &v : q)
            v /= norm;
        std::vector<float> cs(static_cast<size_t>(nTrain));
        parallelRows(nTrain, scanThreads(), kParallelFrom, [&](int64_t b, int64_t e) {
            simd::stridedDots(unitH.data() + b * d, d, d, q.data(), e - b, cs.data() + b);
        });
        r.nearest = topK(cs, nTrain, kk, true, excludeRow, ids);
        r.farthest = topK(cs, nTrain, kk, false, excludeRow, ids);
        return r;
    }
};

InfluenceEngine::InfluenceEngine() : d(std::make_unique<Impl>()) {}
InfluenceEngine::~InfluenceEngine() = default;

Result<std::unique_ptr<InfluenceEngine>> InfluenceEngine::load(ProjectDb &db, int64_t modelId,
                                                               const ProgressFn &progress)
{
    std::unique_ptr<InfluenceEngine> engine(new InfluenceEngine);
    Impl &m = *engine->d;
    m.modelId = modelId;
    auto model = db.model(modelId);
    if (!model.ok())
        return model.status();
    auto cps = db.checkpoints(modelId);
    if (!cps.ok())
        return cps.status();
    if (cps->empty())
        return Status::invalid(db.path() + ": model " + model->name + " has no checkpoints");
    auto train = db.examples(Split::Train);
    auto test = db.examples(Split::Test);
    if (!train.ok())
        return train.status();
    if (!test.ok())
        return test.status();
    for (const auto &e : *train)
        m.ids.push_back(e.id);
    m.nTrain = int64_t(m.ids.size());
    m.trainIds = m.ids;
    for (const auto &e : *test)
        m.ids.push_back(e.id);
    const int64_t rows = int64_t(m.ids.size());
    m.rowOf.reserve(size_t(rows));
    for (int64_t r = 0; r < rows; ++r)
        m.rowOf.emplace(m.ids[size_t(r)], r);
    m.k = model->numClasses;

    for (size_t c = 0; c < cps->size(); ++c) {
        const CheckpointRow &cp = (*cps)[c];
        auto count = db.factorCount(cp.id);
        if (!count.ok())
            return count.status();
        if (*count < rows)
            return Status::invalid(db.path() + ": TracIn factors are incomplete for checkpoint " + std::to_string(c + 1)
                                   + " (" + std::to_string(*count) + " of " + std::to_string(rows)
                                   + " examples); run compute to finish them");
        m.eta.push_back(float(cp.learningRate));
        std::vector<float> block;
        const bool last = c + 1 == cps->size();
        Status shape;
        TL_RETURN_IF_ERROR(db.forEachFactor(cp.id, [&](const FactorRow &f) {
            if (!shape.isOk())
                return;
            if (m.d == 0) {
                m.d = int(f.embedding.size());
                m.self.assign(size_t(rows), 0.0);
            }
            if (block.empty())
                block.assign(size_t(rows) * size_t(m.k + m.d), 0.0f);
            if (int(f.error.size()) != m.k || int(f.embedding.size()) != m.d || int(f.probs.size()) != m.k
                || f.predicted < 0 || f.predicted >= m.k || f.labelUsed < 0 || f.labelUsed >= m.k) {
                shape = Status::corruption(db.path() + ": factors row (checkpoint " + std::to_string(cp.id)
                                           + ", example " + std::to_string(f.exampleId)
                                           + "): wrong size or a label outside the model's classes");
                return;
            }
            auto it = m.rowOf.find(f.exampleId);
            if (it == m.rowOf.end())
                return;
            const int64_t r = it->second;
            float *dst = block.data() + r * (m.k + m.d);
            std::copy(f.error.begin(), f.error.end(), dst);
            std::copy(f.embedding.begin(), f.embedding.end(), dst + m.k);
            const double e2 = dot(f.error.data(), f.error.data(), m.k);
            const double h2 = dot(f.embedding.data(), f.embedding.data(), m.d);
            m.self[size_t(r)] += cp.learningRate * e2 * (h2 + 1.0);
            if (last) {
                if (m.unitH.empty()) {
                    m.unitH.assign(size_t(rows) * size_t(m.d), 0.0f);
                    m.predicted.assign(size_t(rows), 0);
                    m.labelUsed.assign(size_t(rows), 0);
                    m.prob.assign(size_t(rows), 0.0f);
                    m.loss.assign(size_t(rows), 0.0f);
                }
                const float inv = h2 > 0 ? float(1.0 / std::sqrt(h2)) : 0.0f;
                for (int j = 0; j < m.d; ++j)
                    m.unitH[size_t(r) * m.d + j] = f.embedding[size_t(j)] * inv;
                m.predicted[size_t(r)] = f.predicted;
                m.labelUsed[size_t(r)] = f.labelUsed;
                m.prob[size_t(r)] = f.probs[size_t(f.predicted)];
                m.loss[size_t(r)] = f.loss;
            }
        }));
        TL_RETURN_IF_ERROR(shape);
        m.blocks.push_back(std::move(block));
        if (progress)
            progress({"load", "reading factors", int64_t(c + 1), int64_t(cps->size())});
    }
    return engine;
}

int64_t InfluenceEngine::modelId() const { return d->modelId; }
int InfluenceEngine::numClasses() const { return d->k; }
int InfluenceEngine::embeddingDim() const { return d->d; }
int InfluenceEngine::numCheckpoints() const { return int(d->blocks.size()); }
const std::vector<int64_t> &InfluenceEngine::trainIds() const { return d->trainIds; }

int64_t InfluenceEngine::rowOf(int64_t exampleId) const
{
    auto it = d->rowOf.find(exampleId);
    return it == d->rowOf.end() ? -1 : it->second;
}

Result<QueryResult> InfluenceEngine::query(int64_t exampleId, int k, Scoring scoring) const
{
    const int64_t row = rowOf(exampleId);
    if (row < 0)
        return Status::notFound("example " + std::to_string(exampleId) + " has no TracIn factors");
    std::vector<const float *> eq, hq;
    for (const auto &b : d->blocks) {
        const float *r = b.data() + row * (d->k + d->d);
        eq.push_back(r);
        hq.push_back(r + d->k);
    }
    QueryResult res = d->run(eq, hq, d->self[size_t(row)], row < d->nTrain ? row : -1, k, scoring);
    res.queryId = exampleId;
    res.predicted = d->predicted[size_t(row)];
    res.labelUsed = d->labelUsed[size_t(row)];
    return res;
}

Result<QueryResult> InfluenceEngine::query(const QueryFactors &f, int k, Scoring scoring) const
{
    if (f.perCheckpoint.size() != d->blocks.size())
        return Status::invalid("query factors have " + std::to_string(f.perCheckpoint.size())
                               + " checkpoints, the engine " + std::to_string(d->blocks.size()));
    std::vector<const float *> eq, hq;
    double self = 0.0;
    for (size_t c = 0; c < f.perCheckpoint.size(); ++c) {
        const FactorRow &r = f.perCheckpoint[c];
        if (int(r.error.size()) != d->k || int(r.embedding.size()) != d->d)
            return Status::invalid("query factors do not match the model's shape");
        eq.push_back(r.error.data());
        hq.push_back(r.embedding.data());
        self += d->eta[c] * dot(r.error.data(), r.error.data(), d->k)
                * (dot(r.embedding.data(), r.embedding.data(), d->d) + 1.0);
    }
    QueryResult res = d->run(eq, hq, self, -1, k, scoring);
    res.labelUsed = f.label;
    res.labelPredicted = f.labelPredicted;
    res.predicted = f.perCheckpoint.back().predicted;
    return res;
}

Result<std::vector<float>> InfluenceEngine::scores(int64_t exampleId, Scoring scoring) const
{
    const int64_t row = rowOf(exampleId);
    if (row < 0)
        return Status::notFound("example " + std::to_string(exampleId) + " has no TracIn factors");
    std::vector<const float *> eq, hq;
    for (const auto &b : d->blocks) {
        const float *r = b.data() + row * (d->k + d->d);
        eq.push_back(r);
        hq.push_back(r + d->k);
    }
    std::vector<float> s;
    d->score(eq, hq, &s);
    if (scoring == Scoring::Normalised) {
        const double sq = d->self[size_t(row)];
        for (int64_t j = 0; j < d->nTrain; ++j) {
            const double denom = std::sqrt(d->self[size_t(j)] * sq);
            s[size_t(j)] = denom > 0 ? float(s[size_t(j)] / denom) : 0.0f;
        }
    }
    return s;
}

double InfluenceEngine::selfInfluence(int64_t exampleId) const
{
    const int64_t r = rowOf(exampleId);
    return r < 0 ? 0.0 : d->self[size_t(r)];
}

int InfluenceEngine::predicted(int64_t exampleId) const
{
    const int64_t r = rowOf(exampleId);
    return r < 0 ? -1 : d->predicted[size_t(r)];
}

float InfluenceEngine::predictedProbability(int64_t exampleId) const
{
    const int64_t r = rowOf(exampleId);
    return r < 0 ? 0.0f : d->prob[size_t(r)];
}

float InfluenceEngine::lossAtLast(int64_t exampleId) const
{
    const int64_t r = rowOf(exampleId);
    return r < 0 ? 0.0f : d->loss[size_t(r)];
}

} // namespace traclens
