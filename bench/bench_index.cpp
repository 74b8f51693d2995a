// Index benchmark on a project with complete factors (Fashion-MNIST, or a synthetic
// project from `traclens-cli synth`):
//   1. factor load and index build (or load, when the saved index is fresh) times;
//   2. memory: resident set after the index is ready (peak, VmHWM) — the serving
//      process; measured before the ground truth, which needs memory of its own;
//   3. query latency (all four lists, raw and normalised) for each --ef;
//   4. recall@10 of proponents, opponents, nearest and farthest against exact lists
//      computed in double precision straight from the project's float32 factors;
//   5. with --sweep N1,N2,...: exact vs index query latency on the first N training
//      rows (in memory), to place kExactSearchBelow.
// Usage: bench_index <project> [--backend cells|hnsw] [--rebuild] [--dim M] [--projection pca|gaussian|achlioptas]
//                    [--candidates 1000,5000] (cells: candidates per list; hnsw: ef)
//                    [--cells N] [--sample N] [--scan N] (cells) [--M M] [--efc N] [--buckets B] [--head H] (hnsw)
//                    [--queries N] [--threads N] [--precision auto|f32|f16] [--exact-recall]
//                    [--trace] (every query's time, in order)
//                    [--sweep 10000,30000] [--no-truth] [--bound]

#include "store/factors.h"
#include "influence/influenceindex.h"
#include "store/projectdb.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <time.h>

using namespace traclens;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point a, Clock::time_point b)
{
    return std::chrono::duration<double>(b - a).count();
}

// CPU time of the whole process, ms: on a machine shared with other work the wall time of
// a query depends on the neighbours' load, its CPU time much less.
long minorFaults()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_minflt + u.ru_majflt;
}

double cpuMs()
{
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) * 1e3 + double(t.tv_nsec) / 1e6;
}

// VmHWM / VmRSS from /proc/self/status, MiB.
double procMiB(const char *key)
{
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind(key, 0) == 0)
            return std::atof(line.c_str() + std::strlen(key)) / 1024.0;
    return 0;
}

int die(const Status &s)
{
    std::fprintf(stderr, "bench_index: %s\n", s.message().c_str());
    return 1;
}

std::vector<int> parseList(const char *text)
{
    std::vector<int> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ','))
        out.push_back(std::atoi(item.c_str()));
    return out;
}

double percentile(std::vector<double> v, double p)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[size_t(std::min(double(v.size() - 1), p * double(v.size() - 1) + 0.5))];
}

std::vector<int64_t> topIds(const std::vector<double> &scores, const std::vector<int64_t> &ids, int k, bool highest,
                            int64_t excludeId)
{
    std::vector<int64_t> idx;
    idx.reserve(scores.size());
    for (int64_t j = 0; j < int64_t(scores.size()); ++j)
        if (ids[size_t(j)] != excludeId)
            idx.push_back(j);
    auto better = [&](int64_t a, int64_t b) {
        if (scores[size_t(a)] != scores[size_t(b)])
            return highest ? scores[size_t(a)] > scores[size_t(b)] : scores[size_t(a)] < scores[size_t(b)];
        return a < b;
    };
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), better);
    std::vector<int64_t> out;
    for (int i = 0; i < k; ++i)
        out.push_back(ids[size_t(idx[size_t(i)])]);
    return out;
}

double overlap(const std::vector<Neighbour> &found, const std::vector<int64_t> &truth)
{
    std::set<int64_t> t(truth.begin(), truth.end());
    int hit = 0;
    for (const auto &n : found)
        hit += int(t.count(n.exampleId));
    return truth.empty() ? 1.0 : double(hit) / double(truth.size());
}

struct Truth {
    std::vector<int64_t> proponents, opponents, normProponents, normOpponents, nearest, farthest;
    // Mean exact score of each list's top 10, same order as above.
    double mean[6] = {0, 0, 0, 0, 0, 0};
};

double meanTop(const std::vector<double> &scores, const std::vector<int64_t> &ids, const std::vector<int64_t> &top)
{
    double s = 0;
    for (int64_t id : top)
        s += scores[size_t(std::lower_bound(ids.begin(), ids.end(), id) - ids.begin())];
    return top.empty() ? 0 : s / double(top.size());
}

double meanScore(const std::vector<Neighbour> &list)
{
    double s = 0;
    for (const auto &n : list)
        s += n.score;
    return list.empty() ? 0 : s / double(list.size());
}

struct QueryBuffersLite {
    std::vector<std::vector<float>> e, h;
    FactorView view;
    QueryBuffersLite(const FactorStore &s, int64_t row)
    {
        for (int c = 0; c < s.numCheckpoints(); ++c) {
            e.emplace_back(static_cast<size_t>(s.numClasses()));
            h.emplace_back(static_cast<size_t>(s.embeddingDim()));
        }
        for (int c = 0; c < s.numCheckpoints(); ++c) {
            s.factors(row, c, e[size_t(c)].data(), h[size_t(c)].data());
            view.e.push_back(e[size_t(c)].data());
            view.h.push_back(h[size_t(c)].data());
        }
        view.self = s.selfInfluence(row);
    }
};

// Exact lists for a batch of queries, in double precision, streaming every checkpoint's
// float32 factors from the project (nothing of the index or its store is used).
Status exactTruth(ProjectDb &db, int64_t modelId, const std::vector<int64_t> &trainIds,
                  const std::vector<int64_t> &queries, int k, std::vector<Truth> *out)
{
    auto cps = db.checkpoints(modelId);
    if (!cps.ok())
        return cps.status();
    const size_t n = trainIds.size(), b = queries.size();
    std::vector<std::vector<FactorRow>> q(b);
    for (size_t i = 0; i < b; ++i)
        for (const auto &cp : *cps) {
            auto f = db.factor(cp.id, queries[i]);
            if (!f.ok() || !f->has_value())
                return Status::notFound("query factors");
            q[i].push_back(**f);
        }
    std::vector<double> raw(b * n, 0.0), emb(b * n, 0.0), self(n, 0.0), selfQ(b, 0.0);
    for (size_t c = 0; c < cps->size(); ++c) {
        const double eta = (*cps)[c].learningRate;
        const bool last = c + 1 == cps->size();
        for (size_t i = 0; i < b; ++i) {
            const FactorRow &f = q[i][c];
            selfQ[i] += eta * dot(f.error.data(), f.error.data(), int(f.error.size()))
                        * (dot(f.embedding.data(), f.embedding.data(), int(f.embedding.size())) + 1.0);
        }
        TL_RETURN_IF_ERROR(db.forEachFactor((*cps)[c].id, [&](const FactorRow &f) {
            auto it = std::lower_bound(trainIds.begin(), trainIds.end(), f.exampleId);
            if (it == trainIds.end() || *it != f.exampleId)
                return;
            const size_t r = size_t(it - trainIds.begin());
            const int kk = int(f.error.size()), d = int(f.embedding.size());
            const double h2 = dot(f.embedding.data(), f.embedding.data(), d);
            self[r] += eta * dot(f.error.data(), f.error.data(), kk) * (h2 + 1.0);
            for (size_t i = 0; i < b; ++i) {
                const FactorRow &g = q[i][c];
                raw[i * n + r] += eta * dot(f.error.data(), g.error.data(), kk)
                                  * (dot(f.embedding.data(), g.embedding.data(), d) + 1.0);
                if (last) {
                    const double gh = dot(g.embedding.data(), g.embedding.data(), d);
                    const double denom = std::sqrt(h2 * gh);
                    emb[i * n + r] = denom > 0 ? dot(f.embedding.data(), g.embedding.data(), d) / denom : 0.0;
                }
            }
        }));
    }
    for (size_t i = 0; i < b; ++i) {
        Truth t;
        std::vector<double> s(raw.begin() + long(i * n), raw.begin() + long((i + 1) * n));
        t.proponents = topIds(s, trainIds, k, true, queries[i]);
        t.opponents = topIds(s, trainIds, k, false, queries[i]);
        t.mean[0] = meanTop(s, trainIds, t.proponents);
        t.mean[1] = meanTop(s, trainIds, t.opponents);
        for (size_t r = 0; r < n; ++r) {
            const double denom = std::sqrt(self[r] * selfQ[i]);
            s[r] = denom > 0 ? s[r] / denom : 0.0;
        }
        t.normProponents = topIds(s, trainIds, k, true, queries[i]);
        t.normOpponents = topIds(s, trainIds, k, false, queries[i]);
        t.mean[2] = meanTop(s, trainIds, t.normProponents);
        t.mean[3] = meanTop(s, trainIds, t.normOpponents);
        std::vector<double> e(emb.begin() + long(i * n), emb.begin() + long((i + 1) * n));
        t.nearest = topIds(e, trainIds, k, true, queries[i]);
        t.farthest = topIds(e, trainIds, k, false, queries[i]);
        t.mean[4] = meanTop(e, trainIds, t.nearest);
        t.mean[5] = meanTop(e, trainIds, t.farthest);
        out->push_back(std::move(t));
    }
    return Status::ok();
}

// The projection alone: ranks every training row by the projected vectors (brute force,
// no graph) and reports which share of the exact top 10 is among the first `count`
// (the best any search with `count` candidates can do), and the error of projected
// dot products relative to ‖x‖‖q‖ (cosine units) over all (query, row) pairs.
void projectionBound(const InfluenceIndex &index, const std::vector<int64_t> &qids, const std::vector<Truth> &truth,
                     const std::vector<int> &counts)
{
    const FactorStore &s = index.store();
    const int m = index.projection().outputDim();
    const int64_t n = s.trainRows();
    std::vector<float> all(size_t(n) * size_t(m));
    std::vector<float> norms(static_cast<size_t>(n));
    for (int64_t r = 0; r < n; ++r) {
        index.gradientVector(r, all.data() + size_t(r) * size_t(m));
        norms[size_t(r)] = float(std::sqrt(s.selfInfluence(r)));
    }
    std::vector<double> bound(counts.size(), 0.0), boundOpp(counts.size(), 0.0);
    double err = 0, errN = 0;
    std::vector<float> q(static_cast<size_t>(m));
    for (size_t i = 0; i < qids.size(); ++i) {
        const int64_t row = s.rowOf(qids[i]);
        index.gradientVector(row, q.data());
        const double qn = std::sqrt(s.selfInfluence(row));
        const double qp = std::sqrt(dot(q.data(), q.data(), m));
        std::vector<double> score(static_cast<size_t>(n));
        for (int64_t r = 0; r < n; ++r) {
            const float *x = all.data() + size_t(r) * size_t(m);
            const double xp = std::sqrt(dot(x, x, m));
            // As the index ranks: projected direction, exact norm.
            score[size_t(r)] = xp > 0 && qp > 0 ? norms[size_t(r)] * dot(x, q.data(), m) / (xp * qp) : 0.0;
        }
        // Error of the projected cosine against the exact one, on a sample of rows.
        QueryBuffersLite qb(s, row);
        for (int64_t r = 0; r < n; r += std::max<int64_t>(1, n / 2000)) {
            const double exact = s.tracin(qb.view, r) / (norms[size_t(r)] * qn);
            const float *x = all.data() + size_t(r) * size_t(m);
            const double xp = std::sqrt(dot(x, x, m));
            if (xp > 0 && qp > 0 && norms[size_t(r)] > 0) {
                err += std::abs(dot(x, q.data(), m) / (xp * qp) - exact);
                errN += 1;
            }
        }
        std::vector<int64_t> order(static_cast<size_t>(n));
        for (int64_t r = 0; r < n; ++r)
            order[size_t(r)] = r;
        std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return score[size_t(a)] > score[size_t(b)]; });
        for (size_t c = 0; c < counts.size(); ++c) {
            std::set<int64_t> top, bottom;
            for (int j = 0; j < counts[c] + 1 && j < n; ++j) {
                top.insert(s.idOf(order[size_t(j)]));
                bottom.insert(s.idOf(order[size_t(n - 1 - j)]));
            }
            int hit = 0, hitOpp = 0;
            for (int64_t id : truth[i].proponents)
                hit += int(top.count(id));
            for (int64_t id : truth[i].opponents)
                hitOpp += int(bottom.count(id));
            bound[c] += hit / 10.0;
            boundOpp[c] += hitOpp / 10.0;
        }
    }
    std::printf("projection alone (brute force over %d-dim vectors, no graph): mean |cos error| %.4f\n", m,
                errN > 0 ? err / errN : 0.0);
    for (size_t c = 0; c < counts.size(); ++c)
        std::printf("  candidates %-5d exact top-10 among them: proponents %.4f, opponents %.4f (raw)\n", counts[c],
                    bound[c] / double(qids.size()), boundOpp[c] / double(qids.size()));
}

// Exact vs index latency on the first n training rows of `store`, in memory.
void sweep(const FactorStore &store, const std::vector<int> &sizes, const IndexOptions &base, int queries)
{
    const int c = store.numCheckpoints(), k = store.numClasses(), d = store.embeddingDim();
    std::printf("\nthreshold sweep (first N training rows, %d queries each, raw and normalised, %s, %d candidates, "
                "medians in ms):\n",
                queries, indexBackendName(base.params.backend),
                base.params.backend == IndexBackend::Hnsw ? base.params.efSearch : base.params.candidates);
    std::printf("  %9s  %12s  %12s  %12s  %12s  %10s\n", "N", "exact wall", "index wall", "exact CPU", "index CPU",
                "build s");
    for (int n : sizes) {
        if (n > store.trainRows())
            break;
        const int64_t rows = n + std::min<int64_t>(queries, store.rows() - store.trainRows());
        std::vector<int64_t> ids;
        std::vector<int> labels;
        std::vector<std::vector<float>> e(static_cast<size_t>(c)), h(static_cast<size_t>(c));
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t src = r < n ? r : store.trainRows() + (r - n);
            ids.push_back(store.idOf(src));
            labels.push_back(store.label(src));
            for (int cp = 0; cp < c; ++cp) {
                e[size_t(cp)].resize(size_t(r + 1) * size_t(k));
                h[size_t(cp)].resize(size_t(r + 1) * size_t(d));
                store.factors(src, cp, e[size_t(cp)].data() + r * k, h[size_t(cp)].data() + r * d);
            }
        }
        auto sub = FactorStore::fromArrays(ids, n, labels, k, d, store.etas(), e, h, FactorPrecision::Float32);
        IndexOptions opt = base;
        opt.exactBelow = 1;
        auto index = InfluenceIndex::fromStore(std::move(sub), opt);
        if (!index.ok())
            return;
        std::vector<double> exactMs, indexMs, exactCpu, indexCpu;
        for (int64_t r = n; r < rows; ++r) {
            const int64_t id = (*index)->store().idOf(r);
            // Raw and normalised queries alternate: the index's cost differs between them.
            const Scoring scoring = (r - n) % 2 ? Scoring::Normalised : Scoring::Raw;
            auto t0 = Clock::now();
            const double c0 = cpuMs();
            auto a = (*index)->query(id, 10, scoring, SearchMode::Exact);
            auto t1 = Clock::now();
            const double c1 = cpuMs();
            auto b = (*index)->query(id, 10, scoring, SearchMode::Index);
            auto t2 = Clock::now();
            const double c2 = cpuMs();
            if (a.ok() && b.ok()) {
                exactMs.push_back(1000 * seconds(t0, t1));
                indexMs.push_back(1000 * seconds(t1, t2));
                exactCpu.push_back(c1 - c0);
                indexCpu.push_back(c2 - c1);
            }
        }
        std::printf("  %9d  %12.2f  %12.2f  %12.2f  %12.2f  %10.1f\n", n, percentile(exactMs, 0.5),
                    percentile(indexMs, 0.5), percentile(exactCpu, 0.5), percentile(indexCpu, 0.5),
                    (*index)->info().buildSeconds);
        std::fflush(stdout);
    }
}

} // namespace

int main(int argc, char **argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: bench_index <project> [--backend cells|hnsw] [--rebuild] [--dim M] [--projection KIND] "
                             "[--candidates 1000,5000] [--cells N] [--sample N] [--scan N] [--M M] [--efc N] "
                             "[--buckets B] [--head H] [--queries N] [--threads N] [--precision auto|f32|f16] "
                             "[--sweep N1,N2] [--no-truth] [--bound] [--exact-recall]\n");
        return 2;
    }
    const std::string project = argv[1];
    IndexOptions opt;
    std::vector<int> efs;
    std::vector<int> sweepSizes;
    int queries = 100;
    bool truth = true, bound = false, exactRecall = false, trace = false;
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : "";
        if (a == "--rebuild")
            opt.forceRebuild = true;
        else if (a == "--trace")
            trace = true;
        else if (a == "--exact-recall")
            exactRecall = true;
        else if (a == "--bound")
            bound = true;
        else if (a == "--no-truth")
            truth = false;
        else if (a == "--dim" && ++i)
            opt.params.projectionDim = std::atoi(v);
        else if (a == "--projection" && ++i)
            opt.params.projection = !std::strcmp(v, "gaussian")     ? ProjectionKind::Gaussian
                                    : !std::strcmp(v, "achlioptas") ? ProjectionKind::Achlioptas
                                                                    : ProjectionKind::Pca;
        else if (a == "--buckets" && ++i)
            opt.params.normBuckets = std::atoi(v);
        else if (a == "--head" && ++i)
            opt.params.exactHead = std::atoll(v);
        else if (a == "--backend" && ++i)
            opt.params.backend = !std::strcmp(v, "hnsw") ? IndexBackend::Hnsw : IndexBackend::Cells;
        else if (a == "--cells" && ++i)
            opt.params.cells = std::atoi(v);
        else if (a == "--sample" && ++i)
            opt.params.cellSample = std::atoll(v);
        else if (a == "--scan" && ++i)
            opt.params.scanLimit = std::atoll(v);
        else if (a == "--M" && ++i)
            opt.params.M = std::atoi(v);
        else if (a == "--efc" && ++i)
            opt.params.efConstruction = std::atoi(v);
        else if ((a == "--ef" || a == "--candidates") && ++i)
            efs = parseList(v);
        else if (a == "--queries" && ++i)
            queries = std::atoi(v);
        else if (a == "--threads" && ++i)
            opt.threads = std::atoi(v);
        else if (a == "--sweep" && ++i)
            sweepSizes = parseList(v);
        else if (a == "--precision" && ++i)
            opt.params.precision = !std::strcmp(v, "f32")   ? IndexParams::Precision::Float32
                                   : !std::strcmp(v, "f16") ? IndexParams::Precision::Float16
                                                            : IndexParams::Precision::Auto;
    }
    opt.exactBelow = 1; // always through the index here
    const bool hnsw = opt.params.backend == IndexBackend::Hnsw;
    if (efs.empty())
        efs = {hnsw ? opt.params.efSearch : opt.params.candidates};
    (hnsw ? opt.params.efSearch : opt.params.candidates) = efs.front();

    auto db = ProjectDb::open(project);
    if (!db.ok())
        return die(db.status());
    auto active = (*db)->activeModel();
    if (!active.ok() || !active->has_value())
        return die(Status::notFound(project + ": no model"));
    const int64_t modelId = **active;
    std::printf("project: %s\n", project.c_str());
    {
        std::ifstream load("/proc/loadavg");
        std::string l1;
        load >> l1;
        std::printf("load average at start: %s (2 cores shared with other work: wall times include waiting)\n",
                    l1.c_str());
    }
    std::printf("machine: %u threads; params: %s; %s: see below\n", std::thread::hardware_concurrency(),
                opt.params.describe().c_str(), hnsw ? "ef" : "candidates per list");

    const double rss0 = procMiB("VmRSS:");
    const auto t0 = Clock::now();
    auto index = InfluenceIndex::open(**db, modelId, opt);
    if (!index.ok())
        return die(index.status());
    const IndexInfo &info = (*index)->info();
    const FactorStore &store = (*index)->store();
    std::printf("examples: %lld train, %lld test; K=%d D=%d checkpoints=%d; TracIn vectors %d -> %d dims\n",
                (long long)store.trainRows(), (long long)(store.rows() - store.trainRows()), store.numClasses(),
                store.embeddingDim(), store.numCheckpoints(), (*index)->projection().inputDim(),
                info.projectionDim);
    std::printf("factors:  %.1f s to load, %.0f MiB (%s)\n", info.loadSeconds, double(info.factorBytes) / 1048576.0,
                store.precision() == FactorPrecision::Float16 ? "float16" : "float32");
    if (info.built)
        std::printf("index:    built in %.1f s (%s), %.0f MiB\n", info.buildSeconds,
                    hnsw ? "hnswlib graphs: norm ranges + embeddings" : "cell indexes: TracIn + embeddings",
                    double(info.indexBytes) / 1048576.0);
    else
        std::printf("index:    loaded in %.1f s (fresh fingerprint), %.0f MiB\n", info.indexLoadSeconds,
                    double(info.indexBytes) / 1048576.0);
    std::printf("open total: %.1f s (of which %.2f s reading the factors once before the first query)\n", seconds(t0, Clock::now()), info.warmSeconds);

    // Queries: random test examples (outside the training split, like a user's query).
    std::mt19937 rng(3);
    std::vector<int64_t> qids;
    const int64_t nTest = store.rows() - store.trainRows();
    for (int i = 0; i < queries && nTest > 0; ++i)
        qids.push_back(store.idOf(store.trainRows() + int64_t(rng() % uint64_t(nTest))));

    struct Run {
        int ef;
        std::vector<QueryResult> raw, norm;
        std::vector<double> ms, cpu;
    };
    std::vector<Run> runs;
    for (int ef : efs) {
        (*index)->setCandidates(ef);
        Run run{ef, {}, {}, {}, {}};
        for (int64_t id : qids) {
            for (Scoring s : {Scoring::Raw, Scoring::Normalised}) {
                const auto q0 = Clock::now();
                const double c0 = cpuMs();
                const long f0 = minorFaults();
                auto r = (*index)->query(id, 10, s, SearchMode::Index);
                run.cpu.push_back(cpuMs() - c0);
                run.ms.push_back(1000.0 * seconds(q0, Clock::now()));
                if (trace)
                    std::printf("  query %lld %s: %.2f ms CPU, %.2f ms wall, %ld page faults\n", (long long)id,
                                s == Scoring::Raw ? "raw" : "normalised", run.cpu.back(), run.ms.back(),
                                minorFaults() - f0);
                if (!r.ok())
                    return die(r.status());
                (s == Scoring::Raw ? run.raw : run.norm).push_back(std::move(r).value());
            }
        }
        std::printf("query %s=%-4d (4 lists, k=10, candidates rescored exactly): wall median %.2f ms, p95 %.2f ms; "
                    "CPU median %.2f ms, p95 %.2f ms\n",
                    hnsw ? "ef" : "candidates", ef, percentile(run.ms, 0.5), percentile(run.ms, 0.95),
                    percentile(run.cpu, 0.5), percentile(run.cpu, 0.95));
        runs.push_back(std::move(run));
    }
    {
        std::vector<double> ms, cpu;
        for (size_t i = 0; i < std::min<size_t>(qids.size(), 20); ++i) {
            const auto q0 = Clock::now();
            const double c0 = cpuMs();
            auto r = (*index)->query(qids[i], 10, Scoring::Raw, SearchMode::Exact);
            cpu.push_back(cpuMs() - c0);
            ms.push_back(1000.0 * seconds(q0, Clock::now()));
        }
        std::printf("exact query (brute force over the factor store, 2 threads, for comparison): wall median %.2f ms, "
                    "CPU median %.2f ms\n",
                    percentile(ms, 0.5), percentile(cpu, 0.5));
    }
    std::printf("memory:   peak RSS %.0f MiB (before opening %.0f MiB), RSS now %.0f MiB\n", procMiB("VmHWM:"), rss0,
                procMiB("VmRSS:"));
    std::fflush(stdout);

    if (truth && !qids.empty()) {
        const auto g0 = Clock::now();
        std::vector<int64_t> trainIds(store.ids().begin(), store.ids().begin() + store.trainRows());
        std::vector<Truth> exact;
        const size_t batch = store.trainRows() > 200000 ? 25 : 100;
        for (size_t b = 0; b < qids.size(); b += batch) {
            std::vector<int64_t> part(qids.begin() + long(b), qids.begin() + long(std::min(qids.size(), b + batch)));
            Status s = exactTruth(**db, modelId, trainIds, part, 10, &exact);
            if (!s.isOk())
                return die(s);
        }
        std::printf("ground truth: exact lists in double precision from the float32 factors (%.1f s)\n",
                    seconds(g0, Clock::now()));
        std::printf("  %-5s %11s %11s %11s %11s %9s %9s %9s\n", hnsw ? "ef" : "cand.", "proponents", "opponents", "norm prop", "norm opp",
                    "nearest", "farthest", "min");
        if (exactRecall) {
            // Exact search over the factor store: what the store's precision alone costs.
            Run run{0, {}, {}, {}, {}};
            for (int64_t id : qids)
                for (Scoring sc : {Scoring::Raw, Scoring::Normalised}) {
                    auto r = (*index)->query(id, 10, sc, SearchMode::Exact);
                    if (!r.ok())
                        return die(r.status());
                    (sc == Scoring::Raw ? run.raw : run.norm).push_back(std::move(r).value());
                }
            runs.insert(runs.begin(), std::move(run));
        }
        for (const Run &run : runs) {
            double pr = 0, op = 0, np = 0, no = 0, ne = 0, fa = 0;
            for (size_t i = 0; i < qids.size(); ++i) {
                pr += overlap(run.raw[i].proponents, exact[i].proponents);
                op += overlap(run.raw[i].opponents, exact[i].opponents);
                np += overlap(run.norm[i].proponents, exact[i].normProponents);
                no += overlap(run.norm[i].opponents, exact[i].normOpponents);
                ne += overlap(run.raw[i].nearest, exact[i].nearest);
                fa += overlap(run.raw[i].farthest, exact[i].farthest);
            }
            const double q = double(qids.size());
            const double lowest = std::min({pr, op, np, no, ne, fa}) / q;
            // How far the shown lists' scores are from the exact ones: mean over queries
            // of (mean exact top-10 score − mean shown score), in the list's own units
            // (raw TracIn, or cosine); 0 when the lists are equal.
            double gap[6] = {0, 0, 0, 0, 0, 0};
            for (size_t i = 0; i < qids.size(); ++i) {
                const double shown[6] = {meanScore(run.raw[i].proponents), meanScore(run.raw[i].opponents),
                                         meanScore(run.norm[i].proponents), meanScore(run.norm[i].opponents),
                                         meanScore(run.raw[i].nearest), meanScore(run.raw[i].farthest)};
                for (int l = 0; l < 6; ++l)
                    gap[l] += std::abs(exact[i].mean[l] - shown[l]) / q;
            }
            std::printf("  %-5s %11.4f %11.4f %11.4f %11.4f %9.4f %9.4f %9.4f   recall@10\n",
                        run.ef ? std::to_string(run.ef).c_str() : "exact", pr / q, op / q, np / q, no / q, ne / q,
                        fa / q, lowest);
            std::printf("  %-5s %11.2g %11.2g %11.2g %11.2g %9.2g %9.2g %9s   |mean score gap| to exact\n", "",
                        gap[0], gap[1], gap[2], gap[3], gap[4], gap[5], "");
        }
        if (bound)
            projectionBound(**index, qids, exact, efs);
    }
    if (!sweepSizes.empty())
        sweep(store, sweepSizes, opt, std::min(queries, 50));
    return 0;
}
