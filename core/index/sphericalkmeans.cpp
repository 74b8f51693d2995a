#include "index/sphericalkmeans.h"

#include "util/parallelrows.h"
#include "util/simdkernels.h"

#include <algorithm>
#include <cmath>
#include <atomic>
#include <limits>
#include <numeric>
#include <random>
#include <thread>

namespace traclens {

namespace {

using simd::dot;

constexpr int64_t kParallelFrom = 4096;

// k-means++ seeding with distance 1 − cos (D² weighting on that distance).
std::vector<float> seedCentroids(const float *data, int64_t n, int dim, int k, std::mt19937_64 &rng)
{
    std::vector<float> c(size_t(k) * size_t(dim));
    std::uniform_int_distribution<int64_t> pick(0, n - 1);
    int64_t first = pick(rng);
    std::copy(data + first * dim, data + (first + 1) * dim, c.begin());
    std::vector<double> dist(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        dist[size_t(i)] = std::max(0.0, 1.0 - double(dot(data + i * dim, c.data(), dim)));
    for (int j = 1; j < k; ++j) {
        double total = 0;
        for (double v : dist)
            total += v * v;
        int64_t chosen = pick(rng);
        if (total > 0) {
            double r = std::uniform_real_distribution<double>(0.0, total)(rng);
            for (int64_t i = 0; i < n; ++i) {
                r -= dist[size_t(i)] * dist[size_t(i)];
                if (r <= 0) {
                    chosen = i;
                    break;
                }
            }
        }
        float *cj = c.data() + size_t(j) * size_t(dim);
        std::copy(data + chosen * dim, data + (chosen + 1) * dim, cj);
        for (int64_t i = 0; i < n; ++i)
            dist[size_t(i)] = std::min(dist[size_t(i)], std::max(0.0, 1.0 - double(dot(data + i * dim, cj, dim))));
    }
    return c;
}

KMeansResult runOnce(const float *data, int64_t n, int dim, int k, const KMeansOptions &options, std::mt19937_64 &rng)
{
    KMeansResult r;
    r.k = k;
    r.centroids = seedCentroids(data, n, dim, k, rng);
    r.assignment.assign(size_t(n), -1);
    std::vector<float> best(static_cast<size_t>(n));
    for (int it = 0; it < options.maxIterations; ++it) {
        r.iterations = it + 1;
        std::atomic<int64_t> changed{0};
        parallelRows(n, options.threads, kParallelFrom, [&](int64_t b, int64_t e) {
            int64_t local = 0;
            for (int64_t i = b; i < e; ++i) {
                const float *x = data + i * dim;
                int arg = 0;
                float bestCos = -std::numeric_limits<float>::infinity();
                for (int j = 0; j < k; ++j) {
                    const float cs = dot(x, r.centroids.data() + size_t(j) * size_t(dim), dim);
                    if (cs > bestCos) {
                        bestCos = cs;
                        arg = j;
                    }
                }
                best[size_t(i)] = bestCos;
                if (r.assignment[size_t(i)] != arg) {
                    r.assignment[size_t(i)] = arg;
                    ++local;
                }
            }
            changed += local;
        });
        // New centroids: normalised sums.
        std::vector<double> sums(size_t(k) * size_t(dim), 0.0);
        std::vector<int64_t> counts(static_cast<size_t>(k), 0);
        for (int64_t i = 0; i < n; ++i) {
            const int a = r.assignment[size_t(i)];
            ++counts[size_t(a)];
            double *s = sums.data() + size_t(a) * size_t(dim);
            const float *x = data + i * dim;
            for (int j = 0; j < dim; ++j)
                s[j] += x[j];
        }
        for (int j = 0; j < k; ++j) {
            float *cj = r.centroids.data() + size_t(j) * size_t(dim);
            if (counts[size_t(j)] == 0) {
                // Re-seed an empty cluster with the point worst served by its centroid.
                const int64_t far = int64_t(std::min_element(best.begin(), best.end()) - best.begin());
                std::copy(data + far * dim, data + (far + 1) * dim, cj);
                best[size_t(far)] = 1.0f;
                changed += 1;
                continue;
            }
            for (int t = 0; t < dim; ++t)
                cj[t] = float(sums[size_t(j) * size_t(dim) + size_t(t)]);
            normaliseRow(cj, dim);
        }
        if (changed.load() == 0)
            break;
    }
    double obj = 0;
    for (int64_t i = 0; i < n; ++i)
        obj += dot(data + i * dim, r.centroids.data() + size_t(r.assignment[size_t(i)]) * size_t(dim), dim);
    r.objective = n > 0 ? obj / double(n) : 0.0;
    return r;
}

std::vector<int64_t> samplRows(int64_t n, int64_t sample, uint64_t seed)
{
    std::vector<int64_t> rows(static_cast<size_t>(n));
    std::iota(rows.begin(), rows.end(), int64_t(0));
    if (n > sample) {
        std::mt19937_64 rng(seed);
        for (int64_t i = 0; i < sample; ++i) {
            std::uniform_int_distribution<int64_t> pick(i, n - 1);
            std::swap(rows[size_t(i)], rows[size_t(pick(rng))]);
        }
        rows.resize(size_t(sample));
        std::sort(rows.begin(), rows.end());
    }
    return rows;
}

double silhouetteFromMatrix(const std::vector<float> &cosine, const std::vector<int> &labels, int k)
{
    const size_t m = labels.size();
    double total = 0;
    size_t counted = 0;
    std::vector<double> sum(static_cast<size_t>(k));
    std::vector<int64_t> count(static_cast<size_t>(k), 0);
    for (int l : labels)
        ++count[size_t(l)];
    int present = 0;
    for (auto c : count)
        present += c > 0;
    if (present < 2)
        return 0.0;
    for (size_t i = 0; i < m; ++i) {
        std::fill(sum.begin(), sum.end(), 0.0);
        for (size_t j = 0; j < m; ++j)
            if (j != i)
                sum[size_t(labels[j])] += 1.0 - double(cosine[i * m + j]);
        const int own = labels[i];
        if (count[size_t(own)] <= 1) { // a singleton's silhouette is 0 by convention
            ++counted;
            continue;
        }
        const double a = sum[size_t(own)] / double(count[size_t(own)] - 1);
        double b = std::numeric_limits<double>::infinity();
        for (int c = 0; c < k; ++c)
            if (c != own && count[size_t(c)] > 0)
                b = std::min(b, sum[size_t(c)] / double(count[size_t(c)]));
        const double denom = std::max(a, b);
        total += denom > 0 ? (b - a) / denom : 0.0;
        ++counted;
    }
    return counted ? total / double(counted) : 0.0;
}

std::vector<float> sampleCosines(const float *data, int dim, const std::vector<int64_t> &rows, int threads)
{
    const size_t m = rows.size();
    std::vector<float> cosine(m * m);
    parallelRows(int64_t(m), threads, kParallelFrom, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
            for (size_t j = 0; j < m; ++j)
                cosine[size_t(i) * m + j] = dot(data + rows[size_t(i)] * dim, data + rows[j] * dim, dim);
    });
    return cosine;
}

} // namespace

void normaliseRow(float *v, int dim)
{
    double s = 0;
    for (int j = 0; j < dim; ++j)
        s += double(v[j]) * v[j];
    if (s <= 0)
        return;
    const float inv = float(1.0 / std::sqrt(s));
    for (int j = 0; j < dim; ++j)
        v[j] *= inv;
}

KMeansResult sphericalKMeans(const float *data, int64_t n, int dim, int k, const KMeansOptions &options)
{
    k = int(std::max<int64_t>(1, std::min<int64_t>(k, n)));
    std::mt19937_64 rng(options.seed);
    KMeansResult best;
    for (int r = 0; r < std::max(1, options.restarts); ++r) {
        KMeansResult run = runOnce(data, n, dim, k, options, rng);
        if (r == 0 || run.objective > best.objective)
            best = std::move(run);
    }
    return best;
}

double silhouette(const float *data, int64_t n, int dim, const std::vector<int> &assignment, int64_t sample,
                  uint64_t seed)
{
    const std::vector<int64_t> rows = samplRows(n, sample, seed);
    std::vector<int> labels;
    int k = 0;
    for (int64_t r : rows) {
        labels.push_back(assignment[size_t(r)]);
        k = std::max(k, assignment[size_t(r)] + 1);
    }
    return silhouetteFromMatrix(sampleCosines(data, dim, rows, 1), labels, k);
}

KChoice chooseK(const float *data, int64_t n, int dim, int kMin, int kMax, const KMeansOptions &options,
                int64_t silhouetteSample, const CancelFlag *cancel)
{
    KChoice choice;
    if (n < 3)
        return choice;
    kMin = std::max(2, kMin);
    kMax = int(std::min<int64_t>(kMax, n - 1));
    // One sample and one cosine matrix for every k, so the scores are comparable.
    const std::vector<int64_t> rows = samplRows(n, silhouetteSample, options.seed + 7);
    const std::vector<float> cosine = sampleCosines(data, dim, rows, options.threads);
    choice.silhouette = -2.0;
    for (int k = kMin; k <= kMax; ++k) {
        if (isCancelled(cancel))
            return KChoice{};
        KMeansResult r = sphericalKMeans(data, n, dim, k, options);
        std::vector<int> labels;
        labels.reserve(rows.size());
        for (int64_t row : rows)
            labels.push_back(r.assignment[size_t(row)]);
        const double s = silhouetteFromMatrix(cosine, labels, k);
        choice.tried.emplace_back(k, s);
        if (s > choice.silhouette) {
            choice.silhouette = s;
            choice.best = std::move(r);
        }
    }
    return choice;
}

} // namespace traclens
