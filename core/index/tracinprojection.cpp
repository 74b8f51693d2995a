#include "index/tracinprojection.h"

#include "util/simdkernels.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace traclens {


const char *projectionKindName(ProjectionKind kind)
{
    return kind == ProjectionKind::Gaussian ? "gaussian" : kind == ProjectionKind::Achlioptas ? "achlioptas" : "pca";
}

TracInProjection::TracInProjection(int k, int d, std::vector<double> eta, int m, ProjectionKind kind, uint64_t seed)
    : m_k(k), m_d(d), m_eta(std::move(eta))
{
    const int full = int(m_eta.size()) * k * (d + 1);
    m_exact = m <= 0 || m >= full;
    m_out = m_exact ? full : m;
    if (m_exact)
        return;
    // One generator in a fixed order: the same seed gives the same matrix everywhere.
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<int> die(0, 5);
    const float scale = 1.0f / std::sqrt(float(m));
    const float sparse = std::sqrt(3.0f) * scale;
    const int mk = m * k;
    for (size_t c = 0; c < m_eta.size(); ++c) {
        const float root = float(std::sqrt(m_eta[c]));
        std::vector<float> w(size_t(d + 1) * size_t(mk));
        // Draw P[j][a][b] in (j, a, b) order, store at W[b][j·K + a].
        for (int j = 0; j < m; ++j)
            for (int a = 0; a < k; ++a)
                for (int b = 0; b <= d; ++b) {
                    float v;
                    if (kind == ProjectionKind::Gaussian) {
                        v = normal(rng) * scale;
                    } else {
                        const int r = die(rng);
                        v = r == 0 ? sparse : r == 1 ? -sparse : 0.0f;
                    }
                    w[size_t(b) * size_t(mk) + size_t(j) * size_t(k) + size_t(a)] = root * v;
                }
        m_w.push_back(std::move(w));
    }
}

TracInProjection::TracInProjection(int k, int d, std::vector<double> eta, int m, const std::vector<float> &rows)
    : m_k(k), m_d(d), m_eta(std::move(eta))
{
    const int full = int(m_eta.size()) * k * (d + 1);
    m_exact = m <= 0 || m >= full || rows.size() != size_t(m) * size_t(full);
    m_out = m_exact ? full : m;
    if (m_exact)
        return;
    const int mk = m * k;
    for (size_t c = 0; c < m_eta.size(); ++c) {
        // The rows act on √η·(e ⊗ h̃): W[b][j·K + a] = √η · P[j][c, a, b], as for a random P.
        const float root = float(std::sqrt(m_eta[c]));
        std::vector<float> w(static_cast<size_t>(d + 1) * static_cast<size_t>(mk));
        for (int j = 0; j < m; ++j)
            for (int a = 0; a < k; ++a)
                for (int b = 0; b <= d; ++b)
                    w[size_t(b) * size_t(mk) + size_t(j) * size_t(k) + size_t(a)] =
                        root * rows[size_t(j) * size_t(full) + c * size_t(k) * size_t(d + 1) + size_t(a) * size_t(d + 1)
                                    + size_t(b)];
        m_w.push_back(std::move(w));
    }
}

std::vector<float> TracInProjection::denseRow(int j, int c) const
{
    std::vector<float> row(size_t(m_k) * size_t(m_d + 1));
    const float root = float(std::sqrt(m_eta[size_t(c)]));
    const int mk = m_out * m_k;
    for (int a = 0; a < m_k; ++a)
        for (int b = 0; b <= m_d; ++b)
            row[size_t(a) * size_t(m_d + 1) + size_t(b)] =
                m_w[size_t(c)][size_t(b) * size_t(mk) + size_t(j) * size_t(m_k) + size_t(a)] / root;
    return row;
}

void TracInProjection::project(const float *const *e, const float *const *h, float *out) const
{
    projectBatch(1, e, h, out);
}

namespace {

// t[0..mk) = W[D] + Σ_b h[b] · W[b]: the inner loop is a contiguous axpy over m·K floats.
TL_CLONES void contractH(const float *w, int d, int mk, const float *h, float *t)
{
    const float *bias = w + size_t(d) * size_t(mk);
    std::copy(bias, bias + mk, t);
    for (int b = 0; b < d; ++b) {
        const float hb = h[b];
        if (hb == 0.0f) // ReLU embeddings are often zero: skip the row
            continue;
        const float *wr = w + size_t(b) * size_t(mk);
        for (int i = 0; i < mk; ++i)
            t[i] += hb * wr[i];
    }
}

TL_CLONES void contractE(const float *t, int m, int k, const float *e, float *out)
{
    for (int j = 0; j < m; ++j) {
        const float *tj = t + size_t(j) * size_t(k);
        float s = 0.0f;
        for (int a = 0; a < k; ++a)
            s += e[a] * tj[a];
        out[j] += s;
    }
}

} // namespace

void TracInProjection::projectBatch(int n, const float *const *eBatch, const float *const *hBatch, float *out) const
{
    const int checkpoints = int(m_eta.size());
    if (m_exact) {
        // The gradient vector itself: per checkpoint √η · e ⊗ [h, 1], row-major in (a, b).
        const int block = m_k * (m_d + 1);
        for (int i = 0; i < n; ++i) {
            float *o = out + size_t(i) * size_t(m_out);
            for (int c = 0; c < checkpoints; ++c) {
                const float root = float(std::sqrt(m_eta[size_t(c)]));
                const float *e = eBatch[c] + size_t(i) * size_t(m_k);
                const float *h = hBatch[c] + size_t(i) * size_t(m_d);
                float *oc = o + size_t(c) * size_t(block);
                for (int a = 0; a < m_k; ++a) {
                    const float ea = root * e[a];
                    for (int b = 0; b < m_d; ++b)
                        oc[a * (m_d + 1) + b] = ea * h[b];
                    oc[a * (m_d + 1) + m_d] = ea;
                }
            }
        }
        return;
    }
    const int mk = m_out * m_k;
    std::vector<float> t(static_cast<size_t>(mk));
    std::fill(out, out + size_t(n) * size_t(m_out), 0.0f);
    for (int i = 0; i < n; ++i) {
        float *o = out + size_t(i) * size_t(m_out);
        for (int c = 0; c < checkpoints; ++c) {
            contractH(m_w[size_t(c)].data(), m_d, mk, hBatch[c] + size_t(i) * size_t(m_d), t.data());
            contractE(t.data(), m_out, m_k, eBatch[c] + size_t(i) * size_t(m_k), o);
        }
    }
}

} // namespace traclens
