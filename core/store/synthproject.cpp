#include "store/synthproject.h"

#include "store/factors.h"
#include "store/projectdb.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>

namespace fs = std::filesystem;

namespace traclens {

namespace {

struct Centre {
    std::vector<float> mu;     // D
    std::vector<float> logits; // K
};

// Per-example generator: independent of chunking and of the other examples.
std::mt19937_64 exampleRng(uint64_t seed, int64_t number)
{
    std::seed_seq seq{uint32_t(seed), uint32_t(seed >> 32), uint32_t(number), uint32_t(uint64_t(number) >> 32)};
    return std::mt19937_64(seq);
}

} // namespace

int plantedCentre(const std::string &source)
{
    // "<split>/<class>/<centre>/<number>"
    const size_t a = source.find('/');
    const size_t b = a == std::string::npos ? a : source.find('/', a + 1);
    const size_t c = b == std::string::npos ? b : source.find('/', b + 1);
    if (c == std::string::npos)
        return -1;
    try {
        return std::stoi(source.substr(b + 1, c - b - 1));
    } catch (...) {
        return -1;
    }
}

Result<SynthSummary> writeSyntheticProject(const std::string &path, const SynthOptions &o, const ProgressFn &progress,
                                           const CancelFlag *cancel)
{
    const auto t0 = std::chrono::steady_clock::now();
    if (o.train < 1 || o.test < 0 || o.classes < 2 || o.dim < 1 || o.checkpoints < 1 || o.clustersPerClass < 1
        || o.chunk < 1)
        return Status::invalid("synth: train ≥ 1, test ≥ 0, classes ≥ 2, dim ≥ 1, checkpoints ≥ 1, clusters ≥ 1");
    if (o.clustersPerClass > o.classes - 1)
        return Status::invalid("synth: at most classes − 1 clusters per class (each has its own confusing class)");
    std::error_code ec;
    if (fs::exists(path, ec)) {
        if (!o.overwrite)
            return Status::invalid(path + ": exists; choose another file or pass overwrite");
        for (const char *suffix : {"", "-wal", "-shm"})
            fs::remove(path + suffix, ec);
        fs::remove_all(path + ".d", ec);
    }
    auto opened = ProjectDb::open(path, ProjectDb::OpenMode::Create);
    if (!opened.ok())
        return opened.status();
    ProjectDb &db = **opened;
    const int K = o.classes, D = o.dim, C = o.checkpoints, Q = o.clustersPerClass;

    std::vector<std::string> names;
    for (int i = 0; i < K; ++i)
        names.push_back("class" + std::to_string(i));
    TL_RETURN_IF_ERROR(db.setDataset({SourceKind::ImageFolder, "/synthetic", "synthetic", names}));
    std::vector<CheckpointRow> cps(static_cast<size_t>(C));
    for (int c = 0; c < C; ++c) {
        cps[size_t(c)].file = "synthetic-" + std::to_string(c + 1) + ".pt";
        cps[size_t(c)].learningRate = 0.05 / double(1 << c);
    }
    ModelRow model;
    model.name = "synthetic";
    model.directory = db.sideDirectory() + "/synthetic-model";
    model.numClasses = K;
    model.embeddingDim = D;
    auto modelId = db.addModel(model, cps);
    if (!modelId.ok())
        return modelId.status();
    TL_RETURN_IF_ERROR(db.setActiveModel(*modelId));
    auto stored = db.checkpoints(*modelId);
    if (!stored.ok())
        return stored.status();

    // Planted centres: per class Q of them, each with its own confusing class.
    std::vector<Centre> centres(size_t(K) * size_t(Q));
    {
        std::mt19937_64 rng(o.seed * 7919 + 17);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        for (int y = 0; y < K; ++y) {
            std::vector<int> others;
            for (int j = 0; j < K; ++j)
                if (j != y)
                    others.push_back(j);
            std::shuffle(others.begin(), others.end(), rng);
            for (int q = 0; q < Q; ++q) {
                Centre &ct = centres[size_t(y) * size_t(Q) + size_t(q)];
                ct.mu.resize(size_t(D));
                for (auto &v : ct.mu) // sparse non-negative features, like ReLU outputs
                    v = std::max(0.0f, normal(rng) - 0.3f) * 1.5f;
                // Each centre of a class also lights up its own block of features, so the
                // centres are separated whatever the draw above gave.
                const int block = std::max(1, D / Q);
                for (int j = q * block; j < std::min(D, (q + 1) * block); ++j)
                    ct.mu[size_t(j)] += 1.5f;
                ct.logits.resize(size_t(K));
                for (auto &v : ct.logits)
                    v = 0.5f * normal(rng);
                ct.logits[size_t(y)] = 3.0f;
                ct.logits[size_t(others[size_t(q)])] = 2.0f;
            }
        }
    }

    SynthSummary summary;
    summary.modelId = *modelId;
    const int64_t total = o.train + o.test;
    std::vector<float> logits(static_cast<size_t>(K));
    std::vector<std::pair<int64_t, double>> selfValues;
    selfValues.reserve(size_t(total));
    std::vector<std::vector<FactorRow>> rows(static_cast<size_t>(C));
    for (int64_t begin = 0; begin < total; begin += o.chunk) {
        if (isCancelled(cancel))
            return Status::cancelled();
        const int64_t end = std::min(total, begin + o.chunk);
        for (auto &r : rows)
            r.resize(size_t(end - begin));
        ProjectDb::Transaction tx(db);
        TL_RETURN_IF_ERROR(tx.status());
        for (int64_t i = begin; i < end; ++i) {
            const bool train = i < o.train;
            auto rng = exampleRng(o.seed, i);
            std::normal_distribution<float> normal(0.0f, 1.0f);
            const int y = int(rng() % uint64_t(K));
            const int q = int(rng() % uint64_t(Q));
            const Centre &ct = centres[size_t(y) * size_t(Q) + size_t(q)];
            ScannedExample ex;
            ex.source = std::string(train ? "train/" : "test/") + std::to_string(y) + "/" + std::to_string(q) + "/"
                        + std::to_string(i);
            ex.split = train ? Split::Train : Split::Test;
            ex.label = y;
            auto id = db.upsertExample(ex, "synthetic");
            if (!id.ok())
                return id.status();
            // The example's own offsets, shared by every checkpoint (the same image).
            std::vector<float> hNoise(static_cast<size_t>(D)), zNoise(static_cast<size_t>(K));
            for (auto &v : hNoise)
                v = normal(rng);
            for (auto &v : zNoise)
                v = normal(rng);
            double self = 0.0;
            for (int c = 0; c < C; ++c) {
                FactorRow &f = rows[size_t(c)][size_t(i - begin)];
                f.exampleId = *id;
                f.labelUsed = y;
                f.embedding.resize(size_t(D));
                const float sharpen = 1.0f + 0.15f * float(c);
                for (int j = 0; j < D; ++j)
                    f.embedding[size_t(j)] =
                        std::max(0.0f, ct.mu[size_t(j)] + float(o.noise) * (hNoise[size_t(j)] + 0.3f * normal(rng)))
                        * sharpen;
                const float confidence = 0.5f + float(c) / float(C);
                for (int j = 0; j < K; ++j)
                    logits[size_t(j)] = confidence * (ct.logits[size_t(j)] + 0.4f * zNoise[size_t(j)]);
                f.probs.resize(size_t(K));
                f.error.resize(size_t(K));
                f.predicted = computeFactorRow(logits.data(), K, y, f.probs.data(), f.error.data(), &f.loss);
                self += cps[size_t(c)].learningRate * dot(f.error.data(), f.error.data(), K)
                        * (dot(f.embedding.data(), f.embedding.data(), D) + 1.0);
            }
            selfValues.emplace_back(*id, self);
        }
        for (int c = 0; c < C; ++c)
            TL_RETURN_IF_ERROR(db.writeFactors((*stored)[size_t(c)].id, rows[size_t(c)]));
        TL_RETURN_IF_ERROR(tx.commit());
        summary.examples = end;
        summary.factorRows = end * C;
        if (progress)
            progress({"synth", "examples and factors", end, total});
    }
    TL_RETURN_IF_ERROR(db.writeSelfInfluence(*modelId, selfValues));
    TL_RETURN_IF_ERROR(db.setJob({"compute:" + std::to_string(*modelId), "done", total * C, total * C, 0, "synthetic"}));
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return summary;
}

} // namespace traclens
