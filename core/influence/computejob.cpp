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

Result<LoadedModel> loadModel(ProjectDb &db, int64_t modelId)
{
    auto model = db.model(modelId);
    if (!model.ok())
        return model.status();
    // Loading a checkpoint runs its code: only a trusted model, and only the files its
    // stored factors were computed with (a replaced file would mix two models' factors).
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
    LoadedModel m;
    m.spec = std::move(spec).value();
    m.checkpoints = std::move(cps).value();
    for (size_t i = 0; i < m.checkpoints.size(); ++i) {
        auto runner = ModelRunner::load(m.spec, i);
        if (!runner.ok())
            return runner.status();
        m.runners.push_back(std::move(runner).value());
    }
    return m;
}

// One chunk of model input, decoded ahead of the model.
struct DecodedChunk {
    std::vector<float> pixels; // rows × floatsPerImage
    std::vector<int> labels;   // current label of each row
    Status status;
};

// The one place where a chunk's pixels are prepared. Runs on the decoder thread; reads
// only the rows, the store (thread-safe) and the flag, and writes only `out`. Stops at
// the first image that fails (its message names the file) or when cancelled.
Status decodeChunk(const ImageStore &store, const InputSpec &input, const std::vector<const ExampleRow *> &rows,
                   const CancelFlag *cancel, DecodedChunk *out)
{
    const size_t floatsPer = input.floatsPerImage();
    out->pixels.resize(rows.size() * floatsPer);
    out->labels.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
        if (isCancelled(cancel))
            return Status::cancelled("compute cancelled");
        // Decoded and prepared as the model's manifest says: TracLens's own preparation,
        // or torchvision's exactly when the manifest records the transforms (imagedecoder.h).
        TL_RETURN_IF_ERROR(store.loadModelInput(rows[i]->source, input, out->pixels.data() + i * floatsPer)
                               .withContext("computing factors"));
        out->labels[i] = rows[i]->currentLabel;
    }
    return Status::ok();
}

} // namespace

Result<ComputeSummary> computeFactors(ProjectDb &db, int64_t modelId, const ComputeOptions &options,
                                      const ProgressFn &progress, const CancelFlag *cancel)
{
    ModelRunner::setThreads(options.threads);
    const std::string jobName = "compute:" + std::to_string(modelId);
    if (progress)
        progress({"compute", "loading checkpoints", 0, 0});
    auto loaded = loadModel(db, modelId);
    if (!loaded.ok())
        return loaded.status();
    LoadedModel &model = loaded.value();
    auto dataset = db.dataset();
    if (!dataset.ok())
        return dataset.status();
    if (!dataset->has_value())
        return Status::invalid(db.path() + ": the project has no dataset; import one first");
    const DatasetInfo &info = **dataset;
    if (model.spec.classes.size() != info.classes.size())
        return Status::invalid(model.spec.directory + ": the model has " + std::to_string(model.spec.classes.size())
                               + " classes but the dataset has " + std::to_string(info.classes.size()));
    const int k = int(model.spec.classes.size());
    const InputSpec &input = model.spec.input;
    const size_t floatsPer = input.floatsPerImage();

    auto examples = db.examples();
    if (!examples.ok())
        return examples.status();
    std::unordered_map<int64_t, const ExampleRow *> byId;
    for (const auto &e : *examples)
        byId.emplace(e.id, &e);

    // Work is chunk-major over fixed chunk boundaries of the full example list: each
    // image is decoded once and run through every checkpoint that still lacks it, a
    // chunk commits whole, and a resumed run feeds the model exactly the batches an
    // uninterrupted run would, so its numbers are identical.
    const size_t nc = model.checkpoints.size();
    std::vector<std::unordered_set<int64_t>> missing(nc);
    std::vector<int64_t> work; // all live example ids, ordered
    int64_t pairsMissing = 0;
    for (size_t c = 0; c < nc; ++c) {
        auto ids = db.examplesMissingFactors(model.checkpoints[c].id);
        if (!ids.ok())
            return ids.status();
        missing[c].insert(ids->begin(), ids->end());
        pairsMissing += int64_t(ids->size());
    }
    for (const auto &e : *examples)
        work.push_back(e.id);
    const int64_t pairsTotal = int64_t(work.size() * nc);

    ComputeSummary summary;
    summary.reused = pairsTotal - pairsMissing;
    ImageStore store(info.kind, info.root);
    const int batch = std::max(1, options.batchSize);
    const size_t chunk = size_t(std::max(batch, options.chunkSize));
    // The chunks that still lack a factor somewhere, in order; the others are skipped
    // without decoding.
    std::vector<size_t> todo;
    for (size_t begin = 0; begin < work.size(); begin += chunk) {
        const size_t end = std::min(work.size(), begin + chunk);
        bool needed = false;
        for (size_t c = 0; c < nc && !needed; ++c)
            for (size_t i = begin; i < end && !needed; ++i)
                needed = missing[c].count(work[i]) > 0;
        if (needed)
            todo.push_back(begin);
    }
    BatchOutput out;
    int64_t pairsDone = 0;
    const auto started = Clock::now();
    TL_RETURN_IF_ERROR(db.setJob({jobName, "running", summary.reused, pairsTotal, 0, ""}));

    // Decoding overlaps inference: while the model runs chunk t, a second thread decodes
    // chunk t + 1 into the other buffer, so decoding adds to the run time only where it
    // is slower than the model. Chunk boundaries and batches are those of a sequential
    // run, so the numbers are identical. The guard joins the decoder on every way out
    // (error, cancel) before the buffers it writes go away.
    const auto rowsOf = [&](size_t begin) {
        std::vector<const ExampleRow *> rows;
        for (size_t i = begin; i < std::min(work.size(), begin + chunk); ++i)
            rows.push_back(byId.at(work[i]));
        return rows;
    };
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
        auto rows = rowsOf(todo[t]);
        try {
            decoder = std::thread([&store, &input, &ahead, cancel, rows] {
                ahead.status = decodeChunk(store, input, rows, cancel, &ahead);
            });
        } catch (const std::system_error &) {
            // No thread to be had: decode here, as a sequential run would.
            ahead.status = decodeChunk(store, input, rows, cancel, &ahead);
        }
    };
    if (!todo.empty())
        decodeAhead(0);

    for (size_t t = 0; t < todo.size(); ++t) {
        const size_t begin = todo[t];
        if (decoder.joinable())
            decoder.join();
        std::swap(current, ahead);
        if (isCancelled(cancel)) {
            db.setJob({jobName, "cancelled", summary.reused + pairsDone, pairsTotal, 0, ""});
            return Status::cancelled("compute cancelled; finished chunks are kept and the next run resumes");
        }
        // A bad image fails the run here, after every earlier chunk has committed.
        TL_RETURN_IF_ERROR(current.status);
        if (t + 1 < todo.size())
            decodeAhead(t + 1);
        const size_t n = current.labels.size();
        const std::vector<float> &pixels = current.pixels;
        const std::vector<int> &labels = current.labels;
        // Inference runs before the transaction opens, so the write lock is held only
        // for the inserts and a relabel from the GUI never waits behind a chunk.
        std::vector<std::vector<FactorRow>> chunkRows(nc);
        for (size_t c = 0; c < nc; ++c) {
            std::vector<FactorRow> &rows = chunkRows[c];
            for (size_t b = 0; b < n; b += size_t(batch)) {
                const int m = int(std::min(size_t(batch), n - b));
                TL_RETURN_IF_ERROR(model.runners[c]->run(pixels.data() + b * floatsPer, m, &out)
                                       .withContext(model.checkpoints[c].file));
                if (out.numClasses != k)
                    return Status::invalid(model.checkpoints[c].file + ": produced " + std::to_string(out.numClasses)
                                           + " logits per image, expected " + std::to_string(k));
                const int d = out.embeddingDim;
                for (int r = 0; r < m; ++r) {
                    const int64_t id = work[begin + b + size_t(r)];
                    if (!missing[c].count(id))
                        continue;
                    FactorRow row;
                    row.exampleId = id;
                    row.labelUsed = labels[b + size_t(r)];
                    row.error.resize(size_t(k));
                    row.probs.resize(size_t(k));
                    row.predicted = computeFactorRow(out.logits.data() + size_t(r) * k, k, row.labelUsed,
                                                     row.probs.data(), row.error.data(), &row.loss);
                    row.embedding.assign(out.embeddings.begin() + size_t(r) * d,
                                         out.embeddings.begin() + size_t(r + 1) * d);
                    rows.push_back(std::move(row));
                }
            }
        }
        ProjectDb::Transaction tx(db);
        TL_RETURN_IF_ERROR(tx.status());
        for (size_t c = 0; c < nc; ++c) {
            TL_RETURN_IF_ERROR(db.writeFactors(model.checkpoints[c].id, chunkRows[c]));
            pairsDone += int64_t(chunkRows[c].size());
        }
        TL_RETURN_IF_ERROR(db.setJob({jobName, "running", summary.reused + pairsDone, pairsTotal, 0, ""}));
        TL_RETURN_IF_ERROR(tx.commit());
        if (begin == 0 && out.embeddingDim > 0)
            db.setModelEmbeddingDim(modelId, out.embeddingDim);
        if (progress)
            progress({"compute", "TracIn factors", summary.reused + pairsDone, pairsTotal});
    }

    // The rate covers the whole loop (decoding, inference, factor rows and SQLite
    // writes), so it can be compared directly with bare inference.
    summary.computed = pairsDone;
    summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    summary.vectorsPerSecond = summary.seconds > 0 ? double(pairsDone) / summary.seconds : 0.0;
    if (progress)
        progress({"compute", "self-influence", pairsTotal, pairsTotal});
    TL_RETURN_IF_ERROR(computeSelfInfluence(db, modelId));
    TL_RETURN_IF_ERROR(db.setJob({jobName, "done", pairsTotal, pairsTotal, 0, ""}));
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
