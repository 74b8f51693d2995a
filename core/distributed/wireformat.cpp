#include "distributed/wireformat.h"

#include <cstring>
#include <type_traits>

namespace traclens::wire {

namespace {

class Writer {
public:
    explicit Writer(Bytes *out) : m_out(out) {}
    template<typename T>
    void put(T v)
    {
        static_assert(std::is_trivially_copyable_v<T>);
        const size_t at = m_out->size();
        m_out->resize(at + sizeof(T));
        std::memcpy(m_out->data() + at, &v, sizeof(T));
    }
    void putString(const std::string &s)
    {
        put<uint64_t>(s.size());
        m_out->insert(m_out->end(), s.begin(), s.end());
    }
    void putFloats(const std::vector<float> &v)
    {
        put<uint64_t>(v.size());
        const auto *p = reinterpret_cast<const uint8_t *>(v.data());
        m_out->insert(m_out->end(), p, p + v.size() * sizeof(float));
    }

private:
    Bytes *m_out;
};

class Reader {
public:
    Reader(const uint8_t *data, size_t size) : m_p(data), m_left(size) {}
    template<typename T>
    bool get(T *v)
    {
        if (m_left < sizeof(T))
            return false;
        std::memcpy(v, m_p, sizeof(T));
        m_p += sizeof(T);
        m_left -= sizeof(T);
        return true;
    }
    bool getString(std::string *s)
    {
        uint64_t n = 0;
        if (!get(&n) || n > m_left)
            return false;
        s->assign(reinterpret_cast<const char *>(m_p), size_t(n));
        m_p += n;
        m_left -= size_t(n);
        return true;
    }
    bool getFloats(std::vector<float> *v)
    {
        uint64_t n = 0;
        if (!get(&n) || n > m_left / sizeof(float))
            return false;
        v->resize(size_t(n));
        std::memcpy(v->data(), m_p, size_t(n) * sizeof(float));
        m_p += n * sizeof(float);
        m_left -= size_t(n) * sizeof(float);
        return true;
    }
    size_t left() const { return m_left; }

private:
    const uint8_t *m_p;
    size_t m_left;
};

constexpr uint32_t kPlanMagic = 0x544c5031;    // "TLP1"
constexpr uint32_t kChunkMagic = 0x544c4331;   // "TLC1"
constexpr uint32_t kFactorsMagic = 0x544c4631; // "TLF1"

Status truncated(const char *what)
{
    return Status::corruption(std::string("distributed compute: a truncated or garbled ") + what + " message");
}

} // namespace

Bytes encodePlanHeader(const ComputePlan &plan)
{
    Bytes out;
    Writer w(&out);
    w.put(kPlanMagic);
    w.put<int64_t>(plan.modelId);
    w.putString(plan.modelDirectory);
    w.put<uint64_t>(plan.checkpointFiles.size());
    for (size_t i = 0; i < plan.checkpointFiles.size(); ++i) {
        w.put<int64_t>(i < plan.checkpointIds.size() ? plan.checkpointIds[i] : 0);
        w.putString(plan.checkpointFiles[i]);
        w.putString(i < plan.checkpointHashes.size() ? plan.checkpointHashes[i] : std::string());
    }
    w.put<int32_t>(plan.numClasses);
    w.put<int32_t>(int32_t(plan.datasetKind));
    w.putString(plan.datasetRoot);
    w.put<int32_t>(plan.batchSize);
    w.put<int64_t>(plan.pairsTotal);
    w.put<int64_t>(plan.reused);
    w.put<int64_t>(int64_t(plan.chunks.size()));
    return out;
}

Result<ComputePlan> decodePlanHeader(const Bytes &bytes, int64_t *chunkCount)
{
    Reader r(bytes.data(), bytes.size());
    ComputePlan plan;
    uint32_t magic = 0;
    uint64_t nc = 0;
    if (!r.get(&magic) || magic != kPlanMagic || !r.get(&plan.modelId) || !r.getString(&plan.modelDirectory)
        || !r.get(&nc) || nc > r.left())
        return truncated("plan");
    for (uint64_t i = 0; i < nc; ++i) {
        int64_t id = 0;
        std::string file, hash;
        if (!r.get(&id) || !r.getString(&file) || !r.getString(&hash))
            return truncated("plan");
        plan.checkpointIds.push_back(id);
        plan.checkpointFiles.push_back(std::move(file));
        plan.checkpointHashes.push_back(std::move(hash));
    }
    int32_t kind = 0;
    if (!r.get(&plan.numClasses) || !r.get(&kind) || !r.getString(&plan.datasetRoot) || !r.get(&plan.batchSize)
        || !r.get(&plan.pairsTotal) || !r.get(&plan.reused) || !r.get(chunkCount))
        return truncated("plan");
    plan.datasetKind = SourceKind(kind);
    return plan;
}

Bytes encodeChunk(const ComputeChunk &chunk)
{
    Bytes out;
    Writer w(&out);
    w.put(kChunkMagic);
    w.put<int64_t>(chunk.begin);
    w.put<uint64_t>(chunk.examples.size());
    for (const auto &e : chunk.examples) {
        w.put<int64_t>(e.id);
        w.putString(e.source);
        w.put<int32_t>(e.label);
        w.putString(std::string(e.missing.begin(), e.missing.end()));
    }
    return out;
}

Result<ComputeChunk> decodeChunk(const Bytes &bytes)
{
    Reader r(bytes.data(), bytes.size());
    ComputeChunk chunk;
    uint32_t magic = 0;
    uint64_t n = 0;
    if (!r.get(&magic) || magic != kChunkMagic || !r.get(&chunk.begin) || !r.get(&n) || n > r.left())
        return truncated("chunk");
    chunk.examples.resize(size_t(n));
    for (auto &e : chunk.examples) {
        std::string missing;
        if (!r.get(&e.id) || !r.getString(&e.source) || !r.get(&e.label) || !r.getString(&missing))
            return truncated("chunk");
        e.missing.assign(missing.begin(), missing.end());
    }
    return chunk;
}

Bytes encodeFactors(int64_t chunkIndex, const ChunkFactors &rows)
{
    Bytes out;
    size_t floats = 0;
    for (const auto &cp : rows.perCheckpoint)
        for (const auto &row : cp)
            floats += row.error.size() + row.embedding.size() + row.probs.size();
    out.reserve(64 + floats * sizeof(float) + 64 * rows.pairs());
    Writer w(&out);
    w.put(kFactorsMagic);
    w.put<int64_t>(chunkIndex);
    w.put<int64_t>(rows.begin);
    w.put<int32_t>(rows.embeddingDim);
    w.put<uint64_t>(rows.perCheckpoint.size());
    for (const auto &cp : rows.perCheckpoint) {
        w.put<uint64_t>(cp.size());
        for (const auto &row : cp) {
            w.put<int64_t>(row.exampleId);
            w.put<float>(row.loss);
            w.put<int32_t>(row.predicted);
            w.put<int32_t>(row.labelUsed);
            w.putFloats(row.error);
            w.putFloats(row.embedding);
            w.putFloats(row.probs);
        }
    }
    return out;
}

Result<ChunkFactors> decodeFactors(const uint8_t *data, size_t size, int64_t *chunkIndex)
{
    Reader r(data, size);
    ChunkFactors rows;
    uint32_t magic = 0;
    uint64_t nc = 0;
    if (!r.get(&magic) || magic != kFactorsMagic || !r.get(chunkIndex) || !r.get(&rows.begin)
        || !r.get(&rows.embeddingDim) || !r.get(&nc) || nc > r.left())
        return truncated("factor rows");
    rows.perCheckpoint.resize(size_t(nc));
    for (auto &cp : rows.perCheckpoint) {
        uint64_t n = 0;
        if (!r.get(&n) || n > r.left())
            return truncated("factor rows");
        cp.resize(size_t(n));
        for (auto &row : cp) {
            if (!r.get(&row.exampleId) || !r.get(&row.loss) || !r.get(&row.predicted) || !r.get(&row.labelUsed)
                || !r.getFloats(&row.error) || !r.getFloats(&row.embedding) || !r.getFloats(&row.probs))
                return truncated("factor rows");
        }
    }
    if (r.left() != 0)
        return truncated("factor rows");
    return rows;
}

} // namespace traclens::wire
