#include "data/imagetransforms.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace traclens {

namespace {

// Pillow's libImaging/Resample.c, 8 bits per channel. Its integer arithmetic is what
// makes the output bit-exact, so the constants and the order of rounding are kept.
constexpr int kPrecisionBits = 32 - 8 - 2;

double bilinearFilter(double x)
{
    if (x < 0.0)
        x = -x;
    if (x < 1.0)
        return 1.0 - x;
    return 0.0;
}

double bicubicFilter(double x)
{
    constexpr double a = -0.5;
    if (x < 0.0)
        x = -x;
    if (x < 1.0)
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0)
        return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

// Output pixel i reads input pixels [first[i], first[i] + count[i]) with the fixed-point
// weights weights[i * ksize ...].
struct Coefficients {
    int ksize = 0;
    std::vector<int> first, count;
    std::vector<int32_t> weights;
};

Coefficients precomputeCoefficients(int inSize, int outSize, double (*filter)(double), double filterSupport)
{
    // Pillow passes the box edges as floats; for a whole image they are 0 and inSize.
    const float in0 = 0.0f;
    const float in1 = float(inSize);
    const double scale = double(in1 - in0) / outSize;
    // Downscaling widens the filter so every input pixel contributes (antialiasing).
    const double filterScale = scale < 1.0 ? 1.0 : scale;
    const double support = filterSupport * filterScale;
    Coefficients c;
    c.ksize = int(std::ceil(support)) * 2 + 1;
    c.first.resize(size_t(outSize));
    c.count.resize(size_t(outSize));
    c.weights.assign(size_t(outSize) * size_t(c.ksize), 0);
    std::vector<double> k(size_t(c.ksize));
    for (int xx = 0; xx < outSize; ++xx) {
        const double center = in0 + (xx + 0.5) * scale;
        const double ss = 1.0 / filterScale;
        // Truncation toward zero, as the C cast in Pillow.
        int xmin = int(center - support + 0.5);
        if (xmin < 0)
            xmin = 0;
        int xmax = int(center + support + 0.5);
        if (xmax > inSize)
            xmax = inSize;
        xmax -= xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; ++x) {
            const double w = filter((x + xmin - center + 0.5) * ss);
            k[size_t(x)] = w;
            ww += w;
        }
        int32_t *out = c.weights.data() + size_t(xx) * size_t(c.ksize);
        for (int x = 0; x < xmax; ++x) {
            double w = k[size_t(x)];
            if (ww != 0.0)
                w /= ww;
            out[x] = w < 0 ? int32_t(-0.5 + w * (1 << kPrecisionBits)) : int32_t(0.5 + w * (1 << kPrecisionBits));
        }
        c.first[size_t(xx)] = xmin;
        c.count[size_t(xx)] = xmax;
    }
    return c;
}

// Pillow's clip8: the accumulator's integer part, clamped to a byte. The shift is
// arithmetic (negative sums from bicubic's lobes floor to negative, then clamp to 0).
inline uint8_t clip8(int32_t v)
{
    const int32_t i = v >> kPrecisionBits;
    return uint8_t(i < 0 ? 0 : i > 255 ? 255 : i);
}

// Rows [rowBegin, rowEnd) of `in`, resampled along x into `out` (rowEnd - rowBegin rows).
void resampleHorizontal(const cv::Mat &in, int rowBegin, int rowEnd, const Coefficients &c, cv::Mat &out)
{
    const int cn = in.channels();
    const int outWidth = int(c.first.size());
    out.create(rowEnd - rowBegin, outWidth, in.type());
    constexpr int32_t kHalf = 1 << (kPrecisionBits - 1);
    for (int y = rowBegin; y < rowEnd; ++y) {
        const uint8_t *src = in.ptr<uint8_t>(y);
        uint8_t *dst = out.ptr<uint8_t>(y - rowBegin);
        for (int xx = 0; xx < outWidth; ++xx) {
            const int32_t *k = c.weights.data() + size_t(xx) * size_t(c.ksize);
            const uint8_t *p = src + size_t(c.first[size_t(xx)]) * size_t(cn);
            const int n = c.count[size_t(xx)];
            if (cn == 3) {
                int32_t s0 = kHalf, s1 = kHalf, s2 = kHalf;
                for (int x = 0; x < n; ++x, p += 3) {
                    s0 += int32_t(p[0]) * k[x];
                    s1 += int32_t(p[1]) * k[x];
                    s2 += int32_t(p[2]) * k[x];
                }
                dst[0] = clip8(s0);
                dst[1] = clip8(s1);
                dst[2] = clip8(s2);
                dst += 3;
            } else {
                int32_t s0 = kHalf;
                for (int x = 0; x < n; ++x)
                    s0 += int32_t(p[x]) * k[x];
                *dst++ = clip8(s0);
            }
        }
    }
}

// Resampled along y: output row yy sums input rows first[yy] + rowOffset ... with one
// accumulator per value, so the inner loop runs along contiguous memory. Integer sums
// do not depend on the order of addition, so this equals Pillow's per-pixel loop.
void resampleVertical(const cv::Mat &in, int rowOffset, const Coefficients &c, cv::Mat &out)
{
    const int outHeight = int(c.first.size());
    const size_t rowValues = size_t(in.cols) * size_t(in.channels());
    out.create(outHeight, in.cols, in.type());
    std::vector<int32_t> acc(rowValues);
    for (int yy = 0; yy < outHeight; ++yy) {
        std::fill(acc.begin(), acc.end(), int32_t(1) << (kPrecisionBits - 1));
        const int32_t *k = c.weights.data() + size_t(yy) * size_t(c.ksize);
        const int first = c.first[size_t(yy)] - rowOffset;
        for (int y = 0; y < c.count[size_t(yy)]; ++y) {
            const uint8_t *src = in.ptr<uint8_t>(first + y);
            const int32_t w = k[y];
            for (size_t i = 0; i < rowValues; ++i)
                acc[i] += int32_t(src[i]) * w;
        }
        uint8_t *dst = out.ptr<uint8_t>(yy);
        for (size_t i = 0; i < rowValues; ++i)
            dst[i] = clip8(acc[i]);
    }
}

// Pillow's ImagingScaleAffine as Image.resize(NEAREST) calls it: the source position
// advances by repeated addition of the scale (not multiplication), and that rounding
// decides which pixel is picked, so it is kept.
cv::Mat nearestResize(const cv::Mat &in, cv::Size size)
{
    const double ax = double(float(in.cols) - 0.0f) / size.width;
    const double ay = double(float(in.rows) - 0.0f) / size.height;
    auto coord = [](double v) { return v < 0.0 ? -1 : int(v); };
    cv::Mat out = cv::Mat::zeros(size, in.type());
    const size_t pixel = in.elemSize();
    std::vector<int> xin(size_t(size.width), -1);
    double xo = ax * 0.5;
    for (int x = 0; x < size.width; ++x) {
        const int xi = coord(xo);
        if (xi >= 0 && xi < in.cols)
            xin[size_t(x)] = xi;
        xo += ax;
    }
    double yo = ay * 0.5;
    for (int y = 0; y < size.height; ++y) {
        const int yi = coord(yo);
        if (yi >= 0 && yi < in.rows) {
            const uint8_t *src = in.ptr<uint8_t>(yi);
            uint8_t *dst = out.ptr<uint8_t>(y);
            for (int x = 0; x < size.width; ++x)
                if (xin[size_t(x)] >= 0)
                    std::memcpy(dst + size_t(x) * pixel, src + size_t(xin[size_t(x)]) * pixel, pixel);
        }
        yo += ay;
    }
    return out;
}

} // namespace

cv::Size torchvisionResizeSize(int height, int width, const ImageTransform &resize)
{
    if (resize.size.size() >= 2)
        return {resize.size[1], resize.size[0]};
    const int requested = resize.size.empty() ? 0 : resize.size[0];
    const bool portrait = width <= height;
    const int shortSide = portrait ? width : height;
    const int longSide = portrait ? height : width;
    // Python: int(requested * long / short), a true (double) division, then truncation.
    int newShort = requested;
    int newLong = int(double(int64_t(requested) * longSide) / double(shortSide));
    if (resize.maxSize > 0 && newLong > resize.maxSize) {
        newShort = int(double(int64_t(resize.maxSize) * newShort) / double(newLong));
        newLong = resize.maxSize;
    }
    return portrait ? cv::Size(newShort, newLong) : cv::Size(newLong, newShort);
}

cv::Mat pilResize(const cv::Mat &image, cv::Size size, ResampleFilter filter)
{
    if (image.size() == size)
        return image.clone();
    if (filter == ResampleFilter::Nearest)
        return nearestResize(image, size);
    double (*kernel)(double) = filter == ResampleFilter::Bicubic ? bicubicFilter : bilinearFilter;
    const double support = filter == ResampleFilter::Bicubic ? 2.0 : 1.0;

    const bool needHorizontal = size.width != image.cols;
    const bool needVertical = size.height != image.rows;
    const Coefficients vertical = precomputeCoefficients(image.rows, size.height, kernel, support);
    // Only the rows the vertical pass reads go through the horizontal pass.
    const int rowBegin = vertical.first.front();
    const int rowEnd = vertical.first.back() + vertical.count.back();

    cv::Mat current = image;
    int rowOffset = 0;
    if (needHorizontal) {
        const Coefficients horizontal = precomputeCoefficients(image.cols, size.width, kernel, support);
        cv::Mat temp;
        if (needVertical) {
            resampleHorizontal(image, rowBegin, rowEnd, horizontal, temp);
            rowOffset = rowBegin;
        } else {
            resampleHorizontal(image, 0, image.rows, horizontal, temp);
        }
        current = temp;
    }
    if (needVertical) {
        cv::Mat out;
        resampleVertical(current, rowOffset, vertical, out);
        return out;
    }
    return current;
}

cv::Mat torchvisionCenterCrop(const cv::Mat &image, int height, int width)
{
    cv::Mat src = image;
    if (width > src.cols || height > src.rows) {
        const int left = width > src.cols ? (width - src.cols) / 2 : 0;
        const int top = height > src.rows ? (height - src.rows) / 2 : 0;
        const int right = width > src.cols ? (width - src.cols + 1) / 2 : 0;
        const int bottom = height > src.rows ? (height - src.rows + 1) / 2 : 0;
        cv::Mat padded;
        cv::copyMakeBorder(src, padded, top, bottom, left, right, cv::BORDER_CONSTANT, cv::Scalar::all(0));
        src = padded;
        if (src.cols == width && src.rows == height)
            return src;
    }
    // Python's round() rounds halves to even; nearbyint does the same in the default
    // rounding mode.
    const int top = int(std::nearbyint((src.rows - height) / 2.0));
    const int left = int(std::nearbyint((src.cols - width) / 2.0));
    return src(cv::Rect(left, top, width, height)).clone();
}

cv::Mat pilGrayscale(const cv::Mat &image, int channels)
{
    cv::Mat grey;
    if (image.channels() == 1) {
        grey = image;
    } else {
        grey.create(image.size(), CV_8UC1);
        const int step = image.channels();
        for (int y = 0; y < image.rows; ++y) {
            const uint8_t *p = image.ptr<uint8_t>(y);
            uint8_t *q = grey.ptr<uint8_t>(y);
            for (int x = 0; x < image.cols; ++x, p += step)
                q[x] = uint8_t((uint32_t(p[0]) * 19595u + uint32_t(p[1]) * 38470u + uint32_t(p[2]) * 7471u + 0x8000u) >> 16);
        }
    }
    if (channels == 3) {
        cv::Mat rgb;
        cv::cvtColor(grey, rgb, cv::COLOR_GRAY2RGB);
        return rgb;
    }
    return grey.data == image.data ? grey.clone() : grey;
}

Result<cv::Mat> applyImageTransforms(const cv::Mat &image, const std::vector<ImageTransform> &transforms,
                                     const std::string &nameForErrors)
{
    if (image.empty())
        return Status::invalid(nameForErrors + ": empty image");
    if (image.depth() != CV_8U || (image.channels() != 1 && image.channels() != 3))
        return Status::invalid(nameForErrors + ": expected an 8-bit grey or RGB image, got " +
                               std::to_string(image.channels()) + " channels of depth " + std::to_string(image.depth()));
    // ImageFolder's loader converts every file to RGB before the first transform.
    cv::Mat current = image;
    if (current.channels() == 1)
        cv::cvtColor(image, current, cv::COLOR_GRAY2RGB);
    for (size_t i = 0; i < transforms.size(); ++i) {
        const ImageTransform &t = transforms[i];
        switch (t.op) {
        case ImageTransform::Op::Resize: {
            const cv::Size size = torchvisionResizeSize(current.rows, current.cols, t);
            if (size.width <= 0 || size.height <= 0)
                return Status::invalid(nameForErrors + ": transforms[" + std::to_string(i) + "] (resize) gives a " +
                                       std::to_string(size.height) + "×" + std::to_string(size.width) +
                                       " image from " + std::to_string(current.rows) + "×" +
                                       std::to_string(current.cols));
            // torchvision returns the image itself when the size is unchanged.
            if (size != current.size())
                current = pilResize(current, size, t.interpolation);
            break;
        }
        case ImageTransform::Op::CenterCrop: {
            const int h = t.size.empty() ? 0 : t.size[0];
            const int w = t.size.size() >= 2 ? t.size[1] : h;
            current = torchvisionCenterCrop(current, h, w);
            break;
        }
        case ImageTransform::Op::Grayscale:
            current = pilGrayscale(current, t.channels);
            break;
        }
    }
    return current;
}

void toNormalisedTensor(const cv::Mat &image, const std::vector<float> &mean, const std::vector<float> &std,
                        float *out)
{
    const int cn = image.channels();
    const size_t plane = size_t(image.rows) * size_t(image.cols);
    for (int c = 0; c < cn; ++c) {
        const float m = mean.empty() ? 0.0f : mean[std::min(size_t(c), mean.size() - 1)];
        const float s = std.empty() ? 1.0f : std[std::min(size_t(c), std.size() - 1)];
        // torch: x.div(255) then sub_(mean).div_(std), each a correctly rounded float
        // operation. A 256-entry table per channel gives the same floats at table speed.
        std::array<float, 256> lut;
        for (int v = 0; v < 256; ++v) {
            volatile float x = float(v) / 255.0f; // one rounding per step, never fused
            volatile float centred = x - m;
            lut[size_t(v)] = centred / s;
        }
        float *dst = out + size_t(c) * plane;
        for (int y = 0; y < image.rows; ++y) {
            const uint8_t *row = image.ptr<uint8_t>(y);
            for (int x = 0; x < image.cols; ++x)
                *dst++ = lut[row[size_t(x) * size_t(cn) + size_t(c)]];
        }
    }
}

} // namespace traclens
