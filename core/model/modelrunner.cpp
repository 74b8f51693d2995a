#include "model/modelrunner.h"

#include "model/builtincnn.h"

#include <torch/script.h>

#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <sstream>
#include <thread>

// OpenBLAS's own entry point, present when the system BLAS is OpenBLAS (Debian's LibTorch
// links libopenblas); weak, so that any other BLAS leaves it null.
extern "C" __attribute__((weak)) void openblas_set_num_threads(int);

namespace traclens {

namespace {

// LibTorch messages carry a C++ backtrace, and TorchScript ones a Python-style
// traceback before the actual complaint; people need only the complaint.
std::string torchMessage(std::string msg)
{
    if (msg.find("Traceback of TorchScript") != std::string::npos ||
        msg.find("failed in the TorchScript interpreter") != std::string::npos) {
        // The interpreter's own message is the last non-empty line.
        std::istringstream in(msg);
        std::string line, last;
        while (std::getline(in, line)) {
            if (line.find_first_not_of(" \t\r") != std::string::npos)
                last = line;
        }
        msg = last.substr(std::min(last.find_first_not_of(" \t"), last.size()));
    }
    const size_t eol = msg.find('\n');
    if (eol != std::string::npos)
        msg.resize(eol);
    return msg;
}

std::string torchMessage(const c10::Error &e) { return torchMessage(std::string(e.what_without_backtrace())); }

// Errors in the TorchScript interpreter arrive as std::runtime_error subclasses rather
// than c10::Error, so both are cleaned the same way.
std::string torchMessage(const std::exception &e) { return torchMessage(std::string(e.what())); }

// A model that breaks the contract in a way only visible at run time (embed returning
// a tuple, ...); its message is already meant for people.
class ContractError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

std::string shapeString(c10::IntArrayRef sizes)
{
    std::string s = "[";
    for (size_t i = 0; i < sizes.size(); ++i)
        s += (i ? ", " : "") + std::to_string(sizes[i]);
    return s + "]";
}

std::string shapeString(const torch::Tensor &t) { return shapeString(t.sizes()); }

std::string formatNumber(double v)
{
    std::ostringstream out;
    out.precision(3);
    out << v;
    return out.str();
}

} // namespace

struct ModelRunner::Impl {
    std::string path;  // for messages
    InputSpec input;
    int numClasses = 0;
    int embeddingDim = 0;

    // The model as loaded and validated: exactly one of the two is set until a fast
    // path replaces them (see buildFastPath).
    std::optional<torch::jit::Module> script;
    c10::optional<torch::jit::Method> scriptEmbed;
    BuiltinCnn cnn{nullptr};

    // embed(), frozen and optimised for inference; what run() uses when present.
    std::optional<torch::jit::Module> fast;
    c10::optional<torch::jit::Method> fastEmbed;

    // The validation batch and its embeddings from the loaded model.
    torch::Tensor sampleInput;
    torch::Tensor sampleEmbedding;

    // fc's parameters, shared with the module (no copy). run() applies them itself
    // instead of calling forward(): load() has checked forward(x) == fc(embed(x)), and
    // this way the backbone runs once per batch and the logits are exactly the ones the
    // factors' embeddings produce.
    torch::Tensor fcWeight; // [K, D]
    torch::Tensor fcBias;   // [K]

    torch::Tensor embed(const torch::Tensor &x)
    {
        if (cnn)
            return cnn->embed(x);
        const c10::IValue h = (*scriptEmbed)({x});
        if (!h.isTensor())
            throw ContractError("embed(x) must return a tensor, not " + h.tagKind());
        return h.toTensor();
    }

    torch::Tensor embedForRun(const torch::Tensor &x)
    {
        if (!fastEmbed)
            return embed(x);
        const c10::IValue h = (*fastEmbed)({x});
        if (!h.isTensor())
            throw ContractError("embed(x) must return a tensor, not " + h.tagKind());
        return h.toTensor();
    }

    torch::Tensor forward(const torch::Tensor &x)
    {
        if (cnn)
            return cnn->forward(x);
        const c10::IValue z = script->forward({x});
        if (!z.isTensor())
            throw ContractError("forward(x) must return a tensor of logits, not " + z.tagKind());
        return z.toTensor();
    }

    Status loadBuiltin(const ModelSpec &spec);
    Status loadScript();
    Status checkParameters();
    Status checkFc(size_t classCount);
    Status checkSampleBatch();
    void buildFastPath();
};

Status ModelRunner::Impl::loadBuiltin(const ModelSpec &spec)
{
    BuiltinCnnShape shape;
    shape.channels = spec.input.channels;
    shape.height = spec.input.height;
    shape.width = spec.input.width;
    shape.convWidth = spec.width > 0 ? spec.width : 16;
    shape.embeddingDim = spec.embeddingDim > 0 ? spec.embeddingDim : 64;
    shape.classes = int(spec.classes.size());
    shape.batchNorm = spec.architecture != kBuiltinCnnArchitecture;
    shape.convsPerBlock = spec.architecture == kBuiltinVggArchitecture ? 2 : 1;
    const std::string least = shape.batchNorm ? "8×8" : "4×4";
    if (!shape.valid())
        return Status::invalid(path + ": the manifest describes a " + spec.architecture +
                               " the program cannot build (input " + std::to_string(shape.channels) + "×" +
                               std::to_string(shape.height) + "×" + std::to_string(shape.width) + ", " +
                               std::to_string(shape.classes) + " classes; input must be at least " + least +
                               " with 1 or 3 channels)");
    cnn = BuiltinCnn(shape);
    const std::string mismatch = path + ": does not hold a " + spec.architecture + " of width " +
                                 std::to_string(shape.convWidth) +
                                 ", embedding " + std::to_string(shape.embeddingDim) + " and " +
                                 std::to_string(shape.classes) + " classes: ";
    // torch::load replaces each parameter wholesale (Tensor::set_), so a checkpoint of
    // another width loads without complaint; the shapes are compared afterwards.
    std::vector<std::pair<std::string, std::vector<int64_t>>> expected;
    for (const auto &p : cnn->named_parameters())
        expected.emplace_back(p.key(), p.value().sizes().vec());
    for (const auto &b : cnn->named_buffers())
        expected.emplace_back(b.key(), b.value().sizes().vec());
    try {
        torch::load(cnn, path);
    } catch (const c10::Error &e) {
        return Status::invalid(mismatch + torchMessage(e));
    }
    const auto loaded = cnn->named_parameters();
    const auto loadedBuffers = cnn->named_buffers();
    for (const auto &[name, sizes] : expected) {
        const torch::Tensor *t = loaded.find(name);
        if (!t)
            t = loadedBuffers.find(name);
        if (!t || t->sizes().vec() != sizes)
            return Status::invalid(mismatch + name + " has shape " + (t ? shapeString(*t) : std::string("(none)")) +
                                   ", expected " + shapeString(sizes));
    }
    cnn->eval();
    return Status::ok();
}

Status ModelRunner::Impl::loadScript()
{
    try {
        script = torch::jit::load(path, torch::kCPU);
    } catch (const c10::Error &e) {
        return Status::invalid(path + ": not a TorchScript module: " + torchMessage(e));
    }
    // Dropout and batch norm must behave as at inference, or embeddings change between runs.
    script->eval();
    if (!script->find_method("forward"))
        return Status::invalid(path + ": no method 'forward'");
    scriptEmbed = script->find_method("embed");
    if (!scriptEmbed)
        return Status::invalid(path + ": no method 'embed' (mark it with @torch.jit.export)");
    return Status::ok();
}

Status ModelRunner::Impl::checkParameters()
{
    // NaN anywhere poisons every factor computed from this checkpoint, silently.
    auto check = [this](const std::string &kind, const std::string &name, const torch::Tensor &t) -> Status {
        if (t.is_floating_point() && t.numel() > 0 && !torch::isfinite(t).all().item<bool>())
            return Status::invalid(path + ": " + kind + " '" + name + "' holds NaN or Inf");
        return Status::ok();
    };
    if (cnn) {
        for (const auto &p : cnn->named_parameters())
            TL_RETURN_IF_ERROR(check("weight", p.key(), p.value()));
        return Status::ok();
    }
    for (const auto &p : script->named_parameters())
        TL_RETURN_IF_ERROR(check("weight", p.name, p.value));
    for (const auto &b : script->named_buffers())
        TL_RETURN_IF_ERROR(check("buffer", b.name, b.value));
    return Status::ok();
}

Status ModelRunner::Impl::checkFc(size_t classCount)
{
    if (cnn) {
        fcWeight = cnn->fc->weight;
        fcBias = cnn->fc->bias;
    } else {
        if (!script->hasattr("fc") || !script->attr("fc").isModule())
            return Status::invalid(path + ": no submodule 'fc' (the last layer must be a torch.nn.Linear named fc)");
        const torch::jit::Module fc = script->attr("fc").toModule();
        if (!fc.hasattr("weight") || !fc.attr("weight").isTensor())
            return Status::invalid(path + ": fc has no weight tensor; it must be a torch.nn.Linear");
        if (!fc.hasattr("bias") || !fc.attr("bias").isTensor())
            return Status::invalid(path + ": fc has no bias; TracIn's factors assume fc = torch.nn.Linear(D, K, bias=True)");
        fcWeight = fc.attr("weight").toTensor();
        fcBias = fc.attr("bias").toTensor();
    }
    if (fcWeight.dim() != 2)
        return Status::invalid(path + ": fc.weight has shape " + shapeString(fcWeight) + "; expected [classes, D]");
    if (fcBias.dim() != 1 || fcBias.size(0) != fcWeight.size(0))
        return Status::invalid(path + ": fc.bias has shape " + shapeString(fcBias) + " but fc.weight has shape " +
                               shapeString(fcWeight));
    if (fcWeight.scalar_type() != torch::kFloat || fcBias.scalar_type() != torch::kFloat)
        return Status::invalid(path + ": fc holds " + std::string(c10::toString(fcWeight.scalar_type())) +
                               " values; TracLens runs float32 models (call model.float() before saving)");
    if (size_t(fcWeight.size(0)) != classCount)
        return Status::invalid(path + ": fc has " + std::to_string(fcWeight.size(0)) +
                               " outputs but the model lists " + std::to_string(classCount) + " classes");
    numClasses = int(fcWeight.size(0));
    embeddingDim = int(fcWeight.size(1));
    return Status::ok();
}

Status ModelRunner::Impl::checkSampleBatch()
{
    // A fixed-seed random batch: zeros would let a model that ignores its input pass.
    auto gen = at::detail::createCPUGenerator(0x7ac1e75);
    const torch::Tensor x = torch::randn({2, input.channels, input.height, input.width}, gen);
    const std::string batch = "a 2×" + std::to_string(input.channels) + "×" + std::to_string(input.height) + "×" +
                              std::to_string(input.width) + " batch (the manifest's input)";
    torch::Tensor logits, h;
    try {
        logits = forward(x);
    } catch (const ContractError &e) {
        return Status::invalid(path + ": " + e.what());
    } catch (const c10::Error &e) {
        return Status::invalid(path + ": forward(x) fails on " + batch + ": " + torchMessage(e));
    } catch (const std::exception &e) {
        return Status::invalid(path + ": forward(x) fails on " + batch + ": " + torchMessage(e));
    }
    try {
        h = embed(x);
    } catch (const ContractError &e) {
        return Status::invalid(path + ": " + e.what());
    } catch (const c10::Error &e) {
        return Status::invalid(path + ": embed(x) fails on " + batch + ": " + torchMessage(e));
    } catch (const std::exception &e) {
        return Status::invalid(path + ": embed(x) fails on " + batch + ": " + torchMessage(e));
    }
    if (logits.dim() != 2 || logits.size(0) != 2 || logits.size(1) != numClasses)
        return Status::invalid(path + ": forward(x) returns shape " + shapeString(logits) + " for " + batch +
                               "; expected [2, " + std::to_string(numClasses) + "]");
    if (h.dim() != 2 || h.size(0) != 2 || h.size(1) != embeddingDim)
        return Status::invalid(path + ": embed(x) returns shape " + shapeString(h) + " for " + batch +
                               "; fc expects [2, " + std::to_string(embeddingDim) + "]");
    if (h.scalar_type() != torch::kFloat || logits.scalar_type() != torch::kFloat)
        return Status::invalid(path + ": forward(x) and embed(x) must return float32 tensors");
    if (!torch::isfinite(logits).all().item<bool>() || !torch::isfinite(h).all().item<bool>())
        return Status::invalid(path + ": forward(x) or embed(x) returns NaN or Inf on " + batch);

    const torch::Tensor viaFc = torch::addmm(fcBias, h, fcWeight.t());
    const double diff = (logits - viaFc).abs().max().item<double>();
    const double scale = std::max(1.0, logits.abs().max().item<double>());
    // float32 rounding in a differently ordered matmul stays far below 1e-4 relative;
    // anything above means forward() does more than fc(embed(x)) (a scale, a second head),
    // and then the last-layer gradient factorisation would be wrong.
    if (diff > 1e-4 * scale)
        return Status::invalid(path + ": forward(x) differs from fc(embed(x)) by " + formatNumber(diff));
    sampleInput = x;
    sampleEmbedding = h;
    return Status::ok();
}

// torch::jit::freeze folds the weights into the graph and optimize_for_inference then
// converts convolutions to oneDNN with pre-packed weights, keeping activations in
// oneDNN's blocked layout between layers. In Debian's LibTorch 1.13 that made embed()
// of a small Fashion-MNIST CNN several times faster than eager or plain TorchScript,
// where oneDNN convolutions reorder their input and output on every call. The
// optimised module must reproduce the validated embeddings; if freezing fails (a model
// that mutates its attributes, an op the passes do not know) or the numbers differ,
// run() keeps the validated module. Either way the result is the model's embed().
void ModelRunner::Impl::buildFastPath()
{
    try {
        torch::jit::Module source;
        if (cnn) {
            source = torch::jit::Module("TracLensBuiltinCnn");
            source.register_attribute("training", c10::BoolType::get(), false);
            for (const auto &p : cnn->named_parameters()) {
                std::string name = p.key();
                std::replace(name.begin(), name.end(), '.', '_');
                source.register_parameter(name, p.value().detach(), false);
            }
            // Batch norm's running statistics (num_batches_tracked is unused at inference).
            for (const auto &b : cnn->named_buffers()) {
                std::string name = b.key();
                std::replace(name.begin(), name.end(), '.', '_');
                if (name.find("num_batches_tracked") == std::string::npos)
                    source.register_buffer(name, b.value().detach());
            }
            source.define(!cnn->batchNorm ? kBuiltinCnnScript
                          : cnn->conv1b  ? kBuiltinVggScript
                                         : kBuiltinBnCnnScript);
        } else {
            source = *script;
        }
        source.eval();
        torch::jit::Module frozen = torch::jit::freeze(source, std::vector<std::string>{"embed"});
        torch::jit::Module optimised = torch::jit::optimize_for_inference(frozen, {"embed"});
        c10::optional<torch::jit::Method> method = optimised.find_method("embed");
        if (!method)
            return;
        const c10::IValue h = (*method)({sampleInput});
        if (!h.isTensor())
            return;
        const torch::Tensor ht = h.toTensor();
        if (ht.sizes() != sampleEmbedding.sizes() || ht.scalar_type() != torch::kFloat)
            return;
        const double diff = (ht - sampleEmbedding).abs().max().item<double>();
        if (!(diff <= 1e-4 * std::max(1.0, sampleEmbedding.abs().max().item<double>())))
            return;
        fast = std::move(optimised);
        fastEmbed = std::move(method);
    } catch (const std::exception &) {
        // Keep the validated module; the fast path is an optimisation only.
        fast.reset();
        fastEmbed.reset();
        return;
    }
    // The loaded module is no longer needed; fcWeight and fcBias keep fc's storage alive.
    // This halves the memory of a compute job that holds every checkpoint at once.
    scriptEmbed.reset();
    script.reset();
    cnn = BuiltinCnn(nullptr);
}

ModelRunner::ModelRunner(std::unique_ptr<Impl> impl) : d(std::move(impl)) {}
ModelRunner::~ModelRunner() = default;

Result<std::unique_ptr<ModelRunner>> ModelRunner::load(const ModelSpec &spec, size_t index)
{
    if (index >= spec.checkpoints.size())
        return Status::invalid("checkpoint " + std::to_string(index) + " requested but the model in " +
                               spec.directory + " has " + std::to_string(spec.checkpoints.size()));
    auto impl = std::make_unique<Impl>();
    impl->path = spec.checkpointPath(index);
    impl->input = spec.input;
    if (size_t(spec.input.channels) * spec.input.height * spec.input.width == 0 ||
        spec.input.mean.size() != size_t(spec.input.channels) || spec.input.std.size() != size_t(spec.input.channels))
        return Status::invalid(impl->path + ": the model's input description is incomplete");

    std::error_code ec;
    if (!std::filesystem::is_regular_file(impl->path, ec))
        return Status::notFound(impl->path + ": no such file");

    try {
        // Not InferenceMode: parameters created under it would become inference tensors,
        // which later autograd users of the module (none today) could not touch.
        torch::NoGradGuard noGrad;
        if (isBuiltinArchitecture(spec.architecture)) {
            TL_RETURN_IF_ERROR(impl->loadBuiltin(spec));
        } else if (spec.architecture.empty()) {
            TL_RETURN_IF_ERROR(impl->loadScript());
        } else {
            return Status::unsupported(impl->path + ": unknown architecture '" + spec.architecture + "'");
        }
        TL_RETURN_IF_ERROR(impl->checkParameters());
        TL_RETURN_IF_ERROR(impl->checkFc(spec.classes.size()));
        TL_RETURN_IF_ERROR(impl->checkSampleBatch());
        impl->buildFastPath();
        impl->sampleInput = torch::Tensor();
        impl->sampleEmbedding = torch::Tensor();
    } catch (const c10::Error &e) {
        return Status::invalid(impl->path + ": " + torchMessage(e));
    } catch (const std::exception &e) {
        return Status::internal(impl->path + ": " + torchMessage(e));
    }
    return std::unique_ptr<ModelRunner>(new ModelRunner(std::move(impl)));
}

Status ModelRunner::run(const float *input, int n, BatchOutput *out)
{
    if (!out || (n > 0 && !input) || n < 0)
        return Status::invalid(d->path + ": run() called with no input or output");
    const int k = d->numClasses;
    const int dim = d->embeddingDim;
    out->n = n;
    out->numClasses = k;
    out->embeddingDim = dim;
    out->logits.resize(size_t(n) * k);
    out->embeddings.resize(size_t(n) * dim);
    if (n == 0)
        return Status::ok();
    try {
        c10::InferenceMode inference;
        const InputSpec &in = d->input;
        // from_blob wraps the caller's buffer: no copy in. The module only reads it.
        const torch::Tensor x = torch::from_blob(const_cast<float *>(input), {n, in.channels, in.height, in.width},
                                                 torch::TensorOptions().dtype(torch::kFloat));
        const torch::Tensor h = d->embedForRun(x);
        if (h.dim() != 2 || h.size(0) != n || h.size(1) != dim || h.scalar_type() != torch::kFloat)
            return Status::internal(d->path + ": embed(x) returned shape " + shapeString(h) + " for a batch of " +
                                    std::to_string(n));
        // One copy out for the embeddings; the logits are written in place.
        const torch::Tensor hc = h.contiguous();
        std::memcpy(out->embeddings.data(), hc.data_ptr<float>(), sizeof(float) * size_t(n) * dim);
        torch::Tensor logits = torch::from_blob(out->logits.data(), {n, k}, torch::TensorOptions().dtype(torch::kFloat));
        torch::addmm_out(logits, d->fcBias, hc, d->fcWeight.t());
    } catch (const c10::Error &e) {
        return Status::internal(d->path + ": " + torchMessage(e));
    } catch (const std::exception &e) {
        return Status::internal(d->path + ": " + torchMessage(e));
    }
    return Status::ok();
}

int ModelRunner::numClasses() const { return d->numClasses; }
int ModelRunner::embeddingDim() const { return d->embeddingDim; }
bool ModelRunner::isOptimised() const { return bool(d->fastEmbed); }

void ModelRunner::setThreads(int threads)
{
    if (threads <= 0)
        threads = int(std::max(1u, std::thread::hardware_concurrency()));
    torch::set_num_threads(threads);
    // LibTorch already splits its work over its OpenMP pool and calls BLAS inside it. A
    // second pool in OpenBLAS oversubscribes the cores, and its idle threads spin in
    // sched_yield beside the decoder and SQLite threads: compute of a small CNN on
    // Fashion-MNIST took 9.9 s with both pools and 5.9 s with BLAS single-threaded
    // (docs/benchmarks-models.md §4). OpenBLAS reads OPENBLAS_NUM_THREADS before any code
    // of ours runs, so the count is set through its API; a value the user set is kept.
    if (openblas_set_num_threads && !std::getenv("OPENBLAS_NUM_THREADS"))
        openblas_set_num_threads(1);
    // Batched inference allocates and frees the same large activations for every batch
    // (a ResNet-18 batch of 256 at 64×64 has 8–67 MB tensors). With glibc's default
    // thresholds they are mapped and unmapped each time and every page faults in afresh:
    // a fifth of compute's time went to the kernel. Keeping them in the heap (mmap only
    // above 32 MiB, the largest threshold glibc accepts, and no trimming below 1 GiB)
    // reuses the pages: 530 → 620–650 vectors/s on that model, at the price of keeping
    // the peak heap mapped (+50 MB there). docs/benchmarks-models.md §2.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

} // namespace traclens
