#include "index/vectorindex.h"

#include "util/float16.h"

#include <hnswlib/hnswlib.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

namespace traclens {

namespace {

float halfIpDistance(const void *a, const void *b, const void *param)
{
    const size_t dim = *static_cast<const size_t *>(param);
    return 1.0f - dotHalves(static_cast<const uint16_t *>(a), static_cast<const uint16_t *>(b), dim);
}

// hnswlib space for half-precision vectors: the stored element is dim × 2 bytes.
class HalfIpSpace : public hnswlib::SpaceInterface<float> {
public:
    explicit HalfIpSpace(size_t dim) : m_dim(dim) {}
    size_t get_data_size() override { return m_dim * sizeof(uint16_t); }
    hnswlib::DISTFUNC<float> get_dist_func() override { return &halfIpDistance; }
    void *get_dist_func_param() override { return &m_dim; }

private:
    size_t m_dim;
};

} // namespace

struct VectorIndex::Impl {
    std::unique_ptr<HalfIpSpace> space;
    std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
};

VectorIndex::~VectorIndex() = default;

Result<std::unique_ptr<VectorIndex>> VectorIndex::create(int dim, int64_t capacity, const VectorIndexParams &params)
{
    if (dim <= 0 || capacity <= 0 || params.M < 2 || params.efConstruction < 1)
        return Status::invalid("vector index: bad dimension, capacity or parameters");
    std::unique_ptr<VectorIndex> index(new VectorIndex);
    index->m_dim = dim;
    index->d = std::make_unique<Impl>();
    index->d->space = std::make_unique<HalfIpSpace>(size_t(dim));
    try {
        index->d->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(
            index->d->space.get(), size_t(capacity), size_t(params.M), size_t(params.efConstruction),
            size_t(params.seed));
    } catch (const std::exception &e) {
        return Status::internal(std::string("vector index: ") + e.what());
    }
    return index;
}

Result<std::unique_ptr<VectorIndex>> VectorIndex::load(const std::string &path, int dim)
{
    std::unique_ptr<VectorIndex> index(new VectorIndex);
    index->m_dim = dim;
    index->d = std::make_unique<Impl>();
    index->d->space = std::make_unique<HalfIpSpace>(size_t(dim));
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return Status::notFound(path + ": no such index file");
    try {
        index->d->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(index->d->space.get(), path);
    } catch (const std::exception &e) {
        return Status::corruption(path + ": cannot read the index (" + e.what() + ")");
    }
    // hnswlib reads the element size from the file; a mismatch means another dimension.
    if (index->d->graph->data_size_ != size_t(dim) * sizeof(uint16_t))
        return Status::corruption(path + ": index holds vectors of another dimension");
    return index;
}

int64_t VectorIndex::size() const
{
    return int64_t(d->graph->cur_element_count);
}

Status VectorIndex::add(const float *v, int64_t label)
{
    std::vector<uint16_t> half(static_cast<size_t>(m_dim));
    floatsToHalves(v, half.data(), half.size());
    try {
        d->graph->addPoint(half.data(), hnswlib::labeltype(label));
    } catch (const std::exception &e) {
        return Status::internal(std::string("vector index: ") + e.what());
    }
    return Status::ok();
}

Status VectorIndex::addAll(const std::vector<int64_t> &labels, int threads,
                           const std::function<void(int64_t, float *)> &vectorOf, const Progress &stage,
                           const ProgressFn &progress, const CancelFlag *cancel)
{
    threads = std::max(1, threads);
    const int64_t n = int64_t(labels.size());
    std::atomic<int64_t> next{0}, done{0};
    std::atomic<bool> stop{false};
    std::mutex errorMutex;
    Status failure;
    // Work is handed out in blocks so that the threads' insertions interleave.
    constexpr int64_t kBlock = 256;
    auto work = [&](bool reporter) {
        std::vector<float> v(static_cast<size_t>(m_dim));
        std::vector<uint16_t> half(static_cast<size_t>(m_dim));
        while (!stop.load(std::memory_order_relaxed)) {
            const int64_t begin = next.fetch_add(kBlock);
            if (begin >= n)
                break;
            const int64_t end = std::min(n, begin + kBlock);
            for (int64_t i = begin; i < end; ++i) {
                vectorOf(labels[size_t(i)], v.data());
                floatsToHalves(v.data(), half.data(), half.size());
                try {
                    d->graph->addPoint(half.data(), hnswlib::labeltype(labels[size_t(i)]));
                } catch (const std::exception &e) {
                    std::lock_guard<std::mutex> lock(errorMutex);
                    failure = Status::internal(std::string("vector index: ") + e.what());
                    stop = true;
                    return;
                }
            }
            const int64_t total = done.fetch_add(end - begin) + (end - begin);
            if (isCancelled(cancel))
                stop = true;
            if (reporter && progress) {
                Progress p = stage;
                p.done = stage.done + total;
                progress(p);
            }
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t)
        pool.emplace_back(work, false);
    work(true);
    for (auto &t : pool)
        t.join();
    TL_RETURN_IF_ERROR(failure);
    if (isCancelled(cancel))
        return Status::cancelled();
    return Status::ok();
}

Status VectorIndex::save(const std::string &path) const
{
    const std::string tmp = path + ".tmp";
    try {
        d->graph->saveIndex(tmp);
    } catch (const std::exception &e) {
        return Status::ioError(path + ": cannot write the index (" + e.what() + ")");
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec)
        return Status::ioError(path + ": " + ec.message());
    return Status::ok();
}

void VectorIndex::setEf(int ef)
{
    d->graph->setEf(size_t(std::max(1, ef)));
}

std::vector<std::pair<float, int64_t>> VectorIndex::search(const float *q, int count) const
{
    std::vector<uint16_t> half(static_cast<size_t>(m_dim));
    floatsToHalves(q, half.data(), half.size());
    std::vector<std::pair<float, int64_t>> out;
    try {
        auto found = d->graph->searchKnn(half.data(), size_t(std::max(1, count)));
        out.resize(found.size());
        // The queue pops the farthest first.
        for (size_t i = out.size(); i-- > 0;) {
            out[i] = {1.0f - found.top().first, int64_t(found.top().second)};
            found.pop();
        }
    } catch (const std::exception &) {
        out.clear();
    }
    return out;
}

uint64_t VectorIndex::warm() const
{
    // One byte per 4 KiB page of the bottom layer (vectors and links of every element),
    // which every search reads scattered: see FactorStore::warm().
    const auto &g = *d->graph;
    const size_t bytes = g.cur_element_count * g.size_data_per_element_;
    uint64_t sum = 0;
    for (size_t i = 0; i < bytes; i += 4096)
        sum += uint8_t(g.data_level0_memory_[i]);
    return sum;
}

size_t VectorIndex::memoryBytes() const
{
    const auto &g = *d->graph;
    // Bottom layer (links + vector + label per element), upper-layer links, a lock per
    // element, its level and the label map.
    size_t bytes = g.max_elements_ * g.size_data_per_element_;
    for (size_t i = 0; i < g.cur_element_count; ++i)
        if (g.element_levels_[i] > 0)
            bytes += g.size_links_per_element_ * size_t(g.element_levels_[i]);
    bytes += g.max_elements_ * (sizeof(std::mutex) + sizeof(int) + sizeof(void *));
    bytes += g.cur_element_count * 48; // unordered_map node + bucket, approximately
    return bytes;
}

} // namespace traclens
