#pragma once
// The `traclens-model/1` contract: a directory holding `traclens-model.json` and
// checkpoint files listed in training order.
//
//   {"format": "traclens-model/1",
//    "classes": ["0", "1", ...],
//    "input": {"channels": 1, "height": 28, "width": 28, "mean": [0.1307], "std": [0.3081]},
//    "checkpoints": [{"file": "ckpt-1.pt", "learning_rate": 0.05}, ...]}
//
// Imported checkpoints are TorchScript modules with forward(x) → logits [N,K], an
// exported method embed(x) → [N,D], and a torch.nn.Linear submodule `fc` (D→K).
// Models trained by TracLens itself use the same file with an extra
// "architecture": {"type": "builtin-cnn", "width": 16, "embedding_dim": 64} (or
// "builtin-bn-cnn", the batch-norm variant, or "builtin-vgg", its two-convolutions-per-block
// form: defaults width 32, embedding 256) and
// checkpoints saved by LibTorch's serializer; they are loaded by the same ModelRunner.
//
// The input object may carry the torchvision recipe the model was trained with:
//    "input": {..., "transforms": [{"op": "resize", "size": [72], "interpolation": "bilinear"},
//                                  {"op": "center_crop", "size": [64, 64]}]}
// ops: resize (size [s] or [h, w]; interpolation bilinear (default), bicubic or nearest;
// max_size with [s] only), center_crop (size [h, w] or [s]), grayscale (channels 1 or 3).
// Absent: TracLens' own preparation; present (even empty): the ImageFolder pipeline,
// reproduced exactly (imagetransforms.h, docs/preprocessing.md). An unknown op or key, a
// missing or invalid field, a size outside 1..16384, a recipe whose channels (3 unless
// a grayscale op says otherwise) or fixed final size differ from input.channels/height/
// width are refused, naming the field ("input.transforms[1].op 'random_crop' is not
// supported").
//
// Rules checked on reading: classes are ≥ 2 distinct strings; channels is 1 or 3;
// height and width are positive; mean and std have one number per channel and every
// std is > 0; checkpoints is non-empty, each file a relative path to an existing file
// and each learning_rate a positive finite number. TracIn weights checkpoint i by its
// learning_rate, so a missing or zero rate is an error rather than a default.
//
// Thread safety: plain values and free functions.

#include "data/imagedecoder.h"
#include "util/status.h"

#include <string>
#include <string_view>
#include <vector>

namespace traclens {

struct CheckpointSpec {
    std::string file;          // relative to the model directory
    double learningRate = 0.0;
};

struct ModelSpec {
    std::string directory;     // absolute path of the model directory (not serialised)
    std::vector<std::string> classes;
    InputSpec input;
    std::vector<CheckpointSpec> checkpoints;
    std::string architecture;  // "" for TorchScript, else one of the kBuiltin*Architecture names
    int width = 0;             // built-in CNN width (channels of the first conv)
    int embeddingDim = 0;      // built-in CNN embedding size D (64 when the file omits it)

    std::string checkpointPath(size_t i) const;
};

constexpr const char *kModelFormat = "traclens-model/1";
// The built-in networks (trainer.h): the small CNN and its batch-norm variant.
constexpr const char *kBuiltinCnnArchitecture = "builtin-cnn";
constexpr const char *kBuiltinBnCnnArchitecture = "builtin-bn-cnn";
constexpr const char *kBuiltinVggArchitecture = "builtin-vgg";
inline bool isBuiltinArchitecture(const std::string &a)
{
    return a == kBuiltinCnnArchitecture || a == kBuiltinBnCnnArchitecture || a == kBuiltinVggArchitecture;
}
constexpr const char *kModelManifestName = "traclens-model.json";

// Reads <dir>/traclens-model.json. Errors name the file (full path) and the field at
// fault ("/m/traclens-model.json: checkpoints[1].learning_rate must be a positive
// number"); a missing manifest or checkpoint file is NotFound, another format
// Unsupported, anything else InvalidArgument. Checks that every checkpoint file
// exists; does not load them. The returned spec's `directory` is absolute.
Result<ModelSpec> readModelSpec(const std::string &directory);

// The same checks on manifest text already in memory, as if it were the manifest of
// `directory` (checkpoint files are still looked up there). readModelSpec calls this;
// fuzz targets call it directly.
Result<ModelSpec> parseModelSpec(std::string_view json, const std::string &directory);
// Writes <spec.directory>/traclens-model.json atomically (temp file + rename), so a
// reader never sees half a manifest. Does not validate the spec beyond what is needed
// to write it; errors name the file.
Status writeModelSpec(const ModelSpec &spec);

} // namespace traclens
