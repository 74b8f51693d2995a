#pragma once
// Small file writers shared by the data tests: every fixture is made at run time in a
// QTemporaryDir, so the tests carry no binary golden files.

#include <zlib.h>

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QString>

#include <cstdint>
#include <vector>

namespace traclens::testing {

inline bool writeFile(const QString &path, const QByteArray &bytes)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return false;
    return f.write(bytes) == bytes.size();
}

// gzip-compresses `bytes` (a real gzip member, as gzip(1) writes it).
inline QByteArray gzipped(const QByteArray &bytes)
{
    z_stream zs{};
    // windowBits 15 + 16 selects the gzip wrapper.
    deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    QByteArray out(int(deflateBound(&zs, uLong(bytes.size()))) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(bytes.data()));
    zs.avail_in = uInt(bytes.size());
    zs.next_out = reinterpret_cast<Bytef *>(out.data());
    zs.avail_out = uInt(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(int(zs.total_out));
    deflateEnd(&zs);
    return out;
}

inline void appendBigEndian32(QByteArray &out, uint32_t v)
{
    out.append(char(v >> 24)).append(char(v >> 16)).append(char(v >> 8)).append(char(v));
}

// An IDX file of unsigned bytes: magic 00 00 08 <ndims>, big-endian dims, data.
inline QByteArray idxBytes(const std::vector<int> &dims, const QByteArray &data, uint8_t type = 0x08)
{
    QByteArray out;
    out.append('\0').append('\0').append(char(type)).append(char(dims.size()));
    for (int d : dims)
        appendBigEndian32(out, uint32_t(d));
    out.append(data);
    return out;
}

// `count` images of h×w where every pixel of image i is (i * 7 + 3) % 256.
inline QByteArray idxImages(int count, int h, int w)
{
    QByteArray data;
    for (int i = 0; i < count; ++i)
        data.append(QByteArray(h * w, char((i * 7 + 3) % 256)));
    return idxBytes({count, h, w}, data);
}

inline QByteArray idxLabels(const std::vector<int> &labels)
{
    QByteArray data;
    for (int l : labels)
        data.append(char(l));
    return idxBytes({int(labels.size())}, data);
}

inline void appendPngChunk(QByteArray &out, const char *type, const QByteArray &payload)
{
    appendBigEndian32(out, uint32_t(payload.size()));
    QByteArray typed = QByteArray(type, 4) + payload;
    out.append(typed);
    appendBigEndian32(out, uint32_t(crc32(0, reinterpret_cast<const Bytef *>(typed.data()), uInt(typed.size()))));
}

// A PNG header claiming width×height with nothing decodable behind it: enough for a
// decoder that checks dimensions first, and never decodable by one that does not.
inline QByteArray pngHeaderOnly(uint32_t width, uint32_t height)
{
    QByteArray out("\x89PNG\r\n\x1a\n", 8);
    QByteArray ihdr;
    appendBigEndian32(ihdr, width);
    appendBigEndian32(ihdr, height);
    ihdr.append(char(8)).append(char(0)).append('\0').append('\0').append('\0'); // 8-bit grey
    appendPngChunk(out, "IHDR", ihdr);
    appendPngChunk(out, "IDAT", QByteArray(16, '\0'));
    return out;
}

// A PNG written by hand, for the kinds cv::imwrite cannot produce (palette, grey with
// alpha). `pixels` holds width*height*bytesPerPixel bytes, row-major; `palette` (RGB
// triples) is written as a PLTE chunk when not empty.
inline QByteArray handMadePng(int width, int height, int colourType, int bytesPerPixel,
                              const QByteArray &pixels, const QByteArray &palette = {})
{
    QByteArray out("\x89PNG\r\n\x1a\n", 8);
    QByteArray ihdr;
    appendBigEndian32(ihdr, uint32_t(width));
    appendBigEndian32(ihdr, uint32_t(height));
    ihdr.append(char(8)).append(char(colourType)).append('\0').append('\0').append('\0');
    appendPngChunk(out, "IHDR", ihdr);
    if (!palette.isEmpty())
        appendPngChunk(out, "PLTE", palette);
    QByteArray raw;
    const int rowBytes = width * bytesPerPixel;
    for (int y = 0; y < height; ++y) {
        raw.append('\0'); // filter type: none
        raw.append(pixels.mid(y * rowBytes, rowBytes));
    }
    QByteArray compressed(int(compressBound(uLong(raw.size()))), '\0');
    uLongf compressedSize = uLongf(compressed.size());
    compress(reinterpret_cast<Bytef *>(compressed.data()), &compressedSize,
             reinterpret_cast<const Bytef *>(raw.data()), uLong(raw.size()));
    compressed.resize(int(compressedSize));
    appendPngChunk(out, "IDAT", compressed);
    appendPngChunk(out, "IEND", QByteArray());
    return out;
}

} // namespace traclens::testing
