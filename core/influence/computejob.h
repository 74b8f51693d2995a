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
