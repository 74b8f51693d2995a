#pragma once
// Spherical k-means over unit vectors (distance 1 − cosine) with k-means++ seeding, and
// the silhouette to choose k.
//
//   - seeding: k-means++ with the distance 1 − cos (seeded, reproducible);
//   - iterations: assign each point to the centroid of highest cosine, then set each
//     centroid to the normalised mean of its points (Dhillon & Modha 2001), until no
//     assignment changes or maxIterations; an emptied cluster is re-seeded with the
//     point farthest from its centroid;
//   - the best of `restarts` runs by the objective Σ cos(x, centroid);
//   - silhouette: mean over a sample of (b − a) / max(a, b) with distances 1 − cos
//     inside the sample (Rousseeuw 1987); chooseK() keeps the k of highest silhouette.
//
// Data: n rows of dim floats, row-major, each of unit length (zero rows are allowed and
// join any cluster). Thread safety: pure functions; the assignment step uses up to
// `threads` threads.

#include "util/progress.h"

#include <cstdint>
#include <vector>

namespace traclens {

struct KMeansResult {
    int k = 0;
    std::vector<int> assignment;   // n cluster indices
    std::vector<float> centroids;  // k × dim, unit length
    double objective = 0.0;        // mean cosine of the points to their centroid
    int iterations = 0;
};

struct KMeansOptions {
    int maxIterations = 100;
    int restarts = 2;
    uint64_t seed = 1;
    int threads = 1;
};

// Scales v (dim floats) to unit length; a zero row stays zero.
void normaliseRow(float *v, int dim);

KMeansResult sphericalKMeans(const float *data, int64_t n, int dim, int k, const KMeansOptions &options = {});

// Mean silhouette of `assignment` on up to `sample` rows (all when n ≤ sample), picked
// with `seed`. Returns 0 when fewer than two clusters are present.
double silhouette(const float *data, int64_t n, int dim, const std::vector<int> &assignment, int64_t sample,
                  uint64_t seed);

struct KChoice {
    KMeansResult best;
    double silhouette = 0.0;
    std::vector<std::pair<int, double>> tried; // (k, silhouette)
};

// Runs k-means for every k in [kMin, kMax] (capped at n − 1) and keeps the highest
// silhouette. Returns a result with k = 0 when cancelled or n < 3.
KChoice chooseK(const float *data, int64_t n, int dim, int kMin, int kMax, const KMeansOptions &options,
                int64_t silhouetteSample, const CancelFlag *cancel = nullptr);

} // namespace traclens
