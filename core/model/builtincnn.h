#pragma once
// INTERNAL: the built-in CNN shared by trainer.cpp (training) and modelrunner.cpp
// (inference). Includes <torch/torch.h>, so include it only from those two .cpp files;
// public headers must stay free of LibTorch (see modelrunner.h).
//
// Architecture (documented for users in trainer.h), width w, embedding D, K classes:
//   conv3×3(C→w, pad 1) ReLU maxpool2 → conv3×3(w→2w, pad 1) ReLU maxpool2 → flatten
//   → linear(2w·⌊⌊H/2⌋/2⌋·⌊⌊W/2⌋/2⌋ → D) ReLU = h → fc(D → K) = logits.
// Parameter names ("conv1.weight", "hidden.bias", "fc.weight", ...) are part of the
// checkpoint format: torch::load matches them by name, so renaming a member breaks
// every model trained before.
//
// Thread safety: a module is not thread-safe; one per thread.

#include <torch/torch.h>

namespace traclens {

struct BuiltinCnnShape {
    int channels = 1;
    int height = 28;
    int width = 28;
    int convWidth = 16;     // w
    int embeddingDim = 64;  // D
    int classes = 10;       // K

    // The pooled feature map must keep at least one pixel.
    bool valid() const
    {
        return (channels == 1 || channels == 3) && height >= 4 && width >= 4 && convWidth > 0 &&
               embeddingDim > 0 && classes >= 2;
    }
    int64_t flatFeatures() const { return int64_t(2 * convWidth) * (height / 2 / 2) * (width / 2 / 2); }
};

class BuiltinCnnImpl : public torch::nn::Module {
public:
    explicit BuiltinCnnImpl(const BuiltinCnnShape &s)
        : conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(s.channels, s.convWidth, 3).padding(1)))),
          conv2(register_module("conv2",
                                torch::nn::Conv2d(torch::nn::Conv2dOptions(s.convWidth, 2 * s.convWidth, 3).padding(1)))),
          hidden(register_module("hidden", torch::nn::Linear(s.flatFeatures(), s.embeddingDim))),
          fc(register_module("fc", torch::nn::Linear(s.embeddingDim, s.classes)))
    {
    }

    // h: the ReLU output that feeds fc, [N, D].
    torch::Tensor embed(const torch::Tensor &x)
    {
        // conv1 goes through ATen's im2col + GEMM kernel rather than Conv2d::forward:
        // with 1–3 input channels, oneDNN (which Conv2d picks for any batch > 1) ran
        // this layer 10–50× slower than im2col in Debian's LibTorch 1.13 (25 ms against
        // 0.5 ms for 64 grey 28×28 images, forward). Same weights, same result to float
        // rounding; conv2 keeps oneDNN, where it is the faster of the two.
        auto y = torch::thnn_conv2d(x, conv1->weight, {3, 3}, conv1->bias, {1, 1}, {1, 1});
        y = torch::max_pool2d(torch::relu(y), 2);
        y = torch::max_pool2d(torch::relu(conv2->forward(y)), 2);
        return torch::relu(hidden->forward(y.flatten(1)));
    }
    torch::Tensor forward(const torch::Tensor &x) { return fc->forward(embed(x)); }

    torch::nn::Conv2d conv1;
    torch::nn::Conv2d conv2;
    torch::nn::Linear hidden;
    torch::nn::Linear fc;
};
TORCH_MODULE(BuiltinCnn);

// The same embed in TorchScript, over a module whose parameters are BuiltinCnn's with
// '.' replaced by '_' ("conv1_weight", ...). ModelRunner compiles it so that
// torch::jit::freeze + optimize_for_inference can keep activations in oneDNN's blocked
// layout from conv1 to the last pooling, several times faster than eager mode here.
// Training keeps the eager module (it needs autograd). Keep both in step: ModelRunner
// checks the compiled embed against BuiltinCnnImpl::embed on every load and falls back
// to the eager one if they differ.
constexpr const char *kBuiltinCnnScript = R"JIT(
def embed(self, x):
    y = torch.max_pool2d(torch.relu(torch.conv2d(x, self.conv1_weight, self.conv1_bias, [1, 1], [1, 1])), [2, 2])
    y = torch.max_pool2d(torch.relu(torch.conv2d(y, self.conv2_weight, self.conv2_bias, [1, 1], [1, 1])), [2, 2])
    return torch.relu(torch.linear(torch.flatten(y, 1), self.hidden_weight, self.hidden_bias))

def forward(self, x):
    return torch.linear(self.embed(x), self.fc_weight, self.fc_bias)
)JIT";

} // namespace traclens
