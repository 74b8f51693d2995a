#include "index/pcaprojection.h"

#include "index/tracinprojection.h"
#include "util/simdkernels.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace traclens {

namespace {


// m[i][j] += g[i]·g[j] for j ≥ i (upper triangle).
TL_CLONES void rankOne(float *m, const float *g, int f)
{
    for (int i = 0; i < f; ++i) {
        const float gi = g[i];
        if (gi == 0.0f)
            continue;
        float *row = m + size_t(i) * size_t(f);
        for (int j = i; j < f; ++j)
            row[j] += gi * g[j];
    }
}

// z = M q for symmetric M (full), q and z of f × m, column j at q + j·f.
TL_CLONES void multiply(const float *mat, const float *q, float *z, int f, int m)
{
    std::fill(z, z + size_t(f) * size_t(m), 0.0f);
    for (int i = 0; i < f; ++i) {
        const float *row = mat + size_t(i) * size_t(f);
        for (int j = 0; j < m; ++j) {
            const float *qj = q + size_t(j) * size_t(f);
            float s = 0.0f;
            for (int t = 0; t < f; ++t)
                s += row[t] * qj[t];
            z[size_t(j) * size_t(f) + size_t(i)] = s;
        }
    }
}

void orthonormalise(float *q, int f, int m)
{
    for (int j = 0; j < m; ++j) {
        float *qj = q + size_t(j) * size_t(f);
        for (int pass = 0; pass < 2; ++pass) // twice: Gram-Schmidt loses orthogonality once
            for (int i = 0; i < j; ++i) {
                const float *qi = q + size_t(i) * size_t(f);
                double dotv = 0;
                for (int t = 0; t < f; ++t)
                    dotv += double(qi[t]) * qj[t];
                for (int t = 0; t < f; ++t)
                    qj[t] -= float(dotv) * qi[t];
            }
        double n = 0;
        for (int t = 0; t < f; ++t)
            n += double(qj[t]) * qj[t];
        n = std::sqrt(n);
        for (int t = 0; t < f; ++t)
            qj[t] = n > 0 ? float(qj[t] / n) : 0.0f;
    }
}

} // namespace

std::vector<float> principalDirections(const FactorStore &store, int m, uint64_t seed, int64_t sample,
                                       const CancelFlag *cancel)
{
    const int k = store.numClasses(), d = store.embeddingDim(), c = store.numCheckpoints();
    const TracInProjection exact(k, d, store.etas(), 0, ProjectionKind::Gaussian, seed);
    const int f = exact.outputDim();
    const int64_t n = store.trainRows();
    if (m <= 0 || m >= f || n == 0)
        return {};
    std::vector<int64_t> rows(static_cast<size_t>(n));
    std::iota(rows.begin(), rows.end(), int64_t(0));
    std::mt19937_64 rng(seed + 11);
    std::shuffle(rows.begin(), rows.end(), rng);
    rows.resize(size_t(std::min<int64_t>(n, sample)));

    std::vector<float> mat(size_t(f) * size_t(f), 0.0f), g(static_cast<size_t>(f));
    std::vector<float> buf(size_t(c) * size_t(k + d));
    std::vector<const float *> e(static_cast<size_t>(c)), h(static_cast<size_t>(c));
    for (size_t i = 0; i < rows.size(); ++i) {
        if ((i & 1023) == 0 && isCancelled(cancel))
            return {};
        for (int cp = 0; cp < c; ++cp) {
            float *p = buf.data() + size_t(cp) * size_t(k + d);
            store.factors(rows[i], cp, p, p + k);
            e[size_t(cp)] = p;
            h[size_t(cp)] = p + k;
        }
        exact.project(e.data(), h.data(), g.data());
        double norm = 0;
        for (float v : g)
            norm += double(v) * v;
        if (norm <= 0)
            continue;
        const float inv = float(1.0 / std::sqrt(norm));
        for (float &v : g)
            v *= inv;
        rankOne(mat.data(), g.data(), f);
    }
    for (int i = 0; i < f; ++i) // mirror the upper triangle
        for (int j = 0; j < i; ++j)
            mat[size_t(i) * size_t(f) + size_t(j)] = mat[size_t(j) * size_t(f) + size_t(i)];

    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> q(size_t(f) * size_t(m)), z(size_t(f) * size_t(m));
    for (auto &v : q)
        v = normal(rng);
    orthonormalise(q.data(), f, m);
    for (int it = 0; it < 25; ++it) {
        if (isCancelled(cancel))
            return {};
        multiply(mat.data(), q.data(), z.data(), f, m);
        orthonormalise(z.data(), f, m);
        q.swap(z);
    }
    return q; // m rows of f: column j of Q is row j of P
}

} // namespace traclens
