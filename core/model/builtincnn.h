#pragma once
// INTERNAL: the built-in CNN shared by trainer.cpp (training) and modelrunner.cpp
// (inference). Includes <torch/torch.h>, so include it only from those two .cpp files;
// public headers must stay free of LibTorch (see modelrunner.h).
//
// Architecture (documented for users in trainer.h), width w, embedding D, K classes:
//   conv3×3(C→w, pad 1) ReLU maxpool2 → conv3×3(w→2w, pad 1) ReLU maxpool2 → flatten
//   → linear(2w·⌊⌊H/2⌋/2⌋·⌊⌊W/2⌋/2⌋ → D) ReLU = h → fc(D → K) = logits.
// The batch-norm variant ("builtin-bn-cnn", BuiltinCnnShape::batchNorm), width w:
//   three blocks of conv3×3(no bias) batch-norm ReLU maxpool2 with w, 2w, 4w channels
//   → flatten → dropout → linear(4w·⌊H/8⌋·⌊W/8⌋ → D) ReLU = h → dropout → fc(D → K).
// The VGG-style variant ("builtin-vgg", convsPerBlock 2) has two such convolutions with batch
// norm per block (conv1, bn1, conv1b, bn1b, ...), pooling after the second.
// Dropout acts only in training; h is the eval-mode output (running batch statistics).
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
    bool batchNorm = false; // the "builtin-bn-cnn" variant
    int convsPerBlock = 1;  // 2: the "builtin-vgg" variant (with batchNorm)

    // The pooled feature map must keep at least one pixel.
    bool valid() const
    {
        const int least = batchNorm ? 8 : 4;
        return (channels == 1 || channels == 3) && height >= least && width >= least && convWidth > 0 &&
               embeddingDim > 0 && classes >= 2;
    }
    int64_t flatFeatures() const
    {
        if (batchNorm)
            return int64_t(4 * convWidth) * (height / 8) * (width / 8);
        return int64_t(2 * convWidth) * (height / 2 / 2) * (width / 2 / 2);
    }
};

class BuiltinCnnImpl : public torch::nn::Module {
public:
    explicit BuiltinCnnImpl(const BuiltinCnnShape &s)
        : batchNorm(s.batchNorm),
          conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(s.channels, s.convWidth, 3)
                                                               .padding(1)
                                                               .bias(!s.batchNorm)))),
          conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(s.convWidth, 2 * s.convWidth, 3)
                                                               .padding(1)
                                                               .bias(!s.batchNorm)))),
          hidden(nullptr),
          fc(nullptr)
    {
        // Registration order is the checkpoint's order: conv1 (bn1) conv2 (bn2) (conv3 bn3)
        // hidden fc.
        if (batchNorm) {
            bn1 = register_module("bn1", torch::nn::BatchNorm2d(s.convWidth));
            bn2 = register_module("bn2", torch::nn::BatchNorm2d(2 * s.convWidth));
            conv3 = register_module("conv3", torch::nn::Conv2d(torch::nn::Conv2dOptions(2 * s.convWidth,
                                                                                        4 * s.convWidth, 3)
                                                                   .padding(1)
                                                                   .bias(false)));
            bn3 = register_module("bn3", torch::nn::BatchNorm2d(4 * s.convWidth));
            if (s.convsPerBlock == 2) {
                auto conv = [](int c) {
                    return torch::nn::Conv2d(torch::nn::Conv2dOptions(c, c, 3).padding(1).bias(false));
                };
                conv1b = register_module("conv1b", conv(s.convWidth));
                bn1b = register_module("bn1b", torch::nn::BatchNorm2d(s.convWidth));
                conv2b = register_module("conv2b", conv(2 * s.convWidth));
                bn2b = register_module("bn2b", torch::nn::BatchNorm2d(2 * s.convWidth));
                conv3b = register_module("conv3b", conv(4 * s.convWidth));
                bn3b = register_module("bn3b", torch::nn::BatchNorm2d(4 * s.convWidth));
            }
        }
        hidden = register_module("hidden", torch::nn::Linear(s.flatFeatures(), s.embeddingDim));
        fc = register_module("fc", torch::nn::Linear(s.embeddingDim, s.classes));
    }

    // h: the ReLU output that feeds fc, [N, D].
    torch::Tensor embed(const torch::Tensor &x)
    {
        if (batchNorm) {
            // Same im2col route for the first convolution as below.
            auto y = torch::relu(bn1->forward(torch::thnn_conv2d(x, conv1->weight, {3, 3}, {}, {1, 1}, {1, 1})));
            if (conv1b)
                y = torch::relu(bn1b->forward(conv1b->forward(y)));
            y = torch::relu(bn2->forward(conv2->forward(torch::max_pool2d(y, 2))));
            if (conv2b)
                y = torch::relu(bn2b->forward(conv2b->forward(y)));
            y = torch::relu(bn3->forward(conv3->forward(torch::max_pool2d(y, 2))));
            if (conv3b)
                y = torch::relu(bn3b->forward(conv3b->forward(y)));
            y = torch::max_pool2d(y, 2);
            y = torch::dropout(y.flatten(1), kDropout, is_training());
            return torch::relu(hidden->forward(y));
        }
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
    torch::Tensor forward(const torch::Tensor &x)
    {
        if (batchNorm)
            return fc->forward(torch::dropout(embed(x), kDropout, is_training()));
        return fc->forward(embed(x));
    }

    static constexpr double kDropout = 0.3;
    bool batchNorm;
    torch::nn::Conv2d conv1;
    torch::nn::Conv2d conv2;
    torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
    torch::nn::Conv2d conv3{nullptr};
    torch::nn::Conv2d conv1b{nullptr}, conv2b{nullptr}, conv3b{nullptr};
    torch::nn::BatchNorm2d bn1b{nullptr}, bn2b{nullptr}, bn3b{nullptr};
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

// The batch-norm variant's embed, likewise (parameters and buffers, '.' → '_'; eval mode).
constexpr const char *kBuiltinBnCnnScript = R"JIT(
def embed(self, x):
    y = torch.conv2d(x, self.conv1_weight, None, [1, 1], [1, 1])
    y = torch.batch_norm(y, self.bn1_weight, self.bn1_bias, self.bn1_running_mean, self.bn1_running_var, False, 0.1, 1e-5, False)
    y = torch.max_pool2d(torch.relu(y), [2, 2])
    y = torch.conv2d(y, self.conv2_weight, None, [1, 1], [1, 1])
    y = torch.batch_norm(y, self.bn2_weight, self.bn2_bias, self.bn2_running_mean, self.bn2_running_var, False, 0.1, 1e-5, False)
    y = torch.max_pool2d(torch.relu(y), [2, 2])
    y = torch.conv2d(y, self.conv3_weight, None, [1, 1], [1, 1])
    y = torch.batch_norm(y, self.bn3_weight, self.bn3_bias, self.bn3_running_mean, self.bn3_running_var, False, 0.1, 1e-5, False)
    y = torch.max_pool2d(torch.relu(y), [2, 2])
    return torch.relu(torch.linear(torch.flatten(y, 1), self.hidden_weight, self.hidden_bias))

def forward(self, x):
    return torch.linear(self.embed(x), self.fc_weight, self.fc_bias)
)JIT";

// The VGG-style variant's embed, likewise.
constexpr const char *kBuiltinVggScript = R"JIT(
def embed(self, x):
    y = torch.conv2d(x, self.conv1_weight, None, [1, 1], [1, 1])
    y = torch.relu(torch.batch_norm(y, self.bn1_weight, self.bn1_bias, self.bn1_running_mean, self.bn1_running_var, False, 0.1, 1e-5, False))
    y = torch.conv2d(y, self.conv1b_weight, None, [1, 1], [1, 1])
    y = torch.relu(torch.batch_norm(y, self.bn1b_weight, self.bn1b_bias, self.bn1b_running_mean, self.bn1b_running_var, False, 0.1, 1e-5, False))
    y = torch.conv2d(torch.max_pool2d(y, [2, 2]), self.conv2_weight, None, [1, 1], [1, 1])
    y = torch.relu(torch.batch_norm(y, self.bn2_weight, self.bn2_bias, self.bn2_running_mean, self.bn2_running_var, False, 0.1, 1e-5, False))
    y = torch.conv2d(y, self.conv2b_weight, None, [1, 1], [1, 1])
    y = torch.relu(torch.batch_norm(y, self.bn2b_weight, self.bn2b_bias, self.bn2b_running_mean, self.bn2b_running_var, False, 0.1, 1e-5, False))
    y = torch.conv2d(torch.max_pool2d(y, [2, 2]), self.conv3_weight, None, [1, 1], [1, 1])
    y = torch.relu(torch.batch_norm(y, self.bn3_weight, self.bn3_bias, self.bn3_running_mean, self.bn3_running_var, False, 0.1, 1e-5, False))
    y = torch.conv2d(y, self.conv3b_weight, None, [1, 1], [1, 1])
    y = torch.relu(torch.batch_norm(y, self.bn3b_weight, self.bn3b_bias, self.bn3b_running_mean, self.bn3b_running_var, False, 0.1, 1e-5, False))
    y = torch.max_pool2d(y, [2, 2])
    return torch.relu(torch.linear(torch.flatten(y, 1), self.hidden_weight, self.hidden_bias))

def forward(self, x):
    return torch.linear(self.embed(x), self.fc_weight, self.fc_bias)
)JIT";

} // namespace traclens
