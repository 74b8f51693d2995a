#include "influence/computejob.h"

#include "model/checkpointcheck.h"
#include "store/factors.h"
#include "model/modelrunner.h"
#include "model/modeltrust.h"

#include <algorithm>
#include <chrono>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace traclens {

namespace {

using Clock = std::chrono::steady_clock;

struct LoadedModel {
    ModelSpec spec;
    std::vector<CheckpointRow> checkpoints;
    std::vector<std::unique_ptr<ModelRunner>> runners;
};

// The model's manifest and its registered checkpoints, after the checks every run of a
// model's code needs. Loading a checkpoint runs its code: only a trusted model, and only
// the files its stored factors were computed with (a replaced file would mix two models'
// factors).
struct CheckedModel {
    ModelSpec spec;
    std::vector<CheckpointRow> checkpoints;
};

Result<CheckedModel> checkedModel(ProjectDb &db, int64_t modelId)
{
    auto model = db.model(modelId);
    if (!model.ok())
        return model.status();
    TL_RETURN_IF_ERROR(requireTrustedModel(db, modelId));
    TL_RETURN_IF_ERROR(requireUnchangedCheckpoints(db, modelId));
    auto spec = readModelSpec(model->directory);
    if (!spec.ok())
        return spec.status();
    auto cps = db.checkpoints(modelId);
    if (!cps.ok())
        return cps.status();
    if (cps->empty())
        return Status::invalid(model->directory + ": the model has no checkpoints");
    if (cps->size() != spec->checkpoints.size())
        return Status::invalid(model->directory + ": the manifest lists " + std::to_string(spec->checkpoints.size())
                               + " checkpoints but the project registered " + std::to_string(cps->size()));
    return CheckedModel{std::move(spec).value(), std::move(cps).value()};
}

Result<LoadedModel> loadModel(ProjectDb &db, int64_t modelId)
{
    auto checked = checkedModel(db, modelId);
    if (!checked.ok())
        return checked.status();
    LoadedModel m;
    m.spec = std::move(checked->spec);
    m.checkpoints = std::move(checked->checkpoints);
    for (size_t i = 0; i < m.checkpoints.size(); ++i) {
        auto runner = ModelRunner::load(m.spec, i);
        if (!runner.ok())
            return runner.status();
        m.runners.push_back(std::move(runner).value());
    }
    return m;
}

} // namespace

int64_t ChunkFactors::pairs() const
{
    int64_t n = 0;
    for (const auto &rows : perCheckpoint)
        n += int64_t(rows.size());
    return n;
}

Result<ComputePlan> planCompute(ProjectDb &db, int64_t modelId, const ComputeOptions &options)
{
    auto checked = checkedModel(db, modelId);
    if (!checked.ok())
        return checked.status();
    const ModelSpec *spec = &checked->spec;
    const std::vector<CheckpointRow> *cps = &checked->checkpoints;
    auto dataset = db.dataset();
    if (!dataset.ok())
        return dataset.status();
    if (!dataset->has_value())
        return Status::invalid(db.path() + ": the project has no dataset; import one first");
    const DatasetInfo &info = **dataset;
    if (spec->classes.size() != info.classes.size())
        return Status::invalid(spec->directory + ": the model has " + std::to_string(spec->classes.size())
                               + " classes but the dataset has " + std::to_string(info.classes.size()));

    ComputePlan plan;
    plan.modelId = modelId;
    plan.modelDirectory = spec->directory;
    for (const auto &cp : *cps) {
        plan.checkpointIds.push_back(cp.id);
        plan.checkpointFiles.push_back(cp.file);
        plan.checkpointHashes.push_back(cp.contentHash);
    }
    plan.numClasses = int(spec->classes.size());
    plan.datasetKind = info.kind;
    plan.datasetRoot = info.root;
    plan.batchSize = std::max(1, options.batchSize);

    auto examples = db.examples();
    if (!examples.ok())
        return examples.status();
    // Work is chunk-major over fixed chunk boundaries of the full example list: each
    // image is decoded once and run through every checkpoint that still lacks it, a
    // chunk commits whole, and a resumed run feeds the model exactly the batches an
    // uninterrupted run would, so its numbers are identical.
    const size_t nc = cps->size();
    std::vector<std::unordered_set<int64_t>> missing(nc);
    int64_t pairsMissing = 0;
    for (size_t c = 0; c < nc; ++c) {
        auto ids = db.examplesMissingFactors((*cps)[c].id);
        if (!ids.ok())
            return ids.status();
        missing[c].insert(ids->begin(), ids->end());
        pairsMissing += int64_t(ids->size());
    }
    const std::vector<ExampleRow> &work = *examples; // all live examples, ordered
    plan.pairsTotal = int64_t(work.size() * nc);
    plan.reused = plan.pairsTotal - pairsMissing;
    const size_t chunk = size_t(std::max(plan.batchSize, options.chunkSize));
    // The chunks that still lack a factor somewhere, in order; the others are skipped
    // without decoding.
    for (size_t begin = 0; begin < work.size(); begin += chunk) {
        const size_t end = std::min(work.size(), begin + chunk);
        ComputeChunk ch;
        ch.begin = int64_t(begin);
        bool needed = false;
        for (size_t i = begin; i < end; ++i) {
            ChunkExample e;
            e.id = work[i].id;
            e.source = work[i].source;
            e.label = work[i].currentLabel;
            e.missing.resize(nc);
            for (size_t c = 0; c < nc; ++c) {
                e.missing[c] = missing[c].count(e.id) ? 1 : 0;
                needed = needed || e.missing[c];
            }
            ch.examples.push_back(std::move(e));
        }
        if (needed)
            plan.chunks.push_back(std::move(ch));
    }
    return plan;
}

struct ChunkComputer::Impl {
    ModelSpec spec;
    std::vector<std::string> files;
    std::vector<std::unique_ptr<ModelRunner>> runners;
    int numClasses = 0;
    int batch = 1;
    std::unique_ptr<ImageStore> store;
    BatchOutput out;
};

ChunkComputer::ChunkComputer(std::unique_ptr<Impl> impl) : d(std::move(impl)) {}
ChunkComputer::~ChunkComputer() = default;

Result<std::unique_ptr<ChunkComputer>> ChunkComputer::load(const ComputePlan &plan, bool verifyFiles)
{
    auto impl = std::make_unique<Impl>();
    auto spec = readModelSpec(plan.modelDirectory);
    if (!spec.ok())
        return spec.status();
    if (spec->checkpoints.size() != plan.checkpointFiles.size())
        return Status::invalid(plan.modelDirectory + ": the manifest lists " + std::to_string(spec->checkpoints.size())
                               + " checkpoints but the project registered " + std::to_string(plan.checkpointFiles.size()));
    if (int(spec->classes.size()) != plan.numClasses)
        return Status::invalid(plan.modelDirectory + ": the model has " + std::to_string(spec->classes.size())
                               + " classes but the dataset has " + std::to_string(plan.numClasses));
    impl->spec = std::move(spec).value();
    impl->files = plan.checkpointFiles;
    impl->numClasses = plan.numClasses;
    impl->batch = std::max(1, plan.batchSize);
    for (size_t i = 0; i < plan.checkpointFiles.size(); ++i) {
        // Another machine's copy of a checkpoint must be the file the project registered.
        if (verifyFiles && i < plan.checkpointHashes.size() && !plan.checkpointHashes[i].empty()) {
            auto id = readFileIdentity(plan.checkpointFiles[i]);
            if (!id.ok())
                return id.status();
            if (id->sha256 != plan.checkpointHashes[i])
                return Status::invalid(plan.checkpointFiles[i]
                                       + ": is not the checkpoint the project registered (its SHA-256 differs)");
        }
        auto runner = ModelRunner::load(impl->spec, i);
        if (!runner.ok())
            return runner.status();
        impl->runners.push_back(std::move(runner).value());
    }
    impl->store = std::make_unique<ImageStore>(plan.datasetKind, plan.datasetRoot);
    return std::unique_ptr<ChunkComputer>(new ChunkComputer(std::move(impl)));
}

// The one place where a chunk's pixels are prepared. In computeFactors it runs on the
// decoder thread; reads only the chunk, the store (thread-safe) and the flag, and writes
// only `out`. Stops at the first image that fails (its message names the file) or when
// cancelled.
Status ChunkComputer::decode(const ComputeChunk &chunk, DecodedChunk *out, const CancelFlag *cancel) const
{
    const InputSpec &input = d->spec.input;
    const size_t floatsPer = input.floatsPerImage();
    out->pixels.resize(chunk.examples.size() * floatsPer);
    for (size_t i = 0; i < chunk.examples.size(); ++i) {
        if (isCancelled(cancel))
            return Status::cancelled("compute cancelled");
        // Decoded and prepared as the model's manifest says: TracLens's own preparation,
        // or torchvision's exactly when the manifest records the transforms (imagedecoder.h).
        TL_RETURN_IF_ERROR(d->store->loadModelInput(chunk.examples[i].source, input, out->pixels.data() + i * floatsPer)
                               .withContext("computing factors"));
    }
    return Status::ok();
}

Result<ChunkFactors> ChunkComputer::run(const ComputeChunk &chunk, const DecodedChunk &decoded)
{
    const size_t floatsPer = d->spec.input.floatsPerImage();
    const size_t n = chunk.examples.size();
    const size_t nc = d->runners.size();
    const int k = d->numClasses;
    const size_t batch = size_t(d->batch);
    BatchOutput &out = d->out;
    ChunkFactors result;
    result.begin = chunk.begin;
    result.perCheckpoint.resize(nc);
    for (size_t c = 0; c < nc; ++c) {
        std::vector<FactorRow> &rows = result.perCheckpoint[c];
        for (size_t b = 0; b < n; b += batch) {
            const int m = int(std::min(batch, n - b));
            TL_RETURN_IF_ERROR(d->runners[c]->run(decoded.pixels.data() + b * floatsPer, m, &out)
                                   .withContext(d->files[c]));
            if (out.numClasses != k)
                return Status::invalid(d->files[c] + ": produced " + std::to_string(out.numClasses)
                                       + " logits per image, expected " + std::to_string(k));
            const int dim = out.embeddingDim;
            result.embeddingDim = dim;
            for (int r = 0; r < m; ++r) {
                const ChunkExample &e = chunk.examples[b + size_t(r)];
                if (!e.missing[c])
                    continue;
                FactorRow row;
                row.exampleId = e.id;
                row.labelUsed = e.label;
                row.error.resize(size_t(k));
                row.probs.resize(size_t(k));
                row.predicted = computeFactorRow(out.logits.data() + size_t(r) * k, k, row.labelUsed,
                                                 row.probs.data(), row.error.data(), &row.loss);
                row.embedding.assign(out.embeddings.begin() + size_t(r) * dim,
                                     out.embeddings.begin() + size_t(r + 1) * dim);
                rows.push_back(std::move(row));
            }
        }
    }
    return result;
}

Result<ChunkFactors> ChunkComputer::compute(const ComputeChunk &chunk, const CancelFlag *cancel)
{
    DecodedChunk decoded;
    TL_RETURN_IF_ERROR(decode(chunk, &decoded, cancel));
    return run(chunk, decoded);
}

namespace {

std::string jobNameOf(const ComputePlan &plan)
{
    return "compute:" + std::to_string(plan.modelId);
}

} // namespace

Status beginCompute(ProjectDb &db, const ComputePlan &plan)
{
    return db.setJob({jobNameOf(plan), "running", plan.reused, plan.pairsTotal, 0, ""});
}

Status commitChunk(ProjectDb &db, const ComputePlan &plan, const ChunkFactors &rows, int64_t *pairsDone)
{
    if (rows.perCheckpoint.size() != plan.checkpointIds.size())
        return Status::internal("a chunk's rows cover " + std::to_string(rows.perCheckpoint.size())
                                + " checkpoints, the model has " + std::to_string(plan.checkpointIds.size()));
    int64_t done = *pairsDone;
    {
        ProjectDb::Transaction tx(db);
        TL_RETURN_IF_ERROR(tx.status());
        for (size_t c = 0; c < plan.checkpointIds.size(); ++c) {
            TL_RETURN_IF_ERROR(db.writeFactors(plan.checkpointIds[c], rows.perCheckpoint[c]));
            done += int64_t(rows.perCheckpoint[c].size());
        }
        TL_RETURN_IF_ERROR(db.setJob({jobNameOf(plan), "running", plan.reused + done, plan.pairsTotal, 0, ""}));
        TL_RETURN_IF_ERROR(tx.commit());
    }
    *pairsDone = done;
    if (rows.begin == 0 && rows.embeddingDim > 0)
        db.setModelEmbeddingDim(plan.modelId, rows.embeddingDim);
    return Status::ok();
}

Status finishCompute(ProjectDb &db, const ComputePlan &plan, const ProgressFn &progress)
{
    if (progress)
        progress({"compute", "self-influence", plan.pairsTotal, plan.pairsTotal});
    TL_RETURN_IF_ERROR(computeSelfInfluence(db, plan.modelId));
    return db.setJob({jobNameOf(plan), "done", plan.pairsTotal, plan.pairsTotal, 0, ""});
}

Result<ComputeSummary> computeFactors(ProjectDb &db, int64_t modelId, const ComputeOptions &options,
                                      const ProgressFn &progress, const CancelFlag *cancel)
{
    ModelRunner::setThreads(options.threads);
    if (progress)
        progress({"compute", "loading checkpoints", 0, 0});
    auto planned = planCompute(db, modelId, options);
    if (!planned.ok())
        return planned.status();
    const ComputePlan &plan = *planned;
    auto loaded = ChunkComputer::load(plan);
    if (!loaded.ok())
        return loaded.status();
    ChunkComputer &computer = **loaded;

    ComputeSummary summary;
    summary.reused = plan.reused;
    const auto &todo = plan.chunks;
    int64_t pairsDone = 0;
    const auto started = Clock::now();
    TL_RETURN_IF_ERROR(beginCompute(db, plan));

    // Decoding overlaps inference: while the model runs chunk t, a second thread decodes
    // chunk t + 1 into the other buffer, so decoding adds to the run time only where it
    // is slower than the model. Chunk boundaries and batches are those of a sequential
    // run, so the numbers are identical. The guard joins the decoder on every way out
    // (error, cancel) before the buffers it writes go away.
    DecodedChunk current, ahead;
    std::thread decoder;
    struct Joiner {
        std::thread &t;
        ~Joiner()
        {
            if (t.joinable())
                t.join();
        }
    } joinDecoder{decoder};
    const auto decodeAhead = [&](size_t t) {
        const ComputeChunk *chunk = &todo[t];
        try {
            decoder = std::thread([&computer, &ahead, cancel, chunk] {
                ahead.status = computer.decode(*chunk, &ahead, cancel);
            });
        } catch (const std::system_error &) {
            // No thread to be had: decode here, as a sequential run would.
            ahead.status = computer.decode(*chunk, &ahead, cancel);
        }
    };
    if (!todo.empty())
        decodeAhead(0);

    for (size_t t = 0; t < todo.size(); ++t) {
        if (decoder.joinable())
            decoder.join();
        std::swap(current, ahead);
        if (isCancelled(cancel)) {
            db.setJob({jobNameOf(plan), "cancelled", summary.reused + pairsDone, plan.pairsTotal, 0, ""});
            return Status::cancelled("compute cancelled; finished chunks are kept and the next run resumes");
        }
        // A bad image fails the run here, after every earlier chunk has committed.
        TL_RETURN_IF_ERROR(current.status);
        if (t + 1 < todo.size())
            decodeAhead(t + 1);
        // Inference runs before the transaction opens, so the write lock is held only
        // for the inserts and a relabel from the GUI never waits behind a chunk.
        auto rows = computer.run(todo[t], current);
        if (!rows.ok())
            return rows.status();
        TL_RETURN_IF_ERROR(commitChunk(db, plan, *rows, &pairsDone));
        if (progress)
            progress({"compute", "TracIn factors", summary.reused + pairsDone, plan.pairsTotal});
    }

    // The rate covers the whole loop (decoding, inference, factor rows and SQLite
    // writes), so it can be compared directly with bare inference.
    summary.computed = pairsDone;
    summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    summary.vectorsPerSecond = summary.seconds > 0 ? double(pairsDone) / summary.seconds : 0.0;
    TL_RETURN_IF_ERROR(finishCompute(db, plan, progress));
    return summary;
}

Status computeSelfInfluence(ProjectDb &db, int64_t modelId)
{
    auto cps = db.checkpoints(modelId);
    if (!cps.ok())
        return cps.status();
    std::unordered_map<int64_t, double> acc;
    for (const auto &cp : *cps) {
        const double eta = cp.learningRate;
        TL_RETURN_IF_ERROR(db.forEachFactor(cp.id, [&](const FactorRow &r) {
            const double e2 = dot(r.error.data(), r.error.data(), int(r.error.size()));
            const double h2 = dot(r.embedding.data(), r.embedding.data(), int(r.embedding.size()));
            acc[r.exampleId] += eta * e2 * (h2 + 1.0);
        }));
    }
    std::vector<std::pair<int64_t, double>> values(acc.begin(), acc.end());
    std::sort(values.begin(), values.end());
    return db.writeSelfInfluence(modelId, values);
}

namespace {

// `image` set: prepare it; otherwise decode `file` the way the model's manifest asks
// (torchvision's loader when it records transforms, so an outside image is prepared
// exactly as the project's examples are).
Result<QueryFactors> imageFactors(ProjectDb &db, int64_t modelId, const cv::Mat *image, const std::string &file,
                                  int label)
{
    auto loaded = loadModel(db, modelId);
    if (!loaded.ok())
        return loaded.status();
    LoadedModel &model = loaded.value();
    const int k = int(model.spec.classes.size());
    if (label >= k)
        return Status::invalid("label " + std::to_string(label) + " is not a class of the model");
    std::vector<float> pixels(model.spec.input.floatsPerImage());
    if (image) {
        TL_RETURN_IF_ERROR(prepareModelInput(*image, model.spec.input, pixels.data(), "query image"));
    } else {
        auto decoded = decodeImageFile(file, decodeStyleFor(model.spec.input));
        if (!decoded.ok())
            return decoded.status();
        TL_RETURN_IF_ERROR(prepareModelInput(*decoded, model.spec.input, pixels.data(), file));
    }
    std::vector<BatchOutput> outs(model.runners.size());
    for (size_t c = 0; c < model.runners.size(); ++c)
        TL_RETURN_IF_ERROR(model.runners[c]->run(pixels.data(), 1, &outs[c]).withContext(model.checkpoints[c].file));
    QueryFactors q;
    if (label < 0) {
        const auto &last = outs.back().logits;
        label = int(std::max_element(last.begin(), last.begin() + k) - last.begin());
        q.labelPredicted = true;
    }
    q.label = label;
    for (auto &o : outs) {
        FactorRow row;
        row.exampleId = -1;
        row.labelUsed = label;
        row.error.resize(size_t(k));
        row.probs.resize(size_t(k));
        row.predicted = computeFactorRow(o.logits.data(), k, label, row.probs.data(), row.error.data(), &row.loss);
        row.embedding = o.embeddings;
        q.perCheckpoint.push_back(std::move(row));
    }
    return q;
}

} // namespace

Result<QueryFactors> computeImageFactors(ProjectDb &db, int64_t modelId, const cv::Mat &image, int label)
{
    return imageFactors(db, modelId, &image, std::string(), label);
}

Result<QueryFactors> computeImageFileFactors(ProjectDb &db, int64_t modelId, const std::string &file, int label)
{
    return imageFactors(db, modelId, nullptr, file, label);
}

} // namespace traclens
