#pragma once
// Runs one checkpoint of a model: logits and penultimate embeddings for a batch.
// LibTorch stays behind this header (pimpl) so that few translation units pay for
// <torch/torch.h>.
//
// Ownership: a ModelRunner owns its loaded module.
// Thread safety: not thread-safe; use one runner per thread.
// Failure: load() validates the checkpoint against the contract in modelspec.h on a
// sample batch and names exactly what is wrong ("ckpt-2.pt: no method 'embed'",
// "ckpt-1.pt: forward(x) differs from fc(embed(x)) by 0.3", "ckpt-1.pt: fc has 5
// outputs but the model lists 10 classes", "ckpt-3.pt: weight 'conv1.weight' holds
// NaN or Inf"). Every message starts with the checkpoint's full path; a missing file
// is NotFound, a model that breaks the contract InvalidArgument. Neither load() nor
// run() throws; LibTorch errors come back as Status.
//
// Speed: load() freezes embed() and optimises it for inference (oneDNN throughout),
// falling back to the module as loaded if that fails or changes the numbers. run()
// evaluates embed(x) once and applies fc's weight and bias itself
// (logits = h·Wᵀ + b, written straight into the output vector), instead of calling
// forward() and embed() separately. load() has verified forward(x) == fc(embed(x)), so
// the logits are the model's, and they are exactly consistent with the embeddings the
// TracIn factors use. The input is wrapped without a copy; embeddings are copied out
// once.

#include "model/modelspec.h"
#include "util/status.h"

#include <memory>
#include <vector>

namespace traclens {

struct BatchOutput {
    int n = 0;
    int numClasses = 0;          // K
    int embeddingDim = 0;        // D
    std::vector<float> logits;   // n × K, row-major
    std::vector<float> embeddings; // n × D, row-major (input of fc)
};

class ModelRunner {
public:
    ~ModelRunner();
    ModelRunner(const ModelRunner &) = delete;
    ModelRunner &operator=(const ModelRunner &) = delete;

    // Loads checkpoint `index` of `spec` (built-in or TorchScript) and validates it.
    static Result<std::unique_ptr<ModelRunner>> load(const ModelSpec &spec, size_t index);

    // `input`: n images, each spec.input.floatsPerImage() floats (CHW), already
    // normalised (see toModelInput); only read. Fills `out`, reusing its vectors'
    // capacity. n == 0 gives an empty output.
    Status run(const float *input, int n, BatchOutput *out);

    int numClasses() const;
    int embeddingDim() const;
    // Whether run() uses a frozen, inference-optimised copy of embed() (checked on load
    // to reproduce the model's embeddings) rather than the module as loaded. For
    // diagnostics and tests; results agree either way to float rounding.
    bool isOptimised() const;

    // Sets LibTorch's intra-op thread count for the whole process (0 = number of
    // cores). Affects every runner and the trainer; call it before starting work, not
    // while another thread is inside LibTorch. Also makes OpenBLAS single-threaded
    // (LibTorch's pool already parallelises around it; OPENBLAS_NUM_THREADS, if set,
    // wins) and raises glibc's mmap/trim thresholds so batch buffers are reused.
    static void setThreads(int threads);

private:
    struct Impl;
    explicit ModelRunner(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> d;
};

} // namespace traclens
