#pragma once
// The image preparation of a model trained with torchvision: `ImageFolder` +
// `transforms.Compose([...ops..., ToTensor(), Normalize(mean, std)])`, reproduced
// pixel for pixel (Pillow 9.4 and torchvision 0.14 semantics; docs/preprocessing.md).
//
// Images here are 8-bit cv::Mat with 1 (grey, PIL mode "L") or 3 channels in RGB order
// (PIL mode "RGB"); every operation keeps the channel order it is given except
// pilGrayscale, which needs RGB.
//
// Failure: the functions that take a name for errors return a Status whose message starts
// with it; the others cannot fail on valid input and throw only what OpenCV throws for
// memory exhaustion (callers at the engine boundary catch it).
// Thread safety: free functions on values; reentrant.

#include "util/status.h"

#include <opencv2/core/mat.hpp>

#include <string>
#include <vector>

namespace traclens {

// PIL's resampling filters as torchvision's InterpolationMode names them.
enum class ResampleFilter { Nearest, Bilinear, Bicubic };

// One step of the recipe, as written in the manifest's input.transforms (modelspec.h).
struct ImageTransform {
    enum class Op { Resize, CenterCrop, Grayscale };
    Op op = Op::Resize;
    // Resize: [s] (shorter side to s, aspect kept) or [h, w]. CenterCrop: [h, w].
    std::vector<int> size;
    // Resize with size [s] only: the longer side's limit, 0 for none (torchvision's max_size).
    int maxSize = 0;
    ResampleFilter interpolation = ResampleFilter::Bilinear;
    // Grayscale: 1 or 3 output channels (num_output_channels).
    int channels = 1;

    bool operator==(const ImageTransform &o) const
    {
        return op == o.op && size == o.size && maxSize == o.maxSize && interpolation == o.interpolation &&
               channels == o.channels;
    }
    bool operator!=(const ImageTransform &o) const { return !(*this == o); }
};

// Output size of torchvision's Resize for an image of height×width: for [s], the shorter
// side becomes s and the longer int(s·long/short), then max_size caps the longer side;
// for [h, w] exactly that. Returned as cv::Size(width, height).
cv::Size torchvisionResizeSize(int height, int width, const ImageTransform &resize);

// PIL's Image.resize on an 8-bit 1- or 3-channel image: Bilinear and Bicubic are PIL's
// separable two-pass convolution (horizontal first, support widened by the downscale
// factor, 22-bit fixed-point coefficients, clipped to uint8 after each pass); Nearest is
// PIL's affine nearest-neighbour scale. Returns a copy when the size is unchanged.
cv::Mat pilResize(const cv::Mat &image, cv::Size size, ResampleFilter filter);

// torchvision's CenterCrop to height×width: zero padding (left/top get the smaller half)
// when the crop is larger than the image, offsets rounded half to even like Python's round().
cv::Mat torchvisionCenterCrop(const cv::Mat &image, int height, int width);

// PIL's convert("L") of an RGB image (ITU-R 601-2 in 16-bit fixed point:
// (19595 R + 38470 G + 7471 B + 32768) >> 16), then 1 or 3 equal channels. A grey input
// is kept (or replicated to 3 channels).
cv::Mat pilGrayscale(const cv::Mat &image, int channels);

// Runs `transforms` in order on `image` (8-bit; 3 channels in RGB order, or 1 grey channel,
// which is first replicated to RGB as PIL's convert("RGB") does). Errors name `nameForErrors`.
Result<cv::Mat> applyImageTransforms(const cv::Mat &image, const std::vector<ImageTransform> &transforms,
                                     const std::string &nameForErrors);

// ToTensor + Normalize exactly as torch computes them in float32: (v/255 − mean)/std,
// each step rounded to float. Writes channels×rows×cols floats (CHW) into `out`. `mean`
// and `std` hold one value per channel (or one for all).
void toNormalisedTensor(const cv::Mat &image, const std::vector<float> &mean, const std::vector<float> &std,
                        float *out);

} // namespace traclens
