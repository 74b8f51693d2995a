#pragma once
// Clusters of the training examples of each class, by TracIn similarity or by
// embedding similarity, stored in the project (ProjectDb::writeClusterSet).
//
// Spaces:
//   tracin     the TracIn gradient vectors (TracInProjection, projected to
//              ClusterOptions::projectionDim), unit-normalised: the cosine of two of
//              them estimates normalised TracIn Σᵢ ηᵢ(eᵢ·e′ᵢ)(hᵢ·h′ᵢ+1)/√(self·self′);
//   embedding  h at the last checkpoint, unit-normalised (cosine).
// Algorithm: spherical k-means++ (SphericalKMeans); k chosen by the silhouette on a
// sample over [kMin, kMax] unless given. For large classes k is chosen on a random
// subset (selectionSample) and the final k-means runs on all members. Each cluster's
// members are ranked by cosine to its centroid; the first `representatives` are its
// medoids. Clusters are numbered by size, largest first.
//
// A stored set carries a fingerprint (its members, their factors — FactorStore::
// classHash() — and the parameters); computeClusters recomputes only classes whose
// stored set is missing or stale (or all with `force`).
//
// Thread safety: call from the thread that owns `db`; clusterClass() is const on its
// inputs. Failure: Status values; cancellable between classes and between values of k.

#include "store/factorstore.h"
#include "store/projectdb.h"
#include "index/sphericalkmeans.h"
#include "index/tracinprojection.h"

#include <optional>
#include <string>
#include <vector>

namespace traclens {

enum class ClusterSpace { TracIn, Embedding };

const char *clusterSpaceName(ClusterSpace space); // "tracin", "embedding"
std::optional<ClusterSpace> parseClusterSpace(const std::string &name);

struct ClusterOptions {
    ClusterSpace space = ClusterSpace::TracIn;
    int k = 0;                        // 0 = choose by silhouette in [kMin, kMax]
    int kMin = 2, kMax = 12;
    int representatives = 8;
    int64_t silhouetteSample = 2000;
    int64_t selectionSample = 20000;  // members used to choose k in large classes
    int projectionDim = 128;          // tracin space; 0 = exact gradient vectors
    ProjectionKind projection = ProjectionKind::Gaussian;
    uint64_t seed = 1;
    int threads = 0;                  // 0 = all cores
    bool force = false;               // recompute even when the stored set is fresh
    std::vector<int> classes;         // empty = every class

    std::string fingerprint(uint64_t contentHash) const;
};

// One class from a loaded store (no database).
Result<ClusterSetRow> clusterClass(const FactorStore &store, int classIdx, const ClusterOptions &options,
                                   const CancelFlag *cancel = nullptr);

struct ClusterSummary {
    std::vector<ClusterSetRow> sets; // requested classes, in class order
    int computed = 0, reused = 0;
    double seconds = 0.0;
};

// Loads the factors (or uses `store` when given, which must belong to modelId),
// computes missing or stale sets of the requested classes, stores and returns them.
Result<ClusterSummary> computeClusters(ProjectDb &db, int64_t modelId, const ClusterOptions &options,
                                       const ProgressFn &progress = {}, const CancelFlag *cancel = nullptr,
                                       const FactorStore *store = nullptr);

} // namespace traclens
