#include "index/cellindex.h"

#include "util/float16.h"
#include "util/parallelrows.h"
#include "util/simdkernels.h"
#include "index/sphericalkmeans.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <queue>
#include <random>

namespace traclens {

namespace {

constexpr char kMagic[8] = {'T', 'L', 'C', 'E', 'L', 'L', 'S', '1'};
constexpr int64_t kBlock = 4096; // rows between cancel checks and progress reports

// The stored vectors are float16 (relative error ≤ 2⁻¹¹ per value), so their dot products
// with a unit query can exceed the exact cosine by about 10⁻³; the bounds are widened by
// this much so that rounding never stops a search too early.
constexpr float kBoundSlack = 2e-3f;

template<typename T>
void writeArray(std::ofstream &out, const std::vector<T> &v)
{
    out.write(reinterpret_cast<const char *>(v.data()), std::streamsize(v.size() * sizeof(T)));
}

template<typename T>
bool readArray(std::ifstream &in, std::vector<T> *v, size_t n)
{
    v->resize(n);
    in.read(reinterpret_cast<char *>(v->data()), std::streamsize(n * sizeof(T)));
    return bool(in);
}

} // namespace

CellIndex::~CellIndex() = default;

Result<std::unique_ptr<CellIndex>> CellIndex::build(int dim, const std::vector<int64_t> &labels,
                                                    const std::function<void(int64_t, float *)> &vectorOf,
                                                    const std::vector<float> &weights, const CellIndexParams &params,
                                                    int threads, const Progress &stage, const ProgressFn &progress,
                                                    const CancelFlag *cancel)
{
    const int64_t n = int64_t(labels.size());
    if (dim <= 0 || n <= 0)
        return Status::invalid("cell index: no rows or no dimensions");
    if (!weights.empty() && int64_t(weights.size()) != n)
        return Status::invalid("cell index: one weight per row expected");
    threads = std::max(1, threads);
    std::atomic<int64_t> done{0};
    auto report = [&](int64_t add, bool reporter) {
        const int64_t total = done.fetch_add(add) + add;
        if (reporter && progress) {
            Progress p = stage;
            p.done = stage.done + total / 2; // two passes over the rows
            progress(p);
        }
    };

    // 1. Unit vectors, float16, in input order.
    std::vector<uint16_t> half(size_t(n) * size_t(dim));
    parallelRows(n, threads, 2 * kBlock, [&](int64_t b, int64_t e) {
        std::vector<float> v(static_cast<size_t>(dim));
        for (int64_t i = b; i < e; i += kBlock) {
            if (isCancelled(cancel))
                return;
            const int64_t end = std::min(e, i + kBlock);
            for (int64_t r = i; r < end; ++r) {
                vectorOf(labels[size_t(r)], v.data());
                normaliseRow(v.data(), dim);
                floatsToHalves(v.data(), half.data() + size_t(r) * size_t(dim), size_t(dim));
            }
            report(end - i, b == 0);
        }
    });
    if (isCancelled(cancel))
        return Status::cancelled();

    // 2. Centroids from a sample.
    int cells = params.cells > 0 ? params.cells : int(std::clamp<long>(std::lround(std::sqrt(double(n))), 8, 4096));
    cells = int(std::min<int64_t>(cells, n));
    const int64_t m = std::min(n, std::max<int64_t>(params.trainSample, cells));
    std::vector<int64_t> pick(static_cast<size_t>(n));
    std::iota(pick.begin(), pick.end(), int64_t(0));
    std::mt19937_64 rng(params.seed);
    for (int64_t i = 0; i < m && m < n; ++i)
        std::swap(pick[size_t(i)], pick[size_t(i + int64_t(rng() % uint64_t(n - i)))]);
    std::vector<float> sample(size_t(m) * size_t(dim));
    for (int64_t i = 0; i < m; ++i)
        halvesToFloats(half.data() + size_t(pick[size_t(i)]) * size_t(dim), sample.data() + size_t(i) * size_t(dim),
                       size_t(dim));
    pick = {};
    KMeansOptions ko;
    ko.maxIterations = std::max(1, params.iterations);
    ko.restarts = 1;
    ko.seed = params.seed;
    ko.threads = threads;
    KMeansResult km = sphericalKMeans(sample.data(), m, dim, cells, ko);
    sample = {};
    if (isCancelled(cancel))
        return Status::cancelled();
    cells = km.k;

    // 3. Every row to the cell of the nearest centroid.
    std::vector<int> cellOf(static_cast<size_t>(n));
    std::vector<float> cosOf(static_cast<size_t>(n));
    parallelRows(n, threads, 2 * kBlock, [&](int64_t b, int64_t e) {
        std::vector<float> v(static_cast<size_t>(dim)), cs(static_cast<size_t>(cells));
        for (int64_t i = b; i < e; i += kBlock) {
            if (isCancelled(cancel))
                return;
            const int64_t end = std::min(e, i + kBlock);
            for (int64_t r = i; r < end; ++r) {
                halvesToFloats(half.data() + size_t(r) * size_t(dim), v.data(), size_t(dim));
                simd::stridedDots(km.centroids.data(), dim, dim, v.data(), cells, cs.data());
                const int best = int(std::max_element(cs.begin(), cs.end()) - cs.begin());
                cellOf[size_t(r)] = best;
                cosOf[size_t(r)] = cs[size_t(best)];
            }
            report(end - i, b == 0);
        }
    });
    if (isCancelled(cancel))
        return Status::cancelled();

    // 4. Rows in cell order, and each cell's cone and weight range.
    std::unique_ptr<CellIndex> index(new CellIndex);
    CellIndex &x = *index;
    x.m_dim = dim;
    x.m_centroids = std::move(km.centroids);
    x.m_offset.assign(size_t(cells) + 1, 0);
    for (int c : cellOf)
        ++x.m_offset[size_t(c) + 1];
    for (int c = 0; c < cells; ++c)
        x.m_offset[size_t(c) + 1] += x.m_offset[size_t(c)];
    std::vector<int64_t> next(x.m_offset.begin(), x.m_offset.end() - 1);
    x.m_labels.resize(size_t(n));
    x.m_vectors.resize(size_t(n) * size_t(dim));
    x.m_weights.resize(size_t(n));
    x.m_cosTheta.assign(size_t(cells), 1.0f);
    x.m_maxWeight.assign(size_t(cells), 0.0f);
    x.m_minWeight.assign(size_t(cells), std::numeric_limits<float>::infinity());
    for (int64_t r = 0; r < n; ++r) {
        const int c = cellOf[size_t(r)];
        const int64_t at = next[size_t(c)]++;
        const float w = weights.empty() ? 1.0f : weights[size_t(r)];
        x.m_labels[size_t(at)] = labels[size_t(r)];
        std::memcpy(x.m_vectors.data() + size_t(at) * size_t(dim), half.data() + size_t(r) * size_t(dim),
                    size_t(dim) * sizeof(uint16_t));
        x.m_weights[size_t(at)] = w;
        x.m_cosTheta[size_t(c)] = std::min(x.m_cosTheta[size_t(c)], cosOf[size_t(r)]);
        x.m_maxWeight[size_t(c)] = std::max(x.m_maxWeight[size_t(c)], w);
        x.m_minWeight[size_t(c)] = std::min(x.m_minWeight[size_t(c)], w);
    }
    for (int c = 0; c < cells; ++c)
        if (x.m_offset[size_t(c)] == x.m_offset[size_t(c) + 1])
            x.m_minWeight[size_t(c)] = 0.0f;
    return index;
}

std::vector<std::pair<float, int64_t>> CellIndex::search(const float *unitQ, int count, bool weighted,
                                                         int64_t maxRows, Stats *stats) const
{
    std::vector<std::pair<float, int64_t>> out;
    const int cellCount = cells();
    if (count < 1 || cellCount == 0)
        return out;
    std::vector<float> cs(static_cast<size_t>(cellCount));
    simd::stridedDots(m_centroids.data(), m_dim, m_dim, unitQ, cellCount, cs.data());
    // Cells are scanned in the order of `key`: the bound itself for weighted searches
    // (a large weight can outweigh a poor direction), the centroid's cosine otherwise
    // (where the best rows most likely are, which matters when the row budget ends a
    // search). Either way a search stops only once its count-th best row beats the
    // largest bound of all the cells not scanned yet.
    struct Cell {
        float key, bound;
        int c;
    };
    std::vector<Cell> order;
    order.reserve(size_t(cellCount));
    for (int c = 0; c < cellCount; ++c) {
        if (m_offset[size_t(c)] == m_offset[size_t(c) + 1])
            continue;
        const float cphi = std::clamp(cs[size_t(c)], -1.0f, 1.0f), ct = m_cosTheta[size_t(c)];
        // cos(max(0, φ − θ)) = cos φ cos θ + sin φ sin θ when φ > θ.
        float u = cphi >= ct ? 1.0f
                             : cphi * ct + std::sqrt(std::max(0.0f, 1 - cphi * cphi))
                                               * std::sqrt(std::max(0.0f, 1 - ct * ct));
        u = std::min(1.0f, u + kBoundSlack);
        const float bound = !weighted ? u : u >= 0 ? m_maxWeight[size_t(c)] * u : m_minWeight[size_t(c)] * u;
        order.push_back({weighted ? bound : cphi, bound, c});
    }
    std::sort(order.begin(), order.end(), [](const Cell &a, const Cell &b) { return a.key > b.key; });
    // restBound[i]: the largest bound of order[i..].
    std::vector<float> restBound(order.size() + 1, -std::numeric_limits<float>::infinity());
    for (size_t i = order.size(); i-- > 0;)
        restBound[i] = std::max(restBound[i + 1], order[i].bound);

    // Scanned rows collect in `found`; whenever it holds 2·count, it is cut to the best
    // count and `floor` becomes the count-th best score (a lower bound of the final one
    // in between cuts): linear time overall, unlike a heap of `count` entries.
    using Entry = std::pair<float, int64_t>;
    auto better = [](const Entry &a, const Entry &b) { return a.first > b.first; };
    std::vector<Entry> found;
    found.reserve(size_t(count) * 2 + 1024);
    float floor = -std::numeric_limits<float>::infinity();
    auto cut = [&] {
        std::nth_element(found.begin(), found.begin() + (count - 1), found.end(), better);
        found.resize(size_t(count));
        floor = found[size_t(count) - 1].first;
    };
    Stats st;
    std::vector<float> scores;
    for (size_t i = 0; i < order.size(); ++i) {
        const int c = order[i].c;
        const bool full = int64_t(found.size()) >= count;
        if (full && floor >= restBound[i])
            break; // no unscanned row can enter the list
        if (maxRows > 0 && st.rowsScanned >= maxRows && full) {
            st.budgetHit = true;
            break;
        }
        const int64_t b = m_offset[size_t(c)], e = m_offset[size_t(c) + 1];
        scores.resize(size_t(e - b));
        dotsHalfFloat(m_vectors.data() + size_t(b) * size_t(m_dim), size_t(m_dim), unitQ, size_t(e - b),
                      scores.data());
        for (int64_t r = b; r < e; ++r) {
            const float s = weighted ? scores[size_t(r - b)] * m_weights[size_t(r)] : scores[size_t(r - b)];
            if (s > floor)
                found.emplace_back(s, m_labels[size_t(r)]);
        }
        if (int64_t(found.size()) >= 2 * int64_t(count))
            cut();
        else if (int64_t(found.size()) >= count && floor == -std::numeric_limits<float>::infinity())
            cut();
        st.rowsScanned += e - b;
        ++st.cellsScanned;
    }
    if (int64_t(found.size()) > count)
        cut();
    std::sort(found.begin(), found.end(), better);
    out = std::move(found);
    if (stats)
        *stats = st;
    return out;
}

size_t CellIndex::memoryBytes() const
{
    return m_offset.size() * sizeof(int64_t) + m_labels.size() * sizeof(int64_t)
           + m_vectors.size() * sizeof(uint16_t) + m_weights.size() * sizeof(float)
           + (m_centroids.size() + 3 * m_cosTheta.size()) * sizeof(float);
}

bool CellIndex::labelsBelow(int64_t limit) const
{
    return std::all_of(m_labels.begin(), m_labels.end(), [&](int64_t l) { return l >= 0 && l < limit; });
}

uint64_t CellIndex::warm() const
{
    // One element per 4 KiB page: see FactorStore::warm().
    uint64_t sum = 0;
    for (size_t i = 0; i < m_vectors.size(); i += 4096 / sizeof(uint16_t))
        sum += m_vectors[i];
    for (size_t i = 0; i < m_labels.size(); i += 4096 / sizeof(int64_t))
        sum += uint64_t(m_labels[i]);
    for (size_t i = 0; i < m_weights.size(); i += 4096 / sizeof(float))
        sum += uint64_t(m_weights[i]);
    return sum;
}

Status CellIndex::save(const std::string &path) const
{
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        const int32_t dim = m_dim, cellCount = cells();
        const int64_t n = size();
        out.write(kMagic, sizeof kMagic);
        out.write(reinterpret_cast<const char *>(&dim), sizeof dim);
        out.write(reinterpret_cast<const char *>(&cellCount), sizeof cellCount);
        out.write(reinterpret_cast<const char *>(&n), sizeof n);
        writeArray(out, m_offset);
        writeArray(out, m_labels);
        writeArray(out, m_vectors);
        writeArray(out, m_weights);
        writeArray(out, m_centroids);
        writeArray(out, m_cosTheta);
        writeArray(out, m_maxWeight);
        writeArray(out, m_minWeight);
        out.flush();
        if (!out)
            return Status::ioError(path + ": cannot write the index");
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    return ec ? Status::ioError(path + ": " + ec.message()) : Status::ok();
}

Result<std::unique_ptr<CellIndex>> CellIndex::load(const std::string &path, int dim)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return Status::notFound(path + ": no such index file");
    char magic[sizeof kMagic];
    int32_t fileDim = 0, cellCount = 0;
    int64_t n = 0;
    in.read(magic, sizeof magic);
    in.read(reinterpret_cast<char *>(&fileDim), sizeof fileDim);
    in.read(reinterpret_cast<char *>(&cellCount), sizeof cellCount);
    in.read(reinterpret_cast<char *>(&n), sizeof n);
    if (!in || std::memcmp(magic, kMagic, sizeof kMagic) != 0)
        return Status::corruption(path + ": not a TracLens cell index");
    if (fileDim != dim)
        return Status::corruption(path + ": index holds vectors of another dimension");
    std::error_code ec;
    const uintmax_t expected = sizeof kMagic + 16 + (size_t(cellCount) + 1) * 8 + size_t(n) * (8 + 2 * size_t(dim) + 4)
                               + size_t(cellCount) * (size_t(dim) + 3) * 4;
    if (cellCount < 0 || n < 0 || std::filesystem::file_size(path, ec) != expected)
        return Status::corruption(path + ": the index file has the wrong size");
    std::unique_ptr<CellIndex> index(new CellIndex);
    CellIndex &x = *index;
    x.m_dim = dim;
    const bool ok = readArray(in, &x.m_offset, size_t(cellCount) + 1) && readArray(in, &x.m_labels, size_t(n))
                    && readArray(in, &x.m_vectors, size_t(n) * size_t(dim)) && readArray(in, &x.m_weights, size_t(n))
                    && readArray(in, &x.m_centroids, size_t(cellCount) * size_t(dim))
                    && readArray(in, &x.m_cosTheta, size_t(cellCount))
                    && readArray(in, &x.m_maxWeight, size_t(cellCount))
                    && readArray(in, &x.m_minWeight, size_t(cellCount));
    if (!ok || x.m_offset.front() != 0 || x.m_offset.back() != n
        || !std::is_sorted(x.m_offset.begin(), x.m_offset.end()))
        return Status::corruption(path + ": cannot read the index");
    return index;
}

} // namespace traclens
