#include "data/imagedecoder.h"

#include "util/filereader.h"

#include "data/idxfile.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace traclens {

namespace {

uint32_t be16(const uint8_t *p) { return (uint32_t(p[0]) << 8) | p[1]; }
uint32_t be32(const uint8_t *p) { return (be16(p) << 16) | be16(p + 2); }
uint32_t le16(const uint8_t *p) { return (uint32_t(p[1]) << 8) | p[0]; }
uint32_t le24(const uint8_t *p) { return (uint32_t(p[2]) << 16) | le16(p); }
uint32_t le32(const uint8_t *p) { return (uint32_t(p[3]) << 24) | le24(p); }

struct Size64 {
    int64_t width = 0;
    int64_t height = 0;
};

std::optional<Size64> pngSize(const uint8_t *p, size_t n)
{
    static const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (n < 24 || std::memcmp(p, kSignature, 8) != 0 || std::memcmp(p + 12, "IHDR", 4) != 0)
        return std::nullopt;
    return Size64{be32(p + 16), be32(p + 20)};
}

std::optional<Size64> jpegSize(const uint8_t *p, size_t n)
{
    if (n < 4 || p[0] != 0xFF || p[1] != 0xD8)
        return std::nullopt;
    size_t i = 2;
    while (i + 1 < n) {
        if (p[i] != 0xFF)
            return std::nullopt; // not at a marker: corrupt; the decoder will say so
        while (i < n && p[i] == 0xFF)
            ++i; // fill bytes
        if (i >= n)
            break;
        const uint8_t marker = p[i++];
        if (marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7))
            continue; // markers without a length
        if (marker == 0xD9 || marker == 0xDA)
            return std::nullopt; // end of image or start of scan before any frame header
        if (i + 2 > n)
            break;
        const uint32_t length = be16(p + i);
        const bool isFrameHeader = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 &&
                                   marker != 0xC8 && marker != 0xCC;
        if (isFrameHeader) {
            if (i + 7 > n)
                break;
            return Size64{be16(p + i + 5), be16(p + i + 3)};
        }
        if (length < 2)
            return std::nullopt;
        i += length;
    }
    return std::nullopt;
}

std::optional<Size64> bmpSize(const uint8_t *p, size_t n)
{
    if (n < 26 || p[0] != 'B' || p[1] != 'M')
        return std::nullopt;
    if (le32(p + 14) == 12) // OS/2 BITMAPCOREHEADER: 16-bit sizes
        return Size64{le16(p + 18), le16(p + 20)};
    // Negative heights mean top-down rows.
    const int64_t w = int32_t(le32(p + 18));
    const int64_t h = int32_t(le32(p + 22));
    return Size64{w < 0 ? -w : w, h < 0 ? -h : h};
}

std::optional<Size64> pnmSize(const uint8_t *p, size_t n)
{
    if (n < 3 || p[0] != 'P' || p[1] < '1' || p[1] > '6')
        return std::nullopt;
    size_t i = 2;
    int64_t values[2] = {0, 0};
    for (int64_t &v : values) {
        for (;;) { // whitespace and comments
            while (i < n && std::isspace(p[i]))
                ++i;
            if (i < n && p[i] == '#') {
                while (i < n && p[i] != '\n')
                    ++i;
                continue;
            }
            break;
        }
        if (i >= n || !std::isdigit(p[i]))
            return std::nullopt;
        while (i < n && std::isdigit(p[i]) && v < (int64_t(1) << 40))
            v = v * 10 + (p[i++] - '0');
    }
    return Size64{values[0], values[1]};
}

std::optional<Size64> webpSize(const uint8_t *p, size_t n)
{
    if (n < 30 || std::memcmp(p, "RIFF", 4) != 0 || std::memcmp(p + 8, "WEBP", 4) != 0)
        return std::nullopt;
    if (std::memcmp(p + 12, "VP8X", 4) == 0)
        return Size64{int64_t(le24(p + 24)) + 1, int64_t(le24(p + 27)) + 1};
    if (std::memcmp(p + 12, "VP8 ", 4) == 0 && p[23] == 0x9D && p[24] == 0x01 && p[25] == 0x2A)
        return Size64{le16(p + 26) & 0x3FFF, le16(p + 28) & 0x3FFF};
    if (std::memcmp(p + 12, "VP8L", 4) == 0 && p[20] == 0x2F) {
        const uint32_t bits = le32(p + 21);
        return Size64{int64_t(bits & 0x3FFF) + 1, int64_t((bits >> 14) & 0x3FFF) + 1};
    }
    return std::nullopt;
}

std::optional<Size64> tiffSize(const uint8_t *p, size_t n)
{
    if (n < 8)
        return std::nullopt;
    const bool little = p[0] == 'I' && p[1] == 'I' && p[2] == 42 && p[3] == 0;
    const bool big = p[0] == 'M' && p[1] == 'M' && p[2] == 0 && p[3] == 42;
    if (!little && !big)
        return std::nullopt; // BigTIFF and others: left to the decoder
    auto u16 = [&](size_t at) { return little ? le16(p + at) : be16(p + at); };
    auto u32 = [&](size_t at) { return little ? le32(p + at) : be32(p + at); };
    const size_t ifd = u32(4);
    if (ifd + 2 > n)
        return std::nullopt;
    const size_t count = u16(ifd);
    Size64 size;
    for (size_t e = 0; e < count && ifd + 2 + e * 12 + 12 <= n; ++e) {
        const size_t at = ifd + 2 + e * 12;
        const uint32_t tag = u16(at);
        const uint32_t type = u16(at + 2);
        const int64_t value = type == 3 ? u16(at + 8) : type == 4 ? u32(at + 8) : -1;
        if (tag == 256)
            size.width = value;
        else if (tag == 257)
            size.height = value;
    }
    if (size.width <= 0 || size.height <= 0)
        return std::nullopt;
    return size;
}

// Dimensions from the file header, without decoding; nullopt when the format is not
// recognised or the header is damaged (the decoder then reports the problem).
std::optional<Size64> headerSize(const uint8_t *p, size_t n)
{
    for (auto probe : {pngSize, jpegSize, bmpSize, pnmSize, webpSize, tiffSize})
        if (std::optional<Size64> size = probe(p, n))
            return size;
    return std::nullopt;
}

// Each side is checked alone first: headers carry 32-bit sides whose product overflows.
bool exceedsPixelLimit(const Size64 &size)
{
    return size.width > kMaxImagePixels || size.height > kMaxImagePixels ||
           size.width * size.height > kMaxImagePixels;
}

Status tooLarge(const std::string &name, int64_t width, int64_t height)
{
    return Status::invalid(name + ": too large (" + std::to_string(width) + "x" + std::to_string(height) +
                           " pixels; the limit is " + std::to_string(kMaxImagePixels) + ")");
}

// Brings any decoded depth and channel count to 8-bit grey or BGR.
Result<cv::Mat> toEightBit(cv::Mat image, const std::string &name)
{
    switch (image.depth()) {
    case CV_8U:
        break;
    case CV_16U:
        image.convertTo(image, CV_8U, 255.0 / 65535.0);
        break;
    case CV_32F:
    case CV_64F:
        // Floating-point images (TIFF) are conventionally in [0, 1].
        image.convertTo(image, CV_8U, 255.0);
        break;
    default: {
        // Signed integers have no conventional range; stretch what is there.
        cv::Mat stretched;
        cv::normalize(image, stretched, 0, 255, cv::NORM_MINMAX, CV_8U);
        image = stretched;
        break;
    }
    }
    switch (image.channels()) {
    case 1:
    case 3:
        return image;
    case 4:
        cv::cvtColor(image, image, cv::COLOR_BGRA2BGR);
        return image;
    case 2: {
        cv::Mat grey;
        cv::extractChannel(image, grey, 0);
        return grey;
    }
    default:
        return Status::unsupported(name + ": " + std::to_string(image.channels()) + " channels");
    }
}

// A source must stay below the store's root, whoever wrote it.
bool escapesRoot(const std::string &source)
{
    if (source.empty() || source[0] == '/')
        return true;
    size_t start = 0;
    while (start <= source.size()) {
        size_t end = source.find('/', start);
        if (end == std::string::npos)
            end = source.size();
        if (source.compare(start, end - start, "..") == 0)
            return true;
        start = end + 1;
    }
    return false;
}

// PIL's convert("RGB") of what OpenCV decoded without EXIF orientation. Pillow opens a
// 16-bit grey PNG as mode "I" and clips it to 0..255 on conversion, and keeps the high
// byte of 16-bit colour samples; 8-bit images only lose alpha or gain channels.
Result<cv::Mat> toPilRgb(cv::Mat image, const uint8_t *data, size_t size, const std::string &name)
{
    if (image.depth() == CV_16U) {
        const bool png = pngSize(data, size).has_value();
        const bool greyPng = png && size > 25 && data[25] == 0;
        if (greyPng && image.channels() == 1) {
            cv::Mat clipped;
            cv::min(image, 255, clipped);
            clipped.convertTo(image, CV_8U);
        } else {
            // Exact: the shift by 8 is a division by 256 with truncation.
            cv::Mat high(image.size(), CV_8UC(image.channels()));
            const int values = image.cols * image.channels();
            for (int y = 0; y < image.rows; ++y) {
                const uint16_t *src = image.ptr<uint16_t>(y);
                uint8_t *dst = high.ptr<uint8_t>(y);
                for (int i = 0; i < values; ++i)
                    dst[i] = uint8_t(src[i] >> 8);
            }
            image = high;
        }
    }
    Result<cv::Mat> eight = toEightBit(std::move(image), name);
    if (!eight.ok())
        return eight.status();
    cv::Mat bgr = std::move(eight).value();
    if (bgr.channels() == 1)
        cv::cvtColor(bgr, bgr, cv::COLOR_GRAY2BGR);
    return bgr;
}

} // namespace

int exifOrientation(const uint8_t *data, size_t size)
{
    // JPEG: SOI, then marker segments up to the first scan; the orientation is tag 0x0112
    // of IFD0 in the "Exif\0\0" APP1 segment's TIFF structure.
    if (size < 4 || data[0] != 0xFF || data[1] != 0xD8)
        return 1;
    size_t pos = 2;
    while (pos + 4 <= size) {
        if (data[pos] != 0xFF)
            return 1;
        const uint8_t marker = data[pos + 1];
        if (marker == 0xFF) { // fill byte
            ++pos;
            continue;
        }
        if (marker == 0xDA || marker == 0xD9) // start of scan, end of image
            return 1;
        const size_t length = (size_t(data[pos + 2]) << 8) | data[pos + 3];
        if (length < 2 || pos + 2 + length > size)
            return 1;
        const uint8_t *segment = data + pos + 4;
        const size_t segmentSize = length - 2;
        if (marker == 0xE1 && segmentSize >= 6 + 8 && std::memcmp(segment, "Exif\0\0", 6) == 0) {
            const uint8_t *tiff = segment + 6;
            const size_t n = segmentSize - 6;
            const bool little = tiff[0] == 'I' && tiff[1] == 'I';
            if (!little && !(tiff[0] == 'M' && tiff[1] == 'M'))
                return 1;
            auto u16 = [&](size_t o) -> uint32_t {
                return little ? uint32_t(tiff[o]) | uint32_t(tiff[o + 1]) << 8
                              : uint32_t(tiff[o]) << 8 | uint32_t(tiff[o + 1]);
            };
            auto u32 = [&](size_t o) -> uint32_t {
                return little ? u16(o) | u16(o + 2) << 16 : u16(o) << 16 | u16(o + 2);
            };
            if (u16(2) != 42)
                return 1;
            const size_t ifd = u32(4);
            if (ifd > n || n - ifd < 2)
                return 1;
            const size_t count = u16(ifd);
            for (size_t i = 0; i < count; ++i) {
                const size_t entry = ifd + 2 + 12 * i;
                if (entry + 12 > n)
                    return 1;
                if (u16(entry) != 0x0112)
                    continue;
                const uint32_t type = u16(entry + 2);
                const uint32_t value = type == 3 ? u16(entry + 8) : type == 4 ? u32(entry + 8) : 0;
                return value >= 1 && value <= 8 ? int(value) : 1;
            }
            return 1;
        }
        pos += 2 + length;
    }
    return 1;
}

DecodeStyle decodeStyleFor(const InputSpec &spec)
{
    return spec.transforms ? DecodeStyle::PilRgb : DecodeStyle::Native;
}

Result<cv::Mat> decodeImageFile(const std::string &path)
{
    return decodeImageFile(path, DecodeStyle::Native);
}

Result<cv::Mat> decodeImageFile(const std::string &path, DecodeStyle style)
{
    // The size cap (kMaxImageFileBytes, filereader.h) is checked before reading.
    Result<std::string> bytes = readFileCapped(path, kMaxImageFileBytes, "an image");
    if (!bytes.ok())
        return bytes.status();
    if (bytes->empty())
        return Status::invalid(path + ": zero-byte file");
    return decodeImageBytes(reinterpret_cast<const uint8_t *>(bytes->data()), bytes->size(), path, style);
}

Result<cv::Mat> decodeImageBytes(const std::vector<uint8_t> &bytes, const std::string &nameForErrors)
{
    return decodeImageBytes(bytes.data(), bytes.size(), nameForErrors, DecodeStyle::Native);
}

Result<cv::Mat> decodeImageBytes(const uint8_t *data, size_t size, const std::string &nameForErrors)
{
    return decodeImageBytes(data, size, nameForErrors, DecodeStyle::Native);
}

Result<cv::Mat> decodeImageBytes(const uint8_t *data, size_t size, const std::string &nameForErrors,
                                 DecodeStyle style)
{
    const std::string &name = nameForErrors;
    if (size == 0)
        return Status::invalid(name + ": zero-byte file");
    if (size > kMaxImageFileBytes)
        return Status::invalid(name + ": too large for an image (" + std::to_string(size) + " bytes; the limit is "
                               + std::to_string(kMaxImageFileBytes >> 20) + " MiB)");
    if (std::optional<Size64> header = headerSize(data, size);
        header && exceedsPixelLimit(*header))
        return tooLarge(name, header->width, header->height);

    cv::Mat decoded;
    try {
        const cv::Mat buffer(1, int(size), CV_8U, const_cast<uint8_t *>(data));
        // ANYDEPTH keeps 16-bit samples so they are scaled, not truncated, below;
        // ANYCOLOR keeps grey images grey and drops alpha from colour ones. Not
        // IMREAD_UNCHANGED: that would also skip the EXIF orientation, which the native
        // style applies and the PIL style (ImageFolder never rotates) does not.
        int flags = cv::IMREAD_ANYDEPTH | cv::IMREAD_ANYCOLOR;
        if (style == DecodeStyle::PilRgb)
            flags |= cv::IMREAD_IGNORE_ORIENTATION;
        decoded = cv::imdecode(buffer, flags);
        if (decoded.empty())
            return Status::invalid(name + ": not an image or corrupt");
        if (exceedsPixelLimit({decoded.cols, decoded.rows}))
            return tooLarge(name, decoded.cols, decoded.rows);
        if (style == DecodeStyle::PilRgb)
            return toPilRgb(std::move(decoded), data, size, name);
        // OpenCV expands grey+alpha PNGs to BGR; the three channels are equal, so going
        // back to grey loses nothing and keeps "grey stays grey" true.
        const bool greyAlphaPng =
            size > 25 && pngSize(data, size) && data[25] == 4;
        if (greyAlphaPng && decoded.channels() == 3)
            cv::cvtColor(decoded, decoded, cv::COLOR_BGR2GRAY);
        return toEightBit(std::move(decoded), name);
    } catch (const cv::Exception &e) {
        return Status::invalid(name + ": not an image or corrupt (" + e.err + ")");
    } catch (const std::bad_alloc &) {
        return Status::ioError(name + ": out of memory while decoding");
    } catch (const std::exception &e) {
        return Status::internal(name + ": " + e.what());
    }
}

void toModelInput(const cv::Mat &image, const InputSpec &spec, float *out)
{
    if (spec.transforms) {
        if (!prepareModelInput(image, spec, out, "image"))
            std::fill(out, out + spec.floatsPerImage(), 0.0f);
        return;
    }
    const size_t plane = size_t(spec.height) * size_t(spec.width);
    if (image.empty() || spec.height <= 0 || spec.width <= 0) {
        std::fill(out, out + spec.floatsPerImage(), 0.0f);
        return;
    }
    cv::Mat src = image;
    if (src.depth() != CV_8U)
        src.convertTo(src, CV_8U, src.depth() == CV_16U ? 255.0 / 65535.0 : 1.0);

    // Channel conversion first: going to grey shrinks the work for the resize.
    cv::Mat converted;
    const int cn = src.channels();
    if (spec.channels == 1) {
        if (cn == 3)
            cv::cvtColor(src, converted, cv::COLOR_BGR2GRAY);
        else if (cn == 4)
            cv::cvtColor(src, converted, cv::COLOR_BGRA2GRAY);
        else
            converted = src;
    } else {
        if (cn == 1)
            cv::cvtColor(src, converted, cv::COLOR_GRAY2RGB);
        else if (cn == 4)
            cv::cvtColor(src, converted, cv::COLOR_BGRA2RGB);
        else
            cv::cvtColor(src, converted, cv::COLOR_BGR2RGB);
    }
    cv::Mat sized = converted;
    if (converted.rows != spec.height || converted.cols != spec.width)
        cv::resize(converted, sized, cv::Size(spec.width, spec.height), 0, 0, cv::INTER_AREA);

    // (p/255 - mean)/std folded into one multiply-add per value.
    const int channels = sized.channels();
    for (int c = 0; c < channels; ++c) {
        const float mean = spec.mean.empty() ? 0.0f : spec.mean[std::min(size_t(c), spec.mean.size() - 1)];
        float sd = spec.std.empty() ? 1.0f : spec.std[std::min(size_t(c), spec.std.size() - 1)];
        if (sd == 0.0f)
            sd = 1.0f;
        const float scale = 1.0f / (255.0f * sd);
        const float offset = -mean / sd;
        float *dst = out + size_t(c) * plane;
        for (int y = 0; y < sized.rows; ++y) {
            const uint8_t *row = sized.ptr<uint8_t>(y);
            for (int x = 0; x < sized.cols; ++x)
                *dst++ = float(row[size_t(x) * channels + c]) * scale + offset;
        }
    }
}

Status prepareModelInput(const cv::Mat &image, const InputSpec &spec, float *out, const std::string &nameForErrors)
{
    if (!spec.transforms) {
        toModelInput(image, spec, out);
        return Status::ok();
    }
    if (image.empty())
        return Status::invalid(nameForErrors + ": empty image");
    try {
        // PIL's images are RGB; decoded images here are BGR(A) or grey.
        cv::Mat rgb;
        cv::Mat src = image;
        if (src.depth() != CV_8U) {
            Result<cv::Mat> eight = toEightBit(src, nameForErrors);
            if (!eight.ok())
                return eight.status();
            src = std::move(eight).value();
        }
        switch (src.channels()) {
        case 1:
            rgb = src;
            break;
        case 3:
            cv::cvtColor(src, rgb, cv::COLOR_BGR2RGB);
            break;
        case 4:
            cv::cvtColor(src, rgb, cv::COLOR_BGRA2RGB);
            break;
        default:
            return Status::unsupported(nameForErrors + ": " + std::to_string(src.channels()) + " channels");
        }
        Result<cv::Mat> prepared = applyImageTransforms(rgb, *spec.transforms, nameForErrors);
        if (!prepared.ok())
            return prepared.status();
        const cv::Mat &result = *prepared;
        if (result.channels() != spec.channels || result.rows != spec.height || result.cols != spec.width)
            return Status::invalid(nameForErrors + ": the model's transforms give a " + std::to_string(result.channels()) +
                                   "×" + std::to_string(result.rows) + "×" + std::to_string(result.cols) +
                                   " input (channels×height×width) but the model expects " +
                                   std::to_string(spec.channels) + "×" + std::to_string(spec.height) + "×" +
                                   std::to_string(spec.width));
        toNormalisedTensor(result, spec.mean, spec.std, out);
        return Status::ok();
    } catch (const cv::Exception &e) {
        return Status::internal(nameForErrors + ": preparing the image failed (" + e.err + ")");
    } catch (const std::bad_alloc &) {
        return Status::ioError(nameForErrors + ": out of memory while preparing the image");
    }
}

ImageStore::ImageStore(SourceKind kind, std::string root) : m_kind(kind), m_root(std::move(root)) {}

Result<cv::Mat> ImageStore::load(const std::string &source) const
{
    return load(source, DecodeStyle::Native);
}

Status ImageStore::loadModelInput(const std::string &source, const InputSpec &spec, float *out) const
{
    Result<cv::Mat> image = load(source, decodeStyleFor(spec));
    if (!image.ok())
        return image.status();
    const std::string name = m_kind == SourceKind::Idx ? source : m_root + "/" + source;
    return prepareModelInput(*image, spec, out, name);
}

int ImageStore::exifOrientation(const std::string &source) const
{
    if (m_kind == SourceKind::Idx || escapesRoot(source))
        return 1;
    // APP1 segments are at most 64 KiB and come before the image data: the head suffices.
    std::ifstream in(m_root + "/" + source, std::ios::binary);
    if (!in)
        return 1;
    std::vector<uint8_t> head(size_t(128) << 10);
    in.read(reinterpret_cast<char *>(head.data()), std::streamsize(head.size()));
    return traclens::exifOrientation(head.data(), size_t(in.gcount()));
}

Result<cv::Mat> ImageStore::load(const std::string &source, DecodeStyle style) const
{
    if (m_kind != SourceKind::Idx) {
        if (escapesRoot(source))
            return Status::invalid("'" + source + "': not a path inside " + m_root);
        return decodeImageFile(m_root + "/" + source, style);
    }

    const size_t hash = source.rfind('#');
    if (hash == std::string::npos || hash == 0)
        return Status::invalid("'" + source + "': not an IDX source (expected <file>#<index>)");
    const std::string name = source.substr(0, hash);
    if (name.find('/') != std::string::npos || name == "..")
        return Status::invalid("'" + source + "': the IDX file must lie directly in " + m_root);
    int64_t index = -1;
    const char *first = source.data() + hash + 1;
    const char *last = source.data() + source.size();
    if (auto [ptr, ec] = std::from_chars(first, last, index); ec != std::errc() || ptr != last || first == last)
        return Status::invalid("'" + source + "': not an IDX source (expected <file>#<index>)");

    std::shared_ptr<const IdxFile> file;
    {
        // Held while reading so concurrent first loads read the file once, not once per
        // thread; later loads only look up the pointer.
        std::lock_guard<std::mutex> lock(m_mutex);
        auto it = m_idx.find(name);
        if (it != m_idx.end()) {
            file = it->second;
        } else {
            // Failures are remembered: a thumbnail grid asks for thousands of images, and
            // re-reading a corrupt 26 MB file for each would take hours.
            if (auto failed = m_idxErrors.find(name); failed != m_idxErrors.end())
                return failed->second;
            Result<IdxFile> read = IdxFile::read(m_root + "/" + name);
            if (!read) {
                m_idxErrors.emplace(name, read.status());
                return read.status();
            }
            file = std::make_shared<const IdxFile>(std::move(read).value());
            m_idx.emplace(name, file);
        }
    }

    const std::vector<int> &dims = file->dims();
    const int channels = dims.size() == 4 ? dims[3] : 1;
    if ((dims.size() != 3 && dims.size() != 4) || (channels != 1 && channels != 3))
        return Status::unsupported(name + ": not image data (expected N×H×W or N×H×W×C dimensions)");
    if (index < 0 || index >= file->count())
        return Status::notFound(name + ": no image #" + std::to_string(index) + " (the file holds " +
                                std::to_string(file->count()) + ")");
    try {
        // A copy, so the image outlives this store if need be.
        cv::Mat view(dims[1], dims[2], CV_8UC(channels), const_cast<uint8_t *>(file->item(index)));
        cv::Mat image;
        if (channels == 3)
            cv::cvtColor(view, image, cv::COLOR_RGB2BGR); // IDX stores RGB; we hand out BGR
        else if (style == DecodeStyle::PilRgb)
            cv::cvtColor(view, image, cv::COLOR_GRAY2BGR);
        else
            image = view.clone();
        return image;
    } catch (const cv::Exception &e) {
        return Status::internal(name + ": " + e.err);
    }
}

} // namespace traclens
