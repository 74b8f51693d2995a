// Cost per image of preparing pixels for a model: TracLens' own preparation (no
// input.transforms: OpenCV decode with EXIF, area resize of the whole image) against the
// torchvision pipeline (PIL-style decode, Pillow resampling, CenterCrop, float32
// Normalize). Photo-like images are generated and encoded in memory, so the figures are
// decode + prepare without disk access. Prints microseconds per image, median of runs.
// Usage: bench_preprocess [repetitions]

#include "data/imagedecoder.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

using namespace traclens;

namespace {

cv::Mat photo(int rows, int cols, int seed)
{
    cv::Mat img(rows, cols, CV_8UC3);
    cv::RNG rng{uint64_t(seed)};
    for (int y = 0; y < rows; ++y)
        for (int x = 0; x < cols; ++x)
            img.at<cv::Vec3b>(y, x) = cv::Vec3b(cv::saturate_cast<uint8_t>(255.0 * x / cols + rng.gaussian(15)),
                                                cv::saturate_cast<uint8_t>(128 + 90 * std::sin(x / 3.0 + y / 5.0)),
                                                cv::saturate_cast<uint8_t>(255.0 * y / rows + rng.gaussian(15)));
    return img;
}

double medianMicros(int reps, const std::function<void()> &f)
{
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        t.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2]; // median: the machine may be shared
}

struct Case {
    const char *name;
    int rows, cols;
    const char *ext;
    InputSpec spec; // transforms set; the legacy run clears them
};

InputSpec rgb(int h, int w, std::vector<ImageTransform> t)
{
    InputSpec s;
    s.channels = 3;
    s.height = h;
    s.width = w;
    s.mean = {0.485f, 0.456f, 0.406f};
    s.std = {0.229f, 0.224f, 0.225f};
    s.transforms = std::move(t);
    return s;
}

ImageTransform resize(std::vector<int> size, ResampleFilter f = ResampleFilter::Bilinear)
{
    ImageTransform t;
    t.op = ImageTransform::Op::Resize;
    t.size = std::move(size);
    t.interpolation = f;
    return t;
}

ImageTransform crop(int h, int w)
{
    ImageTransform t;
    t.op = ImageTransform::Op::CenterCrop;
    t.size = {h, w};
    return t;
}

} // namespace

int main(int argc, char **argv)
{
    const int reps = argc > 1 ? std::max(3, std::atoi(argv[1])) : 31;
    const std::vector<Case> cases = {
        {"ResNet-style 500x375 JPEG, Resize(256)+CenterCrop(224)", 375, 500, ".jpg",
         rgb(224, 224, {resize({256}), crop(224, 224)})},
        {"same, bicubic", 375, 500, ".jpg",
         rgb(224, 224, {resize({256}, ResampleFilter::Bicubic), crop(224, 224)})},
        {"64x64 PNG photo, no ops (already the model's size)", 64, 64, ".png", rgb(64, 64, {})},
        {"96x80 PNG photo, Resize(72)+CenterCrop(64)", 80, 96, ".png", rgb(64, 64, {resize({72}), crop(64, 64)})},
    };
    std::printf("%-58s %12s %12s %12s %12s\n", "case (µs per image, median)", "decode own", "decode PIL",
                "prepare own", "prepare tv");
    for (const Case &c : cases) {
        std::vector<uint8_t> bytes;
        cv::imencode(c.ext, photo(c.rows, c.cols, 1), bytes, {cv::IMWRITE_JPEG_QUALITY, 90});
        InputSpec legacy = c.spec;
        legacy.transforms.reset();
        std::vector<float> out(c.spec.floatsPerImage());
        cv::Mat own, pil;
        const double decodeOwn = medianMicros(reps, [&] { own = *decodeImageBytes(bytes.data(), bytes.size(), "x"); });
        const double decodePil = medianMicros(
            reps, [&] { pil = *decodeImageBytes(bytes.data(), bytes.size(), "x", DecodeStyle::PilRgb); });
        const double prepOwn = medianMicros(reps, [&] { toModelInput(own, legacy, out.data()); });
        const double prepTv = medianMicros(reps, [&] {
            if (!prepareModelInput(pil, c.spec, out.data(), "x"))
                std::abort();
        });
        std::printf("%-58s %12.1f %12.1f %12.1f %12.1f\n", c.name, decodeOwn, decodePil, prepOwn, prepTv);
    }
    return 0;
}
