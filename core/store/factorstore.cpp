#include "store/factorstore.h"

#include "store/factors.h"
#include "util/float16.h"
#include "util/simdkernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace traclens {

namespace {

// A fast 64-bit mix (splitmix64 finaliser) over 8-byte words: the hash only has to
// notice changes, not resist adversaries, and it runs over every factor value.
inline uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

uint64_t hashBytes(uint64_t h, const void *data, size_t bytes)
{
    const auto *p = static_cast<const unsigned char *>(data);
    size_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        h = mix(h, w);
    }
    uint64_t tail = 0;
    std::memcpy(&tail, p + i, bytes - i);
    return mix(h, tail ^ bytes);
}

} // namespace

FactorStore::~FactorStore() = default;

void FactorStore::allocate(int64_t rows)
{
    const size_t stride = size_t(m_k + m_d);
    for (size_t c = 0; c < m_eta.size(); ++c) {
        if (m_precision == FactorPrecision::Float32)
            m_f32.emplace_back(size_t(rows) * stride, 0.0f);
        else
            m_f16.emplace_back(size_t(rows) * stride, uint16_t(0));
    }
    m_lastHNorm.assign(size_t(rows), 0.0f);
    m_self.assign(size_t(rows), 0.0);
    m_label.assign(size_t(rows), 0);
    m_pred.assign(size_t(rows), 0);
    m_labelUsed.assign(size_t(rows), 0);
    m_prob.assign(size_t(rows), 0.0f);
    m_loss.assign(size_t(rows), 0.0f);
}

void FactorStore::setRow(int c, int64_t row, const float *e, const float *h)
{
    const size_t stride = size_t(m_k + m_d);
    if (m_precision == FactorPrecision::Float32) {
        float *dst = m_f32[size_t(c)].data() + size_t(row) * stride;
        std::copy(e, e + m_k, dst);
        std::copy(h, h + m_d, dst + m_k);
    } else {
        uint16_t *dst = m_f16[size_t(c)].data() + size_t(row) * stride;
        floatsToHalves(e, dst, size_t(m_k));
        floatsToHalves(h, dst + m_k, size_t(m_d));
    }
    // Self-influence from the values as read (full precision), like computeSelfInfluence.
    m_self[size_t(row)] += m_eta[size_t(c)] * dot(e, e, m_k) * (dot(h, h, m_d) + 1.0);
    if (c + 1 == numCheckpoints())
        m_lastHNorm[size_t(row)] = float(std::sqrt(dot(h, h, m_d)));
}

Result<std::unique_ptr<FactorStore>> FactorStore::load(ProjectDb &db, int64_t modelId, FactorPrecision precision,
                                                       const ProgressFn &progress, const CancelFlag *cancel)
{
    std::unique_ptr<FactorStore> store(new FactorStore);
    FactorStore &s = *store;
    s.m_modelId = modelId;
    s.m_precision = precision;
    auto model = db.model(modelId);
    if (!model.ok())
        return model.status();
    auto cps = db.checkpoints(modelId);
    if (!cps.ok())
        return cps.status();
    if (cps->empty())
        return Status::invalid(db.path() + ": model " + model->name + " has no checkpoints");
    auto train = db.exampleLabels(Split::Train);
    if (!train.ok())
        return train.status();
    auto test = db.exampleLabels(Split::Test);
    if (!test.ok())
        return test.status();
    s.m_nTrain = int64_t(train->size());
    const int64_t rows = s.m_nTrain + int64_t(test->size());
    s.m_ids.reserve(size_t(rows));
    s.m_k = model->numClasses;
    s.m_d = model->embeddingDim;
    for (const auto &cp : *cps)
        s.m_eta.push_back(cp.learningRate);

    // The embedding size is known only from the factors when the model row lacks it.
    if (s.m_d <= 0) {
        auto first = db.examples();
        if (!first.ok())
            return first.status();
        if (!first->empty()) {
            auto f = db.factor(cps->front().id, first->front().id);
            if (!f.ok())
                return f.status();
            if (f->has_value())
                s.m_d = int((*f)->embedding.size());
        }
    }
    s.allocate(rows);
    uint64_t hash = mix(0x7472616300000000ull, uint64_t(modelId));
    for (const auto *part : {&*train, &*test}) {
        for (const auto &[id, label] : *part) {
            s.m_label[s.m_ids.size()] = label;
            s.m_ids.push_back(id);
            hash = mix(hash, uint64_t(id));
        }
    }

    for (size_t c = 0; c < cps->size(); ++c) {
        if (isCancelled(cancel))
            return Status::cancelled();
        const CheckpointRow &cp = (*cps)[c];
        const bool last = c + 1 == cps->size();
        int64_t seen = 0;
        Status shape;
        hash = mix(hash, uint64_t(cp.id));
        uint64_t lr;
        std::memcpy(&lr, &cp.learningRate, 8);
        hash = mix(hash, lr);
        TL_RETURN_IF_ERROR(db.forEachFactor(cp.id, [&](const FactorRow &f) {
            if (!shape.isOk())
                return;
            const int64_t row = s.rowOf(f.exampleId);
            if (row < 0)
                return;
            if (int(f.error.size()) != s.m_k || int(f.embedding.size()) != s.m_d || int(f.probs.size()) != s.m_k
                || f.predicted < 0
                || f.predicted >= s.m_k || f.labelUsed < 0 || f.labelUsed >= s.m_k) {
                shape = Status::corruption(db.path() + ": factors row (checkpoint " + std::to_string(cp.id)
                                           + ", example " + std::to_string(f.exampleId)
                                           + "): wrong size or a label outside the model's classes");
                return;
            }
            s.setRow(int(c), row, f.error.data(), f.embedding.data());
            // The probabilities, not e: e = p − onehot(label) changes with a relabel,
            // which the indexes follow row by row (labelUsed()) instead of going stale.
            hash = mix(hash, uint64_t(f.exampleId));
            hash = hashBytes(hash, f.probs.data(), f.probs.size() * sizeof(float));
            hash = hashBytes(hash, f.embedding.data(), f.embedding.size() * sizeof(float));
            if (last) {
                s.m_pred[size_t(row)] = f.predicted;
                s.m_labelUsed[size_t(row)] = f.labelUsed;
                s.m_prob[size_t(row)] = f.predicted < int(f.probs.size()) ? f.probs[size_t(f.predicted)] : 0.0f;
                s.m_loss[size_t(row)] = f.loss;
            }
            ++seen;
            if (progress && (seen & 0xffff) == 0)
                progress({"load", "reading factors, checkpoint " + std::to_string(c + 1) + " of "
                                      + std::to_string(cps->size()),
                          int64_t(c) * rows + seen, rows * int64_t(cps->size())});
        }));
        TL_RETURN_IF_ERROR(shape);
        if (seen < rows)
            return Status::invalid(db.path() + ": TracIn factors are incomplete for checkpoint " + std::to_string(c + 1)
                                   + " (" + std::to_string(seen) + " of " + std::to_string(rows)
                                   + " examples); run compute to finish them");
        if (progress)
            progress({"load", "reading factors", int64_t(c + 1) * rows, rows * int64_t(cps->size())});
    }
    s.m_hash = hash;
    return store;
}

std::unique_ptr<FactorStore> FactorStore::fromArrays(std::vector<int64_t> ids, int64_t nTrain, std::vector<int> labels,
                                                     int k, int d, std::vector<double> eta,
                                                     const std::vector<std::vector<float>> &e,
                                                     const std::vector<std::vector<float>> &h,
                                                     FactorPrecision precision)
{
    std::unique_ptr<FactorStore> store(new FactorStore);
    FactorStore &s = *store;
    s.m_k = k;
    s.m_d = d;
    s.m_precision = precision;
    s.m_eta = std::move(eta);
    s.m_nTrain = nTrain;
    const int64_t rows = int64_t(ids.size());
    s.allocate(rows);
    s.m_ids = std::move(ids);
    s.m_label = std::move(labels);
    s.m_label.resize(size_t(rows), 0);
    s.m_labelUsed = s.m_label;
    uint64_t hash = 0;
    for (int64_t r = 0; r < rows; ++r)
        hash = mix(hash, uint64_t(s.m_ids[size_t(r)]));
    for (int c = 0; c < s.numCheckpoints(); ++c) {
        for (int64_t r = 0; r < rows; ++r)
            s.setRow(c, r, e[size_t(c)].data() + size_t(r) * size_t(k), h[size_t(c)].data() + size_t(r) * size_t(d));
        hash = hashBytes(hash, e[size_t(c)].data(), e[size_t(c)].size() * sizeof(float));
        hash = hashBytes(hash, h[size_t(c)].data(), h[size_t(c)].size() * sizeof(float));
    }
    // Predictions of the last checkpoint from e = p − onehot(label): p = e + onehot.
    std::vector<float> ev(static_cast<size_t>(k)), hv(static_cast<size_t>(d));
    for (int64_t r = 0; r < rows; ++r) {
        s.factors(r, s.numCheckpoints() - 1, ev.data(), hv.data());
        int best = 0;
        float bestP = -1e30f;
        for (int j = 0; j < k; ++j) {
            const float p = ev[size_t(j)] + (j == s.m_label[size_t(r)] ? 1.0f : 0.0f);
            if (p > bestP) {
                bestP = p;
                best = j;
            }
        }
        s.m_pred[size_t(r)] = best;
        s.m_prob[size_t(r)] = bestP;
    }
    s.m_hash = hash;
    return store;
}

Status FactorStore::updateRow(int64_t row, int label, const std::vector<FactorRow> &perCheckpoint)
{
    if (row < 0 || row >= rows())
        return Status::invalid("factor store: row " + std::to_string(row) + " is out of range");
    if (int(perCheckpoint.size()) != numCheckpoints())
        return Status::invalid("factor store: " + std::to_string(perCheckpoint.size()) + " checkpoints given, "
                               + std::to_string(numCheckpoints()) + " expected");
    for (const FactorRow &f : perCheckpoint)
        if (int(f.error.size()) != m_k || int(f.embedding.size()) != m_d)
            return Status::invalid("factor store: factors of example " + std::to_string(idOf(row))
                                   + " have the wrong size");
    // setRow() adds checkpoint by checkpoint from zero, as load() does, so the value is
    // the one a fresh load would give.
    m_self[size_t(row)] = 0.0;
    for (int c = 0; c < numCheckpoints(); ++c)
        setRow(c, row, perCheckpoint[size_t(c)].error.data(), perCheckpoint[size_t(c)].embedding.data());
    const FactorRow &last = perCheckpoint.back();
    m_label[size_t(row)] = label;
    m_labelUsed[size_t(row)] = last.labelUsed;
    m_loss[size_t(row)] = last.loss;
    return Status::ok();
}

uint64_t FactorStore::classHash(int classIdx, bool allCheckpoints) const
{
    uint64_t hash = mix(0x636c617373000000ull ^ uint64_t(uint32_t(classIdx)), uint64_t(m_modelId));
    const size_t stride = size_t(m_k + m_d);
    const int first = allCheckpoints ? 0 : numCheckpoints() - 1;
    // e enters only for the TracIn space; the embedding space reads h alone.
    const size_t from = allCheckpoints ? 0 : size_t(m_k);
    for (int64_t r = 0; r < m_nTrain; ++r) {
        if (m_label[size_t(r)] != classIdx)
            continue;
        hash = mix(hash, uint64_t(m_ids[size_t(r)]));
        for (int c = first; c < numCheckpoints(); ++c) {
            if (m_precision == FactorPrecision::Float32)
                hash = hashBytes(hash, m_f32[size_t(c)].data() + size_t(r) * stride + from,
                                 (stride - from) * sizeof(float));
            else
                hash = hashBytes(hash, m_f16[size_t(c)].data() + size_t(r) * stride + from,
                                 (stride - from) * sizeof(uint16_t));
        }
    }
    return hash;
}

int64_t FactorStore::rowOf(int64_t exampleId) const
{
    auto lookup = [&](auto begin, auto end) -> int64_t {
        auto it = std::lower_bound(begin, end, exampleId);
        return it != end && *it == exampleId ? int64_t(it - m_ids.begin()) : -1;
    };
    const int64_t r = lookup(m_ids.begin(), m_ids.begin() + m_nTrain);
    return r >= 0 ? r : lookup(m_ids.begin() + m_nTrain, m_ids.end());
}

size_t FactorStore::factorBytes() const
{
    size_t bytes = 0;
    for (const auto &b : m_f32)
        bytes += b.size() * sizeof(float);
    for (const auto &b : m_f16)
        bytes += b.size() * sizeof(uint16_t);
    return bytes;
}

void FactorStore::factors(int64_t row, int c, float *e, float *h) const
{
    const size_t stride = size_t(m_k + m_d);
    if (m_precision == FactorPrecision::Float32) {
        const float *src = m_f32[size_t(c)].data() + size_t(row) * stride;
        std::copy(src, src + m_k, e);
        std::copy(src + m_k, src + stride, h);
    } else {
        const uint16_t *src = m_f16[size_t(c)].data() + size_t(row) * stride;
        halvesToFloats(src, e, size_t(m_k));
        halvesToFloats(src + m_k, h, size_t(m_d));
    }
}

double FactorStore::tracin(const FactorView &q, int64_t row) const
{
    float e[256], h[4096];
    std::vector<float> big;
    float *ep = e, *hp = h;
    if (m_k > 256 || m_d > 4096) {
        big.resize(size_t(m_k + m_d));
        ep = big.data();
        hp = big.data() + m_k;
    }
    double s = 0.0;
    for (int c = 0; c < numCheckpoints(); ++c) {
        factors(row, c, ep, hp);
        s += m_eta[size_t(c)] * dot(ep, q.e[size_t(c)], m_k) * (dot(hp, q.h[size_t(c)], m_d) + 1.0);
    }
    return s;
}

double FactorStore::embeddingCosine(const float *hq, double hqNorm, int64_t row) const
{
    float e[256], h[4096];
    std::vector<float> big;
    float *ep = e, *hp = h;
    if (m_k > 256 || m_d > 4096) {
        big.resize(size_t(m_k + m_d));
        ep = big.data();
        hp = big.data() + m_k;
    }
    factors(row, numCheckpoints() - 1, ep, hp);
    const double denom = hqNorm * double(m_lastHNorm[size_t(row)]);
    return denom > 0 ? dot(hp, hq, m_d) / denom : 0.0;
}

void FactorStore::tracinScores(const FactorView &q, int64_t begin, int64_t end, float *out) const
{
    const int stride = m_k + m_d;
    std::fill(out, out + (end - begin), 0.0f);
    for (int c = 0; c < numCheckpoints(); ++c) {
        const float eta = float(m_eta[size_t(c)]);
        const float *eq = q.e[size_t(c)], *hq = q.h[size_t(c)];
        if (m_precision == FactorPrecision::Float32) {
            simd::accumulateTracIn(m_f32[size_t(c)].data() + size_t(begin) * size_t(stride), m_k, m_d, eq, hq, eta,
                                   end - begin, out);
        } else {
            const uint16_t *block = m_f16[size_t(c)].data();
            for (int64_t r = begin; r < end; ++r) {
                const uint16_t *row = block + size_t(r) * size_t(stride);
                out[r - begin] += eta * dotHalfFloat(row, eq, size_t(m_k))
                                  * (dotHalfFloat(row + m_k, hq, size_t(m_d)) + 1.0f);
            }
        }
    }
}

double FactorStore::warm() const
{
    // One element per 4 KiB page: the slow start is a cost per page (about 5 µs each on
    // the development machine, with no page fault counted), so reading every element
    // (measured too) ends it no better and takes as long.
    double sum = 0.0;
    for (const auto &block : m_f32)
        for (size_t i = 0; i < block.size(); i += 4096 / sizeof(float))
            sum += block[i];
    for (const auto &block : m_f16)
        for (size_t i = 0; i < block.size(); i += 4096 / sizeof(uint16_t))
            sum += block[i];
    return sum;
}

void FactorStore::tracinScoresOf(const FactorView &q, const int64_t *rows, size_t count, float *out) const
{
    const size_t stride = size_t(m_k + m_d);
    std::fill(out, out + count, 0.0f);
    for (int c = 0; c < numCheckpoints(); ++c) {
        const float eta = float(m_eta[size_t(c)]);
        const float *eq = q.e[size_t(c)], *hq = q.h[size_t(c)];
        if (m_precision == FactorPrecision::Float32) {
            simd::accumulateTracInRows(m_f32[size_t(c)].data(), m_k, m_d, rows, int64_t(count), eq, hq, eta, out);
        } else {
            const uint16_t *block = m_f16[size_t(c)].data();
            for (size_t i = 0; i < count; ++i) {
                const uint16_t *row = block + size_t(rows[i]) * stride;
                out[i] += eta * dotHalfFloat(row, eq, size_t(m_k)) * (dotHalfFloat(row + m_k, hq, size_t(m_d)) + 1.0f);
            }
        }
    }
}

void FactorStore::embeddingCosines(const float *unitHq, int64_t begin, int64_t end, float *out) const
{
    const int stride = m_k + m_d;
    const int c = numCheckpoints() - 1;
    if (m_precision == FactorPrecision::Float32)
        simd::stridedDots(m_f32[size_t(c)].data() + size_t(begin) * size_t(stride) + m_k, stride, m_d, unitHq,
                          end - begin, out);
    for (int64_t r = begin; r < end; ++r) {
        const float n = m_lastHNorm[size_t(r)];
        const float v = m_precision == FactorPrecision::Float32
                            ? out[r - begin]
                            : dotHalfFloat(m_f16[size_t(c)].data() + size_t(r) * size_t(stride) + m_k, unitHq,
                                           size_t(m_d));
        out[r - begin] = n > 0 ? v / n : 0.0f;
    }
}

} // namespace traclens
