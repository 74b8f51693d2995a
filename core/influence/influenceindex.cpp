#include "influence/influenceindex.h"

#include "index/cellindex.h"
#include "store/factors.h"
#include "util/parallelrows.h"
#include "index/pcaprojection.h"
#include "index/vectorindex.h"

#include <QByteArray>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <shared_mutex>
#include <thread>

namespace fs = std::filesystem;

namespace traclens {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

int threadCount(int requested)
{
    const int hw = int(std::max(1u, std::thread::hardware_concurrency()));
    return requested > 0 ? std::min(requested, hw) : hw;
}

constexpr int64_t kParallelFrom = 20000;

// Rows beyond k that float scoring passes on to the double-precision rescoring: they
// absorb float rounding at the boundary of the list.
constexpr int kRescoreMargin = 24;

// Factors of one query decoded into owned buffers, with the view the store reads.
struct QueryBuffers {
    std::vector<std::vector<float>> e, h;
    FactorView view;
    void fromRow(const FactorStore &s, int64_t row)
    {
        const int c = s.numCheckpoints();
        e.assign(size_t(c), std::vector<float>(size_t(s.numClasses())));
        h.assign(size_t(c), std::vector<float>(size_t(s.embeddingDim())));
        view.e.clear();
        view.h.clear();
        for (int i = 0; i < c; ++i) {
            s.factors(row, i, e[size_t(i)].data(), h[size_t(i)].data());
            view.e.push_back(e[size_t(i)].data());
            view.h.push_back(h[size_t(i)].data());
        }
        view.self = s.selfInfluence(row);
    }
};

void normalise(std::vector<float> *v)
{
    double n = 0;
    for (float x : *v)
        n += double(x) * x;
    n = std::sqrt(n);
    if (n > 0)
        for (float &x : *v)
            x = float(x / n);
}

// Sorts candidates by score (highest first when `highest`), ties by lower example id,
// and keeps k.
std::vector<Neighbour> best(std::vector<Neighbour> all, int k, bool highest)
{
    auto better = [&](const Neighbour &a, const Neighbour &b) {
        if (a.score != b.score)
            return highest ? a.score > b.score : a.score < b.score;
        return a.exampleId < b.exampleId;
    };
    const size_t kk = std::min(all.size(), size_t(std::max(0, k)));
    std::partial_sort(all.begin(), all.begin() + kk, all.end(), better);
    all.resize(kk);
    return all;
}

// Rows of the `count` best float scores (highest when `highest`), skipping `exclude`.
std::vector<int64_t> topRows(const std::vector<float> &scores, int count, bool highest, int64_t exclude)
{
    std::vector<int64_t> idx;
    idx.reserve(scores.size());
    for (int64_t j = 0; j < int64_t(scores.size()); ++j)
        if (j != exclude)
            idx.push_back(j);
    const size_t kk = std::min(idx.size(), size_t(std::max(0, count)));
    auto better = [&](int64_t a, int64_t b) {
        if (scores[size_t(a)] != scores[size_t(b)])
            return highest ? scores[size_t(a)] > scores[size_t(b)] : scores[size_t(a)] < scores[size_t(b)];
        return a < b;
    };
    std::nth_element(idx.begin(), idx.begin() + kk, idx.end(), better);
    idx.resize(kk);
    return idx;
}

const char *const kTracInCells = "tracin.cells";
const char *const kEmbeddingCells = "embedding.cells";
const char *const kEmbeddingGraph = "embedding.hnsw";
const char *const kMetaFile = "index.json";
const char *const kProjectionFile = "projection.bin";
const char *const kLabelsFile = "labels.bin";

std::string bucketFile(size_t b)
{
    return "tracin-" + std::to_string(b) + ".hnsw";
}

void normaliseInPlace(float *v, int dim)
{
    const double s = dot(v, v, dim);
    const float inv = s > 0 ? float(1.0 / std::sqrt(s)) : 0.0f;
    for (int j = 0; j < dim; ++j)
        v[j] *= inv;
}

} // namespace

const char *indexBackendName(IndexBackend b)
{
    return b == IndexBackend::Hnsw ? "hnsw" : "cells";
}

FactorPrecision IndexParams::resolvedPrecision() const
{
    return precision == Precision::Float16 ? FactorPrecision::Float16 : FactorPrecision::Float32;
}

IndexOptions IndexOptions::serving()
{
    IndexOptions o;
    o.buildIfStale = false;
    return o;
}

int IndexParams::resolvedProjectionDim() const
{
    if (projectionDim >= 0)
        return projectionDim;
    return backend == IndexBackend::Hnsw ? 64 : 128;
}

std::string IndexParams::describe() const
{
    char buf[200];
    if (backend == IndexBackend::Hnsw)
        std::snprintf(buf, sizeof buf, "backend=hnsw proj=%s:%d seed=%llu M=%d efc=%d buckets=%d head=%lld",
                      projectionKindName(projection), resolvedProjectionDim(), (unsigned long long)seed, M,
                      efConstruction, normBuckets, (long long)exactHead);
    else
        std::snprintf(buf, sizeof buf, "proj=%s:%d seed=%llu cells=%d sample=%lld", projectionKindName(projection),
                      resolvedProjectionDim(), (unsigned long long)seed, cells, (long long)cellSample);
    return buf;
}

struct InfluenceIndex::Impl {
    IndexOptions options;
    IndexInfo info;
    std::unique_ptr<FactorStore> store;
    std::unique_ptr<TracInProjection> projection;
    // Cells backend. TracIn: unit projected gradients weighted by the exact gradient
    // norm √self; embeddings: unit h at the last checkpoint (unweighted).
    std::unique_ptr<CellIndex> tracinCells, embeddingCells;
    int candidates = 100;
    // Hnsw backend. TracIn: the `head` training rows of largest gradient norm are scanned
    // exactly; the others are split by norm into buckets, each a graph of unit vectors.
    std::vector<int64_t> head;
    std::vector<std::vector<int64_t>> bucketRows;
    std::vector<double> bucketMaxNorm;
    std::vector<std::unique_ptr<VectorIndex>> buckets;
    std::unique_ptr<VectorIndex> embeddingGraph;
    int ef = 100;
    // Labels the TracIn index was built with (training rows), and the rows whose label
    // differs now: their stored vectors are old, so every TracIn list rescores them.
    std::vector<int32_t> builtLabels;
    std::vector<int64_t> dirty;
    std::vector<int64_t> trainIds;
    // Queries share it; updateExample() takes it alone.
    mutable std::shared_mutex lock;

    void findDirty()
    {
        dirty.clear();
        const int64_t n = std::min<int64_t>(store->trainRows(), int64_t(builtLabels.size()));
        for (int64_t r = 0; r < n; ++r)
            if (builtLabels[size_t(r)] != store->labelUsed(r))
                dirty.push_back(r);
        info.relabelledRows = int64_t(dirty.size());
    }
    void markBuiltLabels()
    {
        builtLabels.resize(size_t(store->trainRows()));
        for (int64_t r = 0; r < store->trainRows(); ++r)
            builtLabels[size_t(r)] = store->labelUsed(r);
        dirty.clear();
        info.relabelledRows = 0;
    }

    bool hnsw() const { return options.params.backend == IndexBackend::Hnsw; }
    bool indexed() const { return hnsw() ? embeddingGraph != nullptr : embeddingCells != nullptr; }

    // Index queries read scattered factor rows and cell rows; until those arrays have been
    // read once they cost several times more (FactorStore::warm()).
    void warm()
    {
        const auto t0 = Clock::now();
        warmChecksum = store->warm();
        for (const CellIndex *cells : {tracinCells.get(), embeddingCells.get()})
            if (cells)
                warmChecksum += double(cells->warm());
        for (const auto &graph : buckets)
            warmChecksum += double(graph->warm());
        if (embeddingGraph)
            warmChecksum += double(embeddingGraph->warm());
        info.warmSeconds = secondsSince(t0);
    }
    double warmChecksum = 0.0; // kept so the reads are not optimised away
    std::vector<float> pcaRows; // the Pca projection's matrix, saved with the index

    // The projection of the options. A Pca matrix is read from the index directory when
    // it was saved for the same fingerprint, and computed from the factors otherwise.
    Status makeProjection(const std::string &dir, const std::string &fp, const CancelFlag *cancel)
    {
        const IndexParams &p = options.params;
        const int k = store->numClasses(), d = store->embeddingDim();
        const int full = store->numCheckpoints() * k * (d + 1);
        const int m = p.resolvedProjectionDim();
        if (p.projection != ProjectionKind::Pca || m <= 0 || m >= full) {
            projection = std::make_unique<TracInProjection>(k, d, store->etas(), m, p.projection, p.seed);
            return Status::ok();
        }
        pcaRows.clear();
        if (!dir.empty()) {
            std::ifstream in((fs::path(dir) / kProjectionFile).string(), std::ios::binary);
            std::string header;
            if (in && std::getline(in, header) && header == fp) {
                pcaRows.resize(size_t(m) * size_t(full));
                in.read(reinterpret_cast<char *>(pcaRows.data()), std::streamsize(pcaRows.size() * sizeof(float)));
                if (!in)
                    pcaRows.clear();
            }
        }
        if (pcaRows.empty())
            pcaRows = principalDirections(*store, m, p.seed, 10000, cancel);
        if (isCancelled(cancel))
            return Status::cancelled();
        projection = std::make_unique<TracInProjection>(k, d, store->etas(), m, pcaRows);
        return Status::ok();
    }

    void projectRow(int64_t row, float *out) const
    {
        const int c = store->numCheckpoints();
        thread_local std::vector<float> buf;
        buf.resize(size_t(c) * size_t(store->numClasses() + store->embeddingDim()));
        std::vector<const float *> e(static_cast<size_t>(c)), h(static_cast<size_t>(c));
        float *p = buf.data();
        for (int i = 0; i < c; ++i) {
            store->factors(row, i, p, p + store->numClasses());
            e[size_t(i)] = p;
            h[size_t(i)] = p + store->numClasses();
            p += store->numClasses() + store->embeddingDim();
        }
        projection->project(e.data(), h.data(), out);
    }

    Status build(const ProgressFn &progress, const CancelFlag *cancel)
    {
        return hnsw() ? buildGraphs(progress, cancel) : buildCells(progress, cancel);
    }

    Status buildCells(const ProgressFn &progress, const CancelFlag *cancel)
    {
        const int64_t n = store->trainRows();
        const int threads = threadCount(options.threads);
        CellIndexParams cp;
        cp.cells = options.params.cells;
        cp.trainSample = options.params.cellSample;
        cp.seed = options.params.seed + 100;
        std::vector<int64_t> all(static_cast<size_t>(n));
        for (int64_t r = 0; r < n; ++r)
            all[size_t(r)] = r;
        // Raw TracIn = ‖x‖‖q‖cos: the cells order rows by ‖x‖·cos (weights = exact norms),
        // normalised TracIn by cos (unweighted), from the same projected directions.
        std::vector<float> norms(static_cast<size_t>(n));
        for (int64_t r = 0; r < n; ++r)
            norms[size_t(r)] = float(std::sqrt(store->selfInfluence(r)));
        auto tracin = CellIndex::build(
            projection->outputDim(), all, [&](int64_t r, float *v) { projectRow(r, v); }, norms, cp, threads,
            {"index", "TracIn vectors", 0, 2 * n}, progress, cancel);
        if (!tracin.ok())
            return tracin.status();
        tracinCells = std::move(tracin).value();

        const int d = store->embeddingDim();
        const int last = store->numCheckpoints() - 1;
        auto embedding = CellIndex::build(
            d, all,
            [&](int64_t r, float *v) {
                thread_local std::vector<float> e;
                e.resize(size_t(store->numClasses()));
                store->factors(r, last, e.data(), v);
            },
            {}, cp, threads, {"index", "embeddings", n, 2 * n}, progress, cancel);
        if (!embedding.ok())
            return embedding.status();
        embeddingCells = std::move(embedding).value();
        if (progress)
            progress({"index", "done", 2 * n, 2 * n});
        return Status::ok();
    }

    // Rows by gradient norm (√self), largest first, ties by row: the same partition on
    // every open, so it is not stored.
    void partition()
    {
        const int64_t n = store->trainRows();
        std::vector<int64_t> order(static_cast<size_t>(n));
        for (int64_t r = 0; r < n; ++r)
            order[size_t(r)] = r;
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
            return store->selfInfluence(a) > store->selfInfluence(b);
        });
        const int64_t h = std::min<int64_t>(n, std::max<int64_t>(options.params.exactHead, n / 200));
        head.assign(order.begin(), order.begin() + h);
        const int64_t rest = n - h;
        const int b = int(std::max<int64_t>(1, std::min<int64_t>(options.params.normBuckets, rest / 64)));
        bucketRows.assign(size_t(b), {});
        bucketMaxNorm.assign(size_t(b), 0.0);
        for (int i = 0; i < b && rest > 0; ++i) {
            const int64_t from = h + rest * i / b, to = h + rest * (i + 1) / b;
            bucketRows[size_t(i)].assign(order.begin() + from, order.begin() + to);
            if (from < to)
                bucketMaxNorm[size_t(i)] = std::sqrt(store->selfInfluence(order[size_t(from)]));
        }
        if (rest <= 0)
            bucketRows.clear();
    }

    Status buildGraphs(const ProgressFn &progress, const CancelFlag *cancel)
    {
        const int64_t n = store->trainRows();
        const int dim = projection->outputDim();
        const int threads = threadCount(options.threads);
        VectorIndexParams vp;
        vp.M = options.params.M;
        vp.efConstruction = options.params.efConstruction;
        vp.seed = options.params.seed + 100;
        partition();
        // Raw TracIn is ‖x‖‖q‖cos: inside a norm range the cosine order is nearly the
        // raw order, so one graph of unit vectors per range serves raw lists (candidates
        // of every range, rescored exactly) and normalised ones (the union of every
        // range's best cosines holds the overall best). A single inner-product graph
        // over all norms, searched directly or after the unit-sphere transform of
        // Bachrach et al. (2014), found only 55–80 % of the raw top 10 on Fashion-MNIST
        // although the projected vectors ranked them within the first 100 (see
        // docs/benchmarks-index.md); the largest norms, where raw lists come from, are
        // few and scanned exactly (`head`).
        const int64_t total = 2 * n - int64_t(head.size());
        int64_t done = 0;
        buckets.clear();
        for (size_t b = 0; b < bucketRows.size(); ++b) {
            auto created = VectorIndex::create(dim, std::max<int64_t>(1, int64_t(bucketRows[b].size())), vp);
            if (!created.ok())
                return created.status();
            buckets.push_back(std::move(created).value());
            TL_RETURN_IF_ERROR(buckets.back()->addAll(
                bucketRows[b], threads,
                [&](int64_t r, float *v) {
                    projectRow(r, v);
                    normaliseInPlace(v, dim);
                },
                {"index", "TracIn vectors, norm range " + std::to_string(b + 1) + " of "
                              + std::to_string(bucketRows.size()),
                 done, total},
                progress, cancel));
            done += int64_t(bucketRows[b].size());
        }

        const int d = store->embeddingDim();
        auto created = VectorIndex::create(d, std::max<int64_t>(1, n), vp);
        if (!created.ok())
            return created.status();
        embeddingGraph = std::move(created).value();
        const int last = store->numCheckpoints() - 1;
        std::vector<int64_t> all(static_cast<size_t>(n));
        for (int64_t r = 0; r < n; ++r)
            all[size_t(r)] = r;
        TL_RETURN_IF_ERROR(embeddingGraph->addAll(
            all, threads,
            [&](int64_t r, float *v) {
                thread_local std::vector<float> e;
                e.resize(size_t(store->numClasses()));
                store->factors(r, last, e.data(), v);
                normaliseInPlace(v, d);
            },
            {"index", "embeddings", done, total}, progress, cancel));
        if (progress)
            progress({"index", "done", total, total});
        setEf(ef);
        return Status::ok();
    }

    void setEf(int value)
    {
        ef = value;
        for (auto &ix : buckets)
            ix->setEf(ef);
        if (embeddingGraph)
            embeddingGraph->setEf(ef);
    }

    size_t indexBytes() const
    {
        size_t bytes = (tracinCells ? tracinCells->memoryBytes() : 0) + (embeddingCells ? embeddingCells->memoryBytes() : 0);
        if (embeddingGraph)
            bytes += embeddingGraph->memoryBytes();
        for (const auto &ix : buckets)
            bytes += ix->memoryBytes();
        return bytes;
    }

    Status save(const std::string &dir, const std::string &fp) const
    {
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (ec)
            return Status::ioError(dir + ": " + ec.message());
        // Drop the old fingerprint first: a crash between here and the end leaves a
        // directory without index.json, which is rebuilt.
        fs::remove(fs::path(dir) / kMetaFile, ec);
        // Files of the other backend (or of an earlier build with more norm ranges) are
        // never read again; at a million examples the graphs held 700 MB.
        std::vector<fs::path> old;
        for (const auto &entry : fs::directory_iterator(dir, ec))
            if (entry.path().extension() == ".hnsw" || entry.path().extension() == ".cells")
                old.push_back(entry.path());
        for (const auto &file : old)
            fs::remove(file, ec);
        if (hnsw()) {
            for (size_t b = 0; b < buckets.size(); ++b)
                TL_RETURN_IF_ERROR(buckets[b]->save((fs::path(dir) / bucketFile(b)).string()));
            TL_RETURN_IF_ERROR(embeddingGraph->save((fs::path(dir) / kEmbeddingGraph).string()));
        } else {
            TL_RETURN_IF_ERROR(tracinCells->save((fs::path(dir) / kTracInCells).string()));
            TL_RETURN_IF_ERROR(embeddingCells->save((fs::path(dir) / kEmbeddingCells).string()));
        }
        {
            const std::string file = (fs::path(dir) / kLabelsFile).string();
            std::ofstream out(file, std::ios::binary | std::ios::trunc);
            out.write(reinterpret_cast<const char *>(builtLabels.data()),
                      std::streamsize(builtLabels.size() * sizeof(int32_t)));
            if (!out)
                return Status::ioError(file + ": cannot write");
        }
        if (!pcaRows.empty()) {
            const std::string file = (fs::path(dir) / kProjectionFile).string();
            std::ofstream out(file, std::ios::binary | std::ios::trunc);
            out << fp << '\n';
            out.write(reinterpret_cast<const char *>(pcaRows.data()), std::streamsize(pcaRows.size() * sizeof(float)));
            if (!out)
                return Status::ioError(file + ": cannot write");
        }
        QJsonObject meta{{"format", "traclens-index/4"},
                         {"fingerprint", QString::fromStdString(fp)},
                         {"backend", indexBackendName(options.params.backend)},
                         {"projection_dim", projection->outputDim()},
                         {"build_seconds", info.buildSeconds}};
        if (hnsw()) {
            meta.insert("buckets", int(buckets.size()));
            meta.insert("exact_head", qint64(head.size()));
        } else {
            meta.insert("tracin_cells", tracinCells->cells());
            meta.insert("embedding_cells", embeddingCells->cells());
        }
        const std::string path = (fs::path(dir) / kMetaFile).string();
        QFile f(QString::fromStdString(path + ".tmp"));
        if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(QJsonDocument(meta).toJson()) < 0
            || !f.flush())
            return Status::ioError(path + ": cannot write");
        f.close();
        fs::rename(path + ".tmp", path, ec);
        return ec ? Status::ioError(path + ": " + ec.message()) : Status::ok();
    }

    // Loads the saved indexes when their fingerprint is `fp`; NotFound when absent,
    // Corruption when stale or unreadable.
    Status tryLoad(const std::string &dir, const std::string &fp)
    {
        const std::string path = (fs::path(dir) / kMetaFile).string();
        QFile f(QString::fromStdString(path));
        if (!f.open(QIODevice::ReadOnly))
            return Status::notFound(path + ": no index");
        const QJsonObject meta = QJsonDocument::fromJson(f.readAll()).object();
        if (meta.value("fingerprint").toString().toStdString() != fp)
            return Status::corruption(path + ": the index is stale (the project or the parameters changed)");
        TL_RETURN_IF_ERROR(hnsw() ? loadGraphs(dir, meta) : loadCells(dir));
        return loadBuiltLabels(dir);
    }

    Status loadBuiltLabels(const std::string &dir)
    {
        const std::string file = (fs::path(dir) / kLabelsFile).string();
        std::ifstream in(file, std::ios::binary);
        std::vector<int32_t> labels(size_t(store->trainRows()));
        in.read(reinterpret_cast<char *>(labels.data()), std::streamsize(labels.size() * sizeof(int32_t)));
        if (!in || in.peek() != std::ifstream::traits_type::eof())
            return Status::corruption(file + ": the index's label file is missing or has the wrong size");
        builtLabels = std::move(labels);
        findDirty();
        return Status::ok();
    }

    Status loadCells(const std::string &dir)
    {
        const std::string path = (fs::path(dir) / kMetaFile).string();
        auto t = CellIndex::load((fs::path(dir) / kTracInCells).string(), projection->outputDim());
        if (!t.ok())
            return t.status();
        auto e = CellIndex::load((fs::path(dir) / kEmbeddingCells).string(), store->embeddingDim());
        if (!e.ok())
            return e.status();
        if ((*t)->size() != store->trainRows() || (*e)->size() != store->trainRows())
            return Status::corruption(path + ": the index has the wrong number of examples");
        // Labels are the store's row numbers, which rescoring reads unchecked.
        if (!(*t)->labelsBelow(store->trainRows()) || !(*e)->labelsBelow(store->trainRows()))
            return Status::corruption(path + ": the index names rows the project does not have");
        tracinCells = std::move(t).value();
        embeddingCells = std::move(e).value();
        return Status::ok();
    }

    Status loadGraphs(const std::string &dir, const QJsonObject &meta)
    {
        const std::string path = (fs::path(dir) / kMetaFile).string();
        partition();
        if (meta.value("buckets").toInt() != int(bucketRows.size()))
            return Status::corruption(path + ": the index has another layout");
        std::vector<std::unique_ptr<VectorIndex>> loaded;
        for (size_t b = 0; b < bucketRows.size(); ++b) {
            auto ix = VectorIndex::load((fs::path(dir) / bucketFile(b)).string(), projection->outputDim());
            if (!ix.ok())
                return ix.status();
            if ((*ix)->size() != int64_t(bucketRows[b].size()))
                return Status::corruption(path + ": the index has the wrong number of examples");
            loaded.push_back(std::move(ix).value());
        }
        auto e = VectorIndex::load((fs::path(dir) / kEmbeddingGraph).string(), store->embeddingDim());
        if (!e.ok())
            return e.status();
        if ((*e)->size() != store->trainRows())
            return Status::corruption(path + ": the index has the wrong number of examples");
        buckets = std::move(loaded);
        embeddingGraph = std::move(e).value();
        setEf(ef);
        return Status::ok();
    }

    // --- queries

    std::vector<Neighbour> rescoreTracIn(const std::vector<int64_t> &rows, const FactorView &q, bool normalised,
                                         int64_t exclude) const
    {
        std::vector<Neighbour> out;
        out.reserve(rows.size());
        for (int64_t r : rows) {
            if (r == exclude || r < 0 || r >= store->trainRows())
                continue;
            double s = store->tracin(q, r);
            if (normalised) {
                const double denom = std::sqrt(store->selfInfluence(r) * q.self);
                s = denom > 0 ? s / denom : 0.0;
            }
            out.push_back({store->idOf(r), s});
        }
        return out;
    }

    std::vector<Neighbour> rescoreEmbedding(const std::vector<int64_t> &rows, const float *hq, double hqNorm,
                                            int64_t exclude) const
    {
        std::vector<Neighbour> out;
        out.reserve(rows.size());
        for (int64_t r : rows)
            if (r != exclude && r >= 0 && r < store->trainRows())
                out.push_back({store->idOf(r), store->embeddingCosine(hq, hqNorm, r)});
        return out;
    }

    static std::vector<int64_t> labels(const std::vector<std::pair<float, int64_t>> &found)
    {
        std::vector<int64_t> out;
        out.reserve(found.size());
        for (const auto &f : found)
            out.push_back(f.second);
        return out;
    }

    // Rows a cell search may scan per list before it stops without proof.
    int64_t scanBudget() const
    {
        return options.params.scanLimit > 0 ? options.params.scanLimit
                                            : std::max<int64_t>(50000, store->trainRows() / 8);
    }

    // The unit directions both backends search with: the projected TracIn gradient of the
    // query and its embedding at the last checkpoint, each also negated (opponents,
    // farthest).
    struct Directions {
        std::vector<float> y, negY, h, negH;
        const float *hq = nullptr; // the embedding as given
        double hNorm = 0.0;
    };

    Directions directions(const FactorView &q) const
    {
        auto negated = [](const std::vector<float> &v) {
            std::vector<float> n(v.size());
            for (size_t j = 0; j < v.size(); ++j)
                n[j] = -v[j];
            return n;
        };
        Directions dir;
        dir.y.resize(size_t(projection->outputDim()));
        projection->project(q.e.data(), q.h.data(), dir.y.data());
        normalise(&dir.y);
        dir.negY = negated(dir.y);
        const int d = store->embeddingDim();
        dir.hq = q.h.back();
        dir.h.assign(dir.hq, dir.hq + d);
        dir.hNorm = std::sqrt(dot(dir.hq, dir.hq, d));
        normalise(&dir.h);
        dir.negH = negated(dir.h);
        return dir;
    }

    QueryResult runGraphs(const FactorView &q, int64_t exclude, int k, Scoring scoring) const
    {
        QueryResult res;
        const int count = std::max(ef, 10 * k) + 1; // + the query itself
        const Directions dir = directions(q);
        const bool normalised = scoring == Scoring::Normalised;
        const double qNorm = std::sqrt(q.self);
        // The head (largest norms) and the rows relabelled since the build (their graph
        // vectors are old) are scored exactly once for both lists.
        std::vector<Neighbour> headScored = rescoreTracIn(head, q, normalised, exclude);
        for (const Neighbour &n : rescoreTracIn(dirty, q, normalised, exclude))
            headScored.push_back(n);
        auto collect = [&](bool positive) {
            std::vector<Neighbour> scored = headScored;
            for (size_t b = 0; b < buckets.size(); ++b) {
                // Raw scores are bounded by ‖x‖‖q‖ (Cauchy–Schwarz) and buckets come in
                // decreasing norm: once the k-th best beats the bound, no later bucket
                // can enter the list.
                if (!normalised && int(scored.size()) >= k) {
                    const double kth = best(scored, k, positive).back().score;
                    const double bound = bucketMaxNorm[b] * qNorm;
                    if (positive ? kth >= bound : kth <= -bound)
                        break;
                }
                auto found = rescoreTracIn(labels(buckets[b]->search(positive ? dir.y.data() : dir.negY.data(), count)),
                                           q, normalised, exclude);
                scored.insert(scored.end(), found.begin(), found.end());
            }
            return best(std::move(scored), k, positive);
        };
        res.proponents = collect(true);
        res.opponents = collect(false);
        res.nearest = best(
            rescoreEmbedding(labels(embeddingGraph->search(dir.h.data(), count)), dir.hq, dir.hNorm, exclude), k, true);
        res.farthest = best(
            rescoreEmbedding(labels(embeddingGraph->search(dir.negH.data(), count)), dir.hq, dir.hNorm, exclude), k,
            false);
        return res;
    }

    QueryResult runCells(const FactorView &q, int64_t exclude, int k, Scoring scoring) const
    {
        QueryResult res;
        const int count = std::max(candidates, 10 * k) + 1; // + the query itself
        const int64_t budget = scanBudget();
        const Directions dir = directions(q);
        const bool normalised = scoring == Scoring::Normalised;
        // The cells return the best `count` rows by projected direction and exact norm.
        // Those are scored from the factors in float (SIMD), and the best of them again
        // in double precision: near-duplicates differ in directions that the projection
        // drops, so many candidates are needed, and float scoring keeps them cheap.
        auto list = [&](const std::vector<float> &dir, bool positive) {
            // In row order: the factor rows are then read front to back.
            std::vector<int64_t> rows = labels(tracinCells->search(dir.data(), count, !normalised, budget));
            // Rows relabelled since the build have old vectors in the cells: always
            // candidates, scored from their current factors.
            rows.insert(rows.end(), dirty.begin(), dirty.end());
            std::sort(rows.begin(), rows.end());
            rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
            std::vector<float> s(rows.size());
            store->tracinScoresOf(q, rows.data(), rows.size(), s.data());
            if (normalised)
                for (size_t i = 0; i < rows.size(); ++i) {
                    const double denom = std::sqrt(store->selfInfluence(rows[i]) * q.self);
                    s[i] = denom > 0 ? float(s[i] / denom) : 0.0f;
                }
            std::vector<int64_t> top;
            for (int64_t i : topRows(s, kRescoreMargin + k, positive, -1))
                top.push_back(rows[size_t(i)]);
            return best(rescoreTracIn(top, q, normalised, exclude), k, positive);
        };
        res.proponents = list(dir.y, true);
        res.opponents = list(dir.negY, false);
        // Embeddings are not projected (the stored h is exact up to float16), so a few
        // candidates beyond k suffice.
        const int embeddingCount = std::max(100, 10 * k) + 1;
        auto embeddingList = [&](const std::vector<float> &h, bool nearest) {
            return best(rescoreEmbedding(labels(embeddingCells->search(h.data(), embeddingCount, false, budget)),
                                         dir.hq, dir.hNorm, exclude),
                        k, nearest);
        };
        res.nearest = embeddingList(dir.h, true);
        res.farthest = embeddingList(dir.negH, false);
        return res;
    }

    QueryResult runExact(const FactorView &q, int64_t exclude, int k, Scoring scoring) const
    {
        QueryResult res;
        const int64_t n = store->trainRows();
        const int threads = threadCount(options.threads);
        const bool normalised = scoring == Scoring::Normalised;
        std::vector<float> s(static_cast<size_t>(n));
        parallelRows(n, threads, kParallelFrom, [&](int64_t b, int64_t e) {
            store->tracinScores(q, b, e, s.data() + b);
            if (normalised)
                for (int64_t j = b; j < e; ++j) {
                    const double denom = std::sqrt(store->selfInfluence(j) * q.self);
                    s[size_t(j)] = denom > 0 ? float(s[size_t(j)] / denom) : 0.0f;
                }
        });
        // A few extra rows absorb float rounding at the boundary; the final order is
        // by the double-precision rescoring.
        const int margin = k + 8;
        res.proponents = best(rescoreTracIn(topRows(s, margin, true, exclude), q, normalised, exclude), k, true);
        res.opponents = best(rescoreTracIn(topRows(s, margin, false, exclude), q, normalised, exclude), k, false);

        const int d = store->embeddingDim();
        const float *hq = q.h.back();
        std::vector<float> hu(hq, hq + d);
        const double hn = std::sqrt(dot(hq, hq, d));
        normalise(&hu);
        parallelRows(n, threads, kParallelFrom, [&](int64_t b, int64_t e) { store->embeddingCosines(hu.data(), b, e, s.data() + b); });
        res.nearest = best(rescoreEmbedding(topRows(s, margin, true, exclude), hq, hn, exclude), k, true);
        res.farthest = best(rescoreEmbedding(topRows(s, margin, false, exclude), hq, hn, exclude), k, false);
        return res;
    }

    Result<QueryResult> run(const FactorView &q, int64_t exclude, int k, Scoring scoring, SearchMode mode) const
    {
        if (k < 1)
            return Status::invalid("k must be at least 1");
        if (mode == SearchMode::Index && !indexed())
            return Status::invalid("no index is loaded (the project is below the index threshold or the index is stale)");
        const bool useIndex = mode == SearchMode::Index || (mode == SearchMode::Auto && info.usesIndex);
        QueryResult res = !useIndex ? runExact(q, exclude, k, scoring)
                          : hnsw()  ? runGraphs(q, exclude, k, scoring)
                                    : runCells(q, exclude, k, scoring);
        res.scoring = scoring;
        res.selfInfluence = q.self;
        res.fromIndex = useIndex;
        res.float16Factors = store->precision() == FactorPrecision::Float16;
        return res;
    }
};

InfluenceIndex::InfluenceIndex() : d(std::make_unique<Impl>()) {}
InfluenceIndex::~InfluenceIndex() = default;

std::string InfluenceIndex::directoryFor(const ProjectDb &db, int64_t modelId)
{
    return (fs::path(db.sideDirectory()) / "index" / ("model-" + std::to_string(modelId))).string();
}

std::string InfluenceIndex::fingerprint(const FactorStore &store, const IndexParams &params)
{
    // The cells follow relabels row by row (labels.bin); the graphs' norm ranges do not,
    // so their fingerprint covers the labels too.
    uint64_t labels = 0;
    if (params.backend == IndexBackend::Hnsw)
        for (int64_t r = 0; r < store.trainRows(); ++r)
            labels = labels * 0x100000001b3ull + uint64_t(uint32_t(store.labelUsed(r))) + 1;
    char buf[300];
    // The precision the factors are held in is not part of it: the hash is of the values
    // as stored in the project, and candidates are rescored from whichever store serves.
    std::snprintf(buf, sizeof buf, "traclens-index/2 model=%lld rows=%lld train=%lld k=%d d=%d checkpoints=%d "
                                   "hash=%016llx labels=%016llx ",
                  (long long)store.modelId(), (long long)store.rows(), (long long)store.trainRows(),
                  store.numClasses(), store.embeddingDim(), store.numCheckpoints(),
                  (unsigned long long)store.contentHash(), (unsigned long long)labels);
    return buf + params.describe();
}

Result<std::unique_ptr<InfluenceIndex>> InfluenceIndex::open(ProjectDb &db, int64_t modelId,
                                                             const IndexOptions &options, const ProgressFn &progress,
                                                             const CancelFlag *cancel)
{
    const auto t0 = Clock::now();
    auto model = db.model(modelId);
    if (!model.ok())
        return model.status();
    auto cps = db.checkpoints(modelId);
    if (!cps.ok())
        return cps.status();
    auto store = FactorStore::load(db, modelId, options.params.resolvedPrecision(), progress, cancel);
    if (!store.ok())
        return store.status();
    std::unique_ptr<InfluenceIndex> index(new InfluenceIndex);
    Impl &m = *index->d;
    m.options = options;
    m.store = std::move(store).value();
    m.info.loadSeconds = secondsSince(t0);
    m.info.factorBytes = m.store->factorBytes();
    m.info.directory = directoryFor(db, modelId);
    m.info.fingerprint = fingerprint(*m.store, options.params);
    m.trainIds.assign(m.store->ids().begin(), m.store->ids().begin() + m.store->trainRows());
    m.candidates = options.params.candidates;
    m.ef = options.params.efSearch;
    if (m.store->trainRows() < std::max<int64_t>(1, options.exactBelow) && !options.forceRebuild) {
        // Exact search: the projection only serves gradientVector(), so a principal-
        // directions matrix (seconds of work) is not computed for it.
        if (m.options.params.projection == ProjectionKind::Pca)
            m.options.params.projection = ProjectionKind::Gaussian;
        TL_RETURN_IF_ERROR(m.makeProjection(std::string(), m.info.fingerprint, cancel));
        m.info.projectionDim = m.projection->outputDim();
        return index;
    }
    TL_RETURN_IF_ERROR(m.makeProjection(options.forceRebuild ? std::string() : m.info.directory, m.info.fingerprint,
                                        cancel));
    m.info.projectionDim = m.projection->outputDim();

    if (!options.forceRebuild) {
        const auto l0 = Clock::now();
        Status loaded = m.tryLoad(m.info.directory, m.info.fingerprint);
        if (loaded.isOk()) {
            m.info.usesIndex = true;
            m.info.indexLoadSeconds = secondsSince(l0);
        } else if (loaded.code() == Status::Code::Corruption) {
            m.info.stale = true;
            m.info.staleReason = loaded.message();
        }
    }
    if (!m.info.usesIndex && (options.buildIfStale || options.forceRebuild)) {
        const auto b0 = Clock::now();
        TL_RETURN_IF_ERROR(m.build(progress, cancel));
        m.info.buildSeconds = secondsSince(b0);
        m.markBuiltLabels();
        TL_RETURN_IF_ERROR(m.save(m.info.directory, m.info.fingerprint));
        m.info.built = true;
        m.info.stale = false;
        m.info.usesIndex = true;
    }
    if (m.info.usesIndex)
        m.info.indexBytes = m.indexBytes();
    // Below the threshold a forced build exists on disk, but queries stay exact.
    m.info.usesIndex = m.info.usesIndex && m.store->trainRows() >= options.exactBelow;
    if (m.info.usesIndex)
        m.warm();
    return index;
}

Result<std::unique_ptr<InfluenceIndex>> InfluenceIndex::fromStore(std::unique_ptr<FactorStore> store,
                                                                  const IndexOptions &options,
                                                                  const ProgressFn &progress, const CancelFlag *cancel)
{
    std::unique_ptr<InfluenceIndex> index(new InfluenceIndex);
    Impl &m = *index->d;
    m.options = options;
    m.store = std::move(store);
    m.info.factorBytes = m.store->factorBytes();
    m.info.fingerprint = fingerprint(*m.store, options.params);
    m.trainIds.assign(m.store->ids().begin(), m.store->ids().begin() + m.store->trainRows());
    if (m.store->trainRows() < options.exactBelow && !options.forceRebuild
        && m.options.params.projection == ProjectionKind::Pca)
        m.options.params.projection = ProjectionKind::Gaussian; // exact search: see open()
    TL_RETURN_IF_ERROR(m.makeProjection(std::string(), m.info.fingerprint, cancel));
    m.info.projectionDim = m.projection->outputDim();
    m.candidates = options.params.candidates;
    m.ef = options.params.efSearch;
    if (m.store->trainRows() >= options.exactBelow || options.forceRebuild) {
        const auto b0 = Clock::now();
        TL_RETURN_IF_ERROR(m.build(progress, cancel));
        m.info.buildSeconds = secondsSince(b0);
        m.markBuiltLabels();
        m.info.built = true;
        m.info.indexBytes = m.indexBytes();
        m.info.usesIndex = m.store->trainRows() >= options.exactBelow;
        if (m.info.usesIndex)
            m.warm();
    }
    return index;
}

const IndexInfo &InfluenceIndex::info() const { return d->info; }
const FactorStore &InfluenceIndex::store() const { return *d->store; }
const TracInProjection &InfluenceIndex::projection() const { return *d->projection; }

void InfluenceIndex::setCandidates(int candidates)
{
    if (d->hnsw())
        d->setEf(std::max(1, candidates));
    else
        d->candidates = std::max(1, candidates);
}

void InfluenceIndex::gradientVector(int64_t row, float *out) const
{
    d->projectRow(row, out);
}

int64_t InfluenceIndex::modelId() const { return d->store->modelId(); }
int InfluenceIndex::numCheckpoints() const { return d->store->numCheckpoints(); }
const std::vector<int64_t> &InfluenceIndex::trainIds() const { return d->trainIds; }
int64_t InfluenceIndex::rowOf(int64_t exampleId) const { return d->store->rowOf(exampleId); }

double InfluenceIndex::selfInfluence(int64_t exampleId) const
{
    std::shared_lock<std::shared_mutex> lock(d->lock);
    const int64_t r = d->store->rowOf(exampleId);
    return r < 0 ? 0.0 : d->store->selfInfluence(r);
}

int InfluenceIndex::predicted(int64_t exampleId) const
{
    const int64_t r = d->store->rowOf(exampleId);
    return r < 0 ? -1 : d->store->predicted(r);
}

float InfluenceIndex::predictedProbability(int64_t exampleId) const
{
    const int64_t r = d->store->rowOf(exampleId);
    return r < 0 ? 0.0f : d->store->predictedProbability(r);
}

float InfluenceIndex::lossAtLast(int64_t exampleId) const
{
    std::shared_lock<std::shared_mutex> lock(d->lock);
    const int64_t r = d->store->rowOf(exampleId);
    return r < 0 ? 0.0f : d->store->loss(r);
}

int InfluenceIndex::labelUsed(int64_t exampleId) const
{
    std::shared_lock<std::shared_mutex> lock(d->lock);
    const int64_t r = d->store->rowOf(exampleId);
    return r < 0 ? -1 : d->store->labelUsed(r);
}

Status InfluenceIndex::updateExample(int64_t exampleId, int label, const std::vector<FactorRow> &perCheckpoint)
{
    std::unique_lock<std::shared_mutex> lock(d->lock);
    const int64_t row = d->store->rowOf(exampleId);
    if (row < 0)
        return Status::notFound("example " + std::to_string(exampleId) + " has no TracIn factors");
    TL_RETURN_IF_ERROR(d->store->updateRow(row, label, perCheckpoint));
    if (row < int64_t(d->builtLabels.size())) {
        auto at = std::lower_bound(d->dirty.begin(), d->dirty.end(), row);
        const bool listed = at != d->dirty.end() && *at == row;
        const bool changed = d->builtLabels[size_t(row)] != d->store->labelUsed(row);
        if (changed && !listed)
            d->dirty.insert(at, row);
        else if (!changed && listed)
            d->dirty.erase(at);
        d->info.relabelledRows = int64_t(d->dirty.size());
    }
    return Status::ok();
}

Result<QueryResult> InfluenceIndex::query(int64_t exampleId, int k, Scoring scoring, SearchMode mode,
                                          SelfMatch self) const
{
    std::shared_lock<std::shared_mutex> lock(d->lock);
    const int64_t row = d->store->rowOf(exampleId);
    if (row < 0)
        return Status::notFound("example " + std::to_string(exampleId) + " has no TracIn factors");
    QueryBuffers q;
    q.fromRow(*d->store, row);
    const bool excluded = row < d->store->trainRows() && self == SelfMatch::Exclude;
    auto res = d->run(q.view, excluded ? row : -1, k, scoring, mode);
    if (!res.ok())
        return res;
    res->selfExcluded = excluded;
    res->queryId = exampleId;
    res->predicted = d->store->predicted(row);
    res->labelUsed = d->store->labelUsed(row);
    return res;
}

Result<QueryResult> InfluenceIndex::query(const QueryFactors &f, int k, Scoring scoring, SearchMode mode) const
{
    std::shared_lock<std::shared_mutex> lock(d->lock);
    const FactorStore &s = *d->store;
    if (int(f.perCheckpoint.size()) != s.numCheckpoints())
        return Status::invalid("query factors have " + std::to_string(f.perCheckpoint.size())
                               + " checkpoints, the index " + std::to_string(s.numCheckpoints()));
    FactorView view;
    for (int c = 0; c < s.numCheckpoints(); ++c) {
        const FactorRow &r = f.perCheckpoint[size_t(c)];
        if (int(r.error.size()) != s.numClasses() || int(r.embedding.size()) != s.embeddingDim())
            return Status::invalid("query factors do not match the model's shape");
        view.e.push_back(r.error.data());
        view.h.push_back(r.embedding.data());
        view.self += s.eta(c) * dot(r.error.data(), r.error.data(), s.numClasses())
                     * (dot(r.embedding.data(), r.embedding.data(), s.embeddingDim()) + 1.0);
    }
    auto res = d->run(view, -1, k, scoring, mode);
    if (!res.ok())
        return res;
    res->labelUsed = f.label;
    res->labelPredicted = f.labelPredicted;
    res->predicted = f.perCheckpoint.back().predicted;
    return res;
}

} // namespace traclens
