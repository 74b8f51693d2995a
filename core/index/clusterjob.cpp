#include "index/clusterjob.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <thread>

namespace traclens {

const char *clusterSpaceName(ClusterSpace space)
{
    return space == ClusterSpace::TracIn ? "tracin" : "embedding";
}

std::optional<ClusterSpace> parseClusterSpace(const std::string &name)
{
    if (name == "tracin")
        return ClusterSpace::TracIn;
    if (name == "embedding")
        return ClusterSpace::Embedding;
    return std::nullopt;
}

std::string ClusterOptions::fingerprint(uint64_t contentHash) const
{
    char buf[256];
    std::snprintf(buf, sizeof buf, "traclens-clusters/2 hash=%016llx space=%s k=%d range=%d-%d reps=%d sil=%lld sel=%lld "
                                   "proj=%s:%d seed=%llu",
                  (unsigned long long)contentHash, clusterSpaceName(space), k, kMin, kMax, representatives,
                  (long long)silhouetteSample, (long long)selectionSample, projectionKindName(projection),
                  space == ClusterSpace::TracIn ? projectionDim : 0, (unsigned long long)seed);
    return buf;
}

namespace {

int threadsFor(int requested)
{
    const int hw = int(std::max(1u, std::thread::hardware_concurrency()));
    return requested > 0 ? std::min(requested, hw) : hw;
}

} // namespace

Result<ClusterSetRow> clusterClass(const FactorStore &store, int classIdx, const ClusterOptions &options,
                                   const CancelFlag *cancel)
{
    ClusterSetRow set;
    set.modelId = store.modelId();
    set.space = clusterSpaceName(options.space);
    set.classIdx = classIdx;
    set.fingerprint = options.fingerprint(store.classHash(classIdx, options.space == ClusterSpace::TracIn));
    set.requestedK = options.k;
    set.representatives = options.representatives;

    std::vector<int64_t> rows;
    for (int64_t r = 0; r < store.trainRows(); ++r)
        if (store.label(r) == classIdx)
            rows.push_back(r);
    const int64_t n = int64_t(rows.size());
    if (n == 0)
        return set;

    // The vectors of the class, unit-normalised.
    const int k = store.numClasses(), d = store.embeddingDim(), c = store.numCheckpoints();
    std::optional<TracInProjection> projection;
    int dim = d;
    if (options.space == ClusterSpace::TracIn) {
        projection.emplace(k, d, store.etas(), options.projectionDim, options.projection, options.seed);
        dim = projection->outputDim();
    }
    std::vector<float> data(size_t(n) * size_t(dim));
    {
        std::vector<float> buf(size_t(c) * size_t(k + d));
        std::vector<const float *> e(static_cast<size_t>(c)), h(static_cast<size_t>(c));
        for (int64_t i = 0; i < n; ++i) {
            float *out = data.data() + size_t(i) * size_t(dim);
            if (projection) {
                for (int cp = 0; cp < c; ++cp) {
                    float *p = buf.data() + size_t(cp) * size_t(k + d);
                    store.factors(rows[size_t(i)], cp, p, p + k);
                    e[size_t(cp)] = p;
                    h[size_t(cp)] = p + k;
                }
                projection->project(e.data(), h.data(), out);
            } else {
                store.factors(rows[size_t(i)], c - 1, buf.data(), out);
            }
            normaliseRow(out, dim);
        }
    }

    KMeansOptions km;
    km.seed = options.seed;
    km.threads = threadsFor(options.threads);
    KMeansResult result;
    if (options.k > 0 || n < 4) {
        result = sphericalKMeans(data.data(), n, dim, std::max(1, std::min<int>(options.k > 0 ? options.k : 1, int(n))),
                                 km);
        set.silhouette = result.k > 1 ? silhouette(data.data(), n, dim, result.assignment, options.silhouetteSample,
                                                   options.seed + 7)
                                      : 0.0;
    } else if (n > options.selectionSample) {
        // Choose k on a random subset, then cluster every member with that k.
        std::vector<int64_t> pick(static_cast<size_t>(n));
        std::iota(pick.begin(), pick.end(), int64_t(0));
        std::mt19937_64 rng(options.seed + 3);
        std::shuffle(pick.begin(), pick.end(), rng);
        pick.resize(size_t(options.selectionSample));
        std::vector<float> subset(pick.size() * size_t(dim));
        for (size_t i = 0; i < pick.size(); ++i)
            std::copy(data.begin() + pick[i] * dim, data.begin() + (pick[i] + 1) * dim,
                      subset.begin() + int64_t(i) * dim);
        KChoice choice = chooseK(subset.data(), int64_t(pick.size()), dim, options.kMin, options.kMax, km,
                                 options.silhouetteSample, cancel);
        if (isCancelled(cancel))
            return Status::cancelled();
        result = sphericalKMeans(data.data(), n, dim, std::max(1, choice.best.k), km);
        set.silhouette = choice.silhouette;
    } else {
        KChoice choice = chooseK(data.data(), n, dim, options.kMin, options.kMax, km, options.silhouetteSample, cancel);
        if (isCancelled(cancel))
            return Status::cancelled();
        result = std::move(choice.best);
        set.silhouette = choice.silhouette;
    }
    if (isCancelled(cancel))
        return Status::cancelled();

    // Members by cosine to their centroid; clusters by size, largest first.
    std::vector<ClusterRow> clusters(static_cast<size_t>(result.k));
    for (int64_t i = 0; i < n; ++i) {
        const int a = result.assignment[size_t(i)];
        const float *x = data.data() + size_t(i) * size_t(dim);
        const float *cen = result.centroids.data() + size_t(a) * size_t(dim);
        double s = 0;
        for (int j = 0; j < dim; ++j)
            s += double(x[j]) * cen[j];
        clusters[size_t(a)].members.push_back({store.idOf(rows[size_t(i)]), s});
    }
    clusters.erase(std::remove_if(clusters.begin(), clusters.end(), [](const ClusterRow &r) { return r.members.empty(); }),
                   clusters.end());
    for (auto &cl : clusters)
        std::sort(cl.members.begin(), cl.members.end(), [](const ClusterMember &a, const ClusterMember &b) {
            return a.similarity != b.similarity ? a.similarity > b.similarity : a.exampleId < b.exampleId;
        });
    std::stable_sort(clusters.begin(), clusters.end(), [](const ClusterRow &a, const ClusterRow &b) {
        if (a.members.size() != b.members.size())
            return a.members.size() > b.members.size();
        return a.members.front().exampleId < b.members.front().exampleId;
    });
    for (size_t i = 0; i < clusters.size(); ++i)
        clusters[i].index = int(i);
    set.clusters = std::move(clusters);
    return set;
}

Result<ClusterSummary> computeClusters(ProjectDb &db, int64_t modelId, const ClusterOptions &options,
                                       const ProgressFn &progress, const CancelFlag *cancel, const FactorStore *store)
{
    const auto t0 = std::chrono::steady_clock::now();
    if (options.kMin < 2 || options.kMax < options.kMin || options.k < 0 || options.representatives < 1)
        return Status::invalid("clusters: k must be ≥ 2 (or 0 for automatic), kMin ≤ kMax, representatives ≥ 1");
    auto classes = db.classes();
    if (!classes.ok())
        return classes.status();
    std::vector<int> wanted = options.classes;
    if (wanted.empty())
        for (int i = 0; i < int(classes->size()); ++i)
            wanted.push_back(i);
    for (int c : wanted)
        if (c < 0 || c >= int(classes->size()))
            return Status::invalid("clusters: class " + std::to_string(c) + " is not a class of the project");

    std::unique_ptr<FactorStore> owned;
    if (!store) {
        auto rows = db.exampleCount();
        if (!rows.ok())
            return rows.status();
        // float16 factors are plenty for clustering and halve the memory.
        auto loaded = FactorStore::load(db, modelId, FactorPrecision::Float16, progress, cancel);
        if (!loaded.ok())
            return loaded.status();
        owned = std::move(loaded).value();
        store = owned.get();
    }
    if (store->modelId() != modelId)
        return Status::invalid("clusters: the factor store belongs to another model");

    ClusterSummary summary;
    int step = 0;
    for (int c : wanted) {
        if (isCancelled(cancel))
            return Status::cancelled();
        if (progress)
            progress({"clusters", std::string(clusterSpaceName(options.space)) + " space, class " + (*classes)[size_t(c)],
                      step, int64_t(wanted.size())});
        auto stored = db.clusterSet(modelId, clusterSpaceName(options.space), c);
        if (!stored.ok())
            return stored.status();
        // Each class's set is fresh while what it reads is unchanged: a relabel makes the
        // sets of the two classes involved stale, and no others.
        const std::string fp = options.fingerprint(store->classHash(c, options.space == ClusterSpace::TracIn));
        if (!options.force && stored->has_value() && (*stored)->fingerprint == fp) {
            summary.sets.push_back(std::move(**stored));
            ++summary.reused;
        } else {
            auto set = clusterClass(*store, c, options, cancel);
            if (!set.ok())
                return set.status();
            TL_RETURN_IF_ERROR(db.writeClusterSet(*set));
            summary.sets.push_back(std::move(set).value());
            ++summary.computed;
        }
        ++step;
    }
    if (progress)
        progress({"clusters", "done", step, int64_t(wanted.size())});
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return summary;
}

} // namespace traclens
