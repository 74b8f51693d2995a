#pragma once
// Computes TracIn factors for every live example at every checkpoint of a model and
// stores them, then self-influence. Resumable: work is chunked (one transaction per
// chunk of examples per checkpoint) and a re-run computes only examples that still lack
// factors, so a job killed at any moment finishes later without redoing finished chunks.
//
// Thread safety: call from the thread that owns `db`. Uses LibTorch's intra-op pool
// (options.threads) for inference and one extra thread that decodes the next chunk's
// images while the model runs the current one; results do not depend on either.
// Memory: two chunks of model input at once (2 × chunkSize × floatsPerImage floats).

#include "store/projectdb.h"
#include "data/imagedecoder.h"

#include <memory>

namespace traclens {

struct ComputeOptions {
    int batchSize = 256;
    int chunkSize = 2048;   // examples per transaction
    int threads = 0;        // LibTorch intra-op threads; 0 = all cores
};

struct ComputeSummary {
    int64_t computed = 0;   // (example, checkpoint) pairs computed by this run
    int64_t reused = 0;     // pairs already present
    double seconds = 0.0;
    double vectorsPerSecond = 0.0; // computed / seconds spent in the compute loop
};

Result<ComputeSummary> computeFactors(ProjectDb &db, int64_t modelId, const ComputeOptions &options = {},
                                      const ProgressFn &progress = {}, const CancelFlag *cancel = nullptr);

// Recomputes self-influence from stored factors (called by computeFactors at the end).
Status computeSelfInfluence(ProjectDb &db, int64_t modelId);

// ---- Chunk-level work. computeFactors is plan → compute each chunk → commit each chunk
// → finish; the pieces are public so that the distributed engine (core/distributed) runs
// the very same chunk boundaries and batches in other processes, and its numbers are the
// same as a single-process run's (given the same LibTorch thread count per process).

// One example of a chunk, and the checkpoints at which it still lacks factors.
struct ChunkExample {
    int64_t id = 0;
    std::string source;          // as ExampleRow::source
    int label = 0;               // current label
    std::vector<uint8_t> missing; // one per checkpoint: 1 = compute it
};

// Examples [begin, begin + examples.size()) of the ordered list of live examples.
struct ComputeChunk {
    int64_t begin = 0;
    std::vector<ChunkExample> examples;
};

// Everything computing needs, without the project file: a plain value that can be sent
// to a process elsewhere. Model directory, checkpoint files and dataset root are paths
// that must mean the same on every machine that computes.
struct ComputePlan {
    int64_t modelId = 0;
    std::string modelDirectory;
    std::vector<int64_t> checkpointIds;        // in training order
    std::vector<std::string> checkpointFiles;  // absolute, in training order
    std::vector<std::string> checkpointHashes; // SHA-256 as registered; "" when unknown
    int numClasses = 0;
    SourceKind datasetKind = SourceKind::ImageFolder;
    std::string datasetRoot;
    int batchSize = 256;
    int64_t pairsTotal = 0;       // (example, checkpoint) pairs of the model
    int64_t reused = 0;           // of which already stored
    std::vector<ComputeChunk> chunks; // only chunks with work, in order
};

// Checks what computeFactors checks (trusted model, unchanged checkpoints, classes) and
// lists the chunks that still lack factors. Reads the project only; loads no checkpoint.
Result<ComputePlan> planCompute(ProjectDb &db, int64_t modelId, const ComputeOptions &options = {});

// The factor rows of one chunk: for each checkpoint, the rows of its missing pairs.
struct ChunkFactors {
    int64_t begin = 0;            // the chunk's ComputeChunk::begin
    int embeddingDim = 0;
    std::vector<std::vector<FactorRow>> perCheckpoint;
    int64_t pairs() const;
};

// A chunk's model input, decoded ahead of the model.
struct DecodedChunk {
    std::vector<float> pixels;   // rows × floatsPerImage
    Status status;
};

// Runs a plan's checkpoints over chunks. Owns the loaded checkpoints.
// Thread safety: decode() may run on one thread while run() runs on another (decode
// reads only the image store); otherwise one thread at a time.
// Failure: load() fails naming the model directory or checkpoint file (and, with
// `verifyFiles`, a checkpoint whose SHA-256 differs from the plan's); decode() stops at
// the first image that cannot be read, naming its file.
class ChunkComputer {
public:
    ~ChunkComputer();
    static Result<std::unique_ptr<ChunkComputer>> load(const ComputePlan &plan, bool verifyFiles = false);
    Status decode(const ComputeChunk &chunk, DecodedChunk *out, const CancelFlag *cancel = nullptr) const;
    Result<ChunkFactors> run(const ComputeChunk &chunk, const DecodedChunk &decoded);
    // decode() then run() on the calling thread.
    Result<ChunkFactors> compute(const ComputeChunk &chunk, const CancelFlag *cancel = nullptr);

private:
    struct Impl;
    explicit ChunkComputer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> d;
};

// Commits a chunk's rows in one transaction, with the job row ("compute:<model>") at
// plan.reused + *pairsDone (advanced by the chunk's pairs), as computeFactors does.
Status commitChunk(ProjectDb &db, const ComputePlan &plan, const ChunkFactors &rows, int64_t *pairsDone);
// Marks the job running at plan.reused (before the first chunk).
Status beginCompute(ProjectDb &db, const ComputePlan &plan);
// Self-influence and the job marked done (after the last chunk).
Status finishCompute(ProjectDb &db, const ComputePlan &plan, const ProgressFn &progress = {});

// Factors of an image that is not in the project, at every checkpoint of the model,
// using `label`, or the predicted class at the last checkpoint when label < 0.
struct QueryFactors {
    int label = -1;
    bool labelPredicted = false;
    std::vector<FactorRow> perCheckpoint; // in checkpoint order
};
// `image` is an already decoded 8-bit image; it is prepared as the model's manifest says.
Result<QueryFactors> computeImageFactors(ProjectDb &db, int64_t modelId, const cv::Mat &image, int label = -1);
// The same for an image file, decoded the way the model's examples are (torchvision's
// loader when the manifest records transforms: no EXIF rotation). Errors name the file.
Result<QueryFactors> computeImageFileFactors(ProjectDb &db, int64_t modelId, const std::string &file,
                                             int label = -1);

} // namespace traclens
