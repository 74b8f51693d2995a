// Image decoding (formats, depths, channels, damaged and oversized files), conversion
// to model input, and ImageStore for folders and IDX files.

#include "datafixtures.h"
#include "data/idxfile.h"
#include "data/imagedecoder.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <thread>

using namespace traclens;

Q_DECLARE_METATYPE(cv::Mat)

namespace {

// The colour every generated test image is filled with: B, G, R.
const cv::Scalar kColour(40, 160, 220);
constexpr int kGrey = 90;
constexpr int kWidth = 37;
constexpr int kHeight = 23;

QByteArray encode(const cv::Mat &image, const char *ext, const std::vector<int> &params = {})
{
    std::vector<uint8_t> buf;
    if (!cv::imencode(ext, image, buf, params))
        return {};
    return QByteArray(reinterpret_cast<const char *>(buf.data()), int(buf.size()));
}

// Bytes of the fixture called `kind`.
QByteArray fixture(const QString &kind)
{
    const cv::Mat bgr(kHeight, kWidth, CV_8UC3, kColour);
    const cv::Mat grey(kHeight, kWidth, CV_8UC1, cv::Scalar(kGrey));
    if (kind == "png-grey") return encode(grey, ".png");
    if (kind == "png-bgr") return encode(bgr, ".png");
    if (kind == "jpeg-bgr") return encode(bgr, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95});
    if (kind == "jpeg-grey") return encode(grey, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95});
    if (kind == "bmp-bgr") return encode(bgr, ".bmp");
    if (kind == "tiff-bgr") return encode(bgr, ".tiff");
    if (kind == "webp-lossless") return encode(bgr, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101});
    if (kind == "pgm") return encode(grey, ".pgm");
    if (kind == "ppm") return encode(bgr, ".ppm");
    if (kind == "png16-grey") {
        // 90 * 257 is exactly kGrey after scaling by 255/65535.
        return encode(cv::Mat(kHeight, kWidth, CV_16UC1, cv::Scalar(kGrey * 257)), ".png");
    }
    if (kind == "png16-bgr") {
        cv::Mat wide;
        bgr.convertTo(wide, CV_16U, 257.0);
        return encode(wide, ".png");
    }
    if (kind == "png-bgra") {
        cv::Mat bgra;
        cv::cvtColor(bgr, bgra, cv::COLOR_BGR2BGRA);
        bgra.setTo(cv::Scalar(kColour[0], kColour[1], kColour[2], 17)); // mostly transparent
        return encode(bgra, ".png");
    }
    if (kind == "png-palette") {
        // Index 1 holds the test colour (RGB order in the PLTE chunk).
        const QByteArray palette = QByteArray("\x00\x00\x00", 3) +
                                   QByteArray(1, char(kColour[2])) + QByteArray(1, char(kColour[1])) +
                                   QByteArray(1, char(kColour[0]));
        return testing::handMadePng(kWidth, kHeight, 3, 1, QByteArray(kWidth * kHeight, '\x01'), palette);
    }
    if (kind == "png-grey-alpha") {
        QByteArray pixels;
        for (int i = 0; i < kWidth * kHeight; ++i)
            pixels.append(char(kGrey)).append(char(200));
        return testing::handMadePng(kWidth, kHeight, 4, 2, pixels);
    }
    return {};
}

} // namespace

class TestImageDecoder : public QObject {
    Q_OBJECT

private slots:
    void decodeFile_data();
    void decodeFile();
    void decodeErrors_data();
    void decodeErrors();
    void decodeBytesNamesTheSource();
    void exifOrientationApplied();
    void toModelInput_data();
    void toModelInput();
    void storeFolder();
    void storeIdx_data();
    void storeIdx();
    void storeIdxConcurrentLoadsReadOnce();
    void storeIdxRemembersFailure();

private:
    QTemporaryDir m_dir;
};

void TestImageDecoder::decodeFile_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("ext");
    QTest::addColumn<int>("channels");
    QTest::addColumn<int>("tolerance"); // per sample, for lossy formats

    QTest::newRow("png grey") << "png-grey" << "png" << 1 << 0;
    QTest::newRow("png colour") << "png-bgr" << "png" << 3 << 0;
    QTest::newRow("jpeg colour") << "jpeg-bgr" << "jpg" << 3 << 4;
    QTest::newRow("jpeg grey") << "jpeg-grey" << "jpeg" << 1 << 2;
    QTest::newRow("bmp") << "bmp-bgr" << "bmp" << 3 << 0;
    QTest::newRow("tiff") << "tiff-bgr" << "tif" << 3 << 0;
    QTest::newRow("webp lossless") << "webp-lossless" << "webp" << 3 << 0;
    QTest::newRow("pgm") << "pgm" << "pgm" << 1 << 0;
    QTest::newRow("ppm") << "ppm" << "ppm" << 3 << 0;
    QTest::newRow("16-bit grey png scaled") << "png16-grey" << "png" << 1 << 0;
    QTest::newRow("16-bit colour png scaled") << "png16-bgr" << "png" << 3 << 0;
    QTest::newRow("rgba png drops alpha") << "png-bgra" << "png" << 3 << 0;
    QTest::newRow("palette png expanded") << "png-palette" << "png" << 3 << 0;
    QTest::newRow("grey+alpha png drops alpha") << "png-grey-alpha" << "png" << 1 << 0;
}

void TestImageDecoder::decodeFile()
{
    QFETCH(QString, kind);
    QFETCH(QString, ext);
    QFETCH(int, channels);
    QFETCH(int, tolerance);

    const QByteArray bytes = fixture(kind);
    QVERIFY2(!bytes.isEmpty(), "fixture could not be encoded");
    const QString path = m_dir.filePath(kind + "." + ext);
    QVERIFY(testing::writeFile(path, bytes));

    Result<cv::Mat> image = decodeImageFile(path.toStdString());
    QVERIFY2(image.ok(), image.status().message().c_str());
    QCOMPARE(image->depth(), CV_8U);
    QCOMPARE(image->channels(), channels);
    QCOMPARE(image->cols, kWidth);
    QCOMPARE(image->rows, kHeight);
    const cv::Point centre(kWidth / 2, kHeight / 2);
    if (channels == 1) {
        QVERIFY2(std::abs(int(image->at<uint8_t>(centre)) - kGrey) <= tolerance,
                 qPrintable(QString::number(image->at<uint8_t>(centre))));
    } else {
        const cv::Vec3b px = image->at<cv::Vec3b>(centre);
        for (int c = 0; c < 3; ++c)
            QVERIFY2(std::abs(int(px[c]) - int(kColour[c])) <= tolerance,
                     qPrintable(QStringLiteral("channel %1: %2").arg(c).arg(px[c])));
    }
}

void TestImageDecoder::decodeErrors_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("error");

    QTest::newRow("zero-byte") << QByteArray() << "empty.png" << "zero-byte file";
    QTest::newRow("text named png") << QByteArray("this is not a picture\n") << "text.png"
                                    << "not an image or corrupt";
    // Noise compresses badly, so half the file cuts deep into the image data.
    cv::Mat noise(64, 64, CV_8UC3);
    cv::randu(noise, 0, 255);
    const QByteArray png = encode(noise, ".png");
    QTest::newRow("truncated png") << png.left(png.size() / 2) << "cut.png" << "not an image or corrupt";
    QByteArray damaged = png;
    for (int i = 100; i < 400; ++i)
        damaged[i] = char(damaged[i] ^ 0x5A);
    QTest::newRow("damaged png") << damaged << "damaged.png" << "not an image or corrupt";
    QTest::newRow("huge png header") << testing::pngHeaderOnly(20000, 20000) << "huge.png" << "too large (20000x20000";
    // Sides whose product overflows 64 bits.
    QTest::newRow("absurd png header") << testing::pngHeaderOnly(0xFFFFFFF0u, 0xFFFFFFF0u) << "absurd.png"
                                       << "too large (4294967280x4294967280";

    // A JPEG whose SOF0 frame header (after an APP0 segment) declares 60000×60000.
    QByteArray jpeg("\xFF\xD8", 2);
    jpeg += QByteArray("\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 18);
    jpeg += QByteArray("\xFF\xC0\x00\x0B\x08\xEA\x60\xEA\x60\x01\x01\x11\x00", 13);
    jpeg += QByteArray("\xFF\xD9", 2);
    QTest::newRow("huge jpeg header") << jpeg << "huge.jpg" << "too large (60000x60000";

    QByteArray bmp = encode(cv::Mat(2, 2, CV_8UC3, kColour), ".bmp");
    bmp[18] = '\x00'; bmp[19] = '\x00'; bmp[20] = '\x01'; bmp[21] = '\x00'; // width 65536
    bmp[22] = '\x00'; bmp[23] = '\x00'; bmp[24] = '\x01'; bmp[25] = '\x00'; // height 65536
    QTest::newRow("huge bmp header") << bmp << "huge.bmp" << "too large (65536x65536";
    QTest::newRow("huge pgm header") << QByteArray("P5\n# comment\n30000 30000\n255\n") + QByteArray("\x01\x02", 2) << "huge.pgm"
                                     << "too large (30000x30000";
}

void TestImageDecoder::decodeErrors()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QString, name);
    QFETCH(QString, error);

    const QString path = m_dir.filePath(name);
    QVERIFY(testing::writeFile(path, bytes));
    Result<cv::Mat> image = decodeImageFile(path.toStdString());
    QVERIFY(!image.ok());
    const QString message = QString::fromStdString(image.status().message());
    QVERIFY2(message.contains(error), qPrintable(message));
    QVERIFY2(message.startsWith(path), qPrintable(message));

    const QString missing = m_dir.filePath("missing-" + name);
    image = decodeImageFile(missing.toStdString());
    QCOMPARE(image.status().code(), Status::Code::NotFound);
}

void TestImageDecoder::decodeBytesNamesTheSource()
{
    const QByteArray png = encode(cv::Mat(3, 5, CV_8UC3, kColour), ".png");
    std::vector<uint8_t> bytes(png.begin(), png.end());
    Result<cv::Mat> image = decodeImageBytes(bytes, "zip:/a.png");
    QVERIFY(image.ok());
    QCOMPARE(image->size(), cv::Size(5, 3));

    bytes.resize(10);
    image = decodeImageBytes(bytes, "zip:/a.png");
    QVERIFY(!image.ok());
    QCOMPARE(QString::fromStdString(image.status().message()), QString("zip:/a.png: not an image or corrupt"));
}

void TestImageDecoder::exifOrientationApplied()
{
    // A 16×8 JPEG with an EXIF APP1 segment saying "rotate 90° clockwise" (orientation 6).
    const QByteArray jpeg = encode(cv::Mat(8, 16, CV_8UC3, kColour), ".jpg");
    QByteArray tiff("II*\x00\x08\x00\x00\x00", 8);                  // little-endian, IFD at 8
    tiff += QByteArray("\x01\x00", 2);                                   // one entry
    tiff += QByteArray("\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00", 12); // 0x0112 SHORT 1 = 6
    tiff += QByteArray(4, '\0');                                          // no next IFD
    const QByteArray payload = QByteArray("Exif\x00\x00", 6) + tiff;
    QByteArray app1("\xFF\xE1", 2);
    app1.append(char((payload.size() + 2) >> 8)).append(char((payload.size() + 2) & 0xFF)).append(payload);
    const QByteArray rotated = jpeg.left(2) + app1 + jpeg.mid(2);

    std::vector<uint8_t> bytes(rotated.begin(), rotated.end());
    Result<cv::Mat> image = decodeImageBytes(bytes, "rotated.jpg");
    QVERIFY2(image.ok(), image.status().message().c_str());
    QCOMPARE(image->size(), cv::Size(8, 16));

    // The orientation as read from the header: 6 here, 1 (upright) without EXIF, for
    // other formats, and for a segment cut short.
    QCOMPARE(exifOrientation(bytes.data(), bytes.size()), 6);
    QCOMPARE(exifOrientation(reinterpret_cast<const uint8_t *>(jpeg.data()), size_t(jpeg.size())), 1);
    const QByteArray png = encode(cv::Mat(8, 16, CV_8UC3, kColour), ".png");
    QCOMPARE(exifOrientation(reinterpret_cast<const uint8_t *>(png.data()), size_t(png.size())), 1);
    QCOMPARE(exifOrientation(bytes.data(), 2 + 4 + 10), 1);
}

void TestImageDecoder::toModelInput_data()
{
    QTest::addColumn<cv::Mat>("image");
    QTest::addColumn<int>("channels");
    QTest::addColumn<int>("height");
    QTest::addColumn<int>("width");
    QTest::addColumn<QList<float>>("mean");
    QTest::addColumn<QList<float>>("std");
    QTest::addColumn<QList<float>>("expected"); // CHW

    const cv::Mat grey2x2 = (cv::Mat_<uint8_t>(2, 2) << 0, 255, 51, 102);
    QTest::newRow("grey, same size") << grey2x2 << 1 << 2 << 2 << QList<float>{0} << QList<float>{1}
                                     << QList<float>{0, 1, 0.2f, 0.4f};
    QTest::newRow("grey, normalised") << grey2x2 << 1 << 2 << 2 << QList<float>{0.5f} << QList<float>{0.5f}
                                      << QList<float>{-1, 1, -0.6f, -0.2f};

    cv::Mat bgr(1, 2, CV_8UC3);
    bgr.at<cv::Vec3b>(0, 0) = cv::Vec3b(255, 0, 0);  // blue
    bgr.at<cv::Vec3b>(0, 1) = cv::Vec3b(0, 51, 255); // red-ish
    QTest::newRow("bgr to rgb planes") << bgr << 3 << 1 << 2 << QList<float>{0} << QList<float>{1}
                                       << QList<float>{0, 1, 0, 0.2f, 1, 0};
    QTest::newRow("per-channel mean and std")
        << bgr << 3 << 1 << 2 << QList<float>{0.5f, 0.0f, 1.0f} << QList<float>{0.5f, 1.0f, 2.0f}
        << QList<float>{-1, 1, 0, 0.2f, 0, -0.5f};

    cv::Mat bgra(1, 1, CV_8UC4, cv::Scalar(0, 0, 255, 7));
    QTest::newRow("bgra to rgb") << bgra << 3 << 1 << 1 << QList<float>{0} << QList<float>{1}
                                 << QList<float>{1, 0, 0};
    QTest::newRow("grey to rgb") << cv::Mat(1, 1, CV_8UC1, cv::Scalar(102)) << 3 << 1 << 1 << QList<float>{0}
                                 << QList<float>{1} << QList<float>{0.4f, 0.4f, 0.4f};
    // cvtColor's BGR→grey: 0.299 R + 0.587 G + 0.114 B.
    QTest::newRow("bgr to grey") << cv::Mat(1, 1, CV_8UC3, cv::Scalar(0, 0, 255)) << 1 << 1 << 1
                                 << QList<float>{0} << QList<float>{1} << QList<float>{76 / 255.0f};

    // INTER_AREA halving averages 2×2 blocks exactly.
    const cv::Mat blocks = (cv::Mat_<uint8_t>(4, 4) << 0, 0, 100, 100,   //
                            0, 0, 100, 100,                                //
                            200, 200, 10, 30,                              //
                            200, 200, 50, 70);
    QTest::newRow("area downscale") << blocks << 1 << 2 << 2 << QList<float>{0} << QList<float>{1}
                                    << QList<float>{0, 100 / 255.0f, 200 / 255.0f, 40 / 255.0f};
    QTest::newRow("upscale") << cv::Mat(1, 1, CV_8UC1, cv::Scalar(255)) << 1 << 2 << 2 << QList<float>{0}
                             << QList<float>{1} << QList<float>{1, 1, 1, 1};
}

void TestImageDecoder::toModelInput()
{
    QFETCH(cv::Mat, image);
    QFETCH(int, channels);
    QFETCH(int, height);
    QFETCH(int, width);
    QFETCH(QList<float>, mean);
    QFETCH(QList<float>, std);
    QFETCH(QList<float>, expected);

    InputSpec spec;
    spec.channels = channels;
    spec.height = height;
    spec.width = width;
    spec.mean.assign(mean.begin(), mean.end());
    spec.std.assign(std.begin(), std.end());
    QCOMPARE(spec.floatsPerImage(), size_t(expected.size()));

    std::vector<float> out(spec.floatsPerImage() + 1, -42.0f); // one guard value
    traclens::toModelInput(image, spec, out.data());
    for (int i = 0; i < expected.size(); ++i)
        QVERIFY2(std::abs(out[size_t(i)] - expected[i]) < 1e-5f,
                 qPrintable(QStringLiteral("value %1: got %2, expected %3").arg(i).arg(out[size_t(i)]).arg(expected[i])));
    QCOMPARE(out.back(), -42.0f);
}

void TestImageDecoder::storeFolder()
{
    QTemporaryDir root;
    QVERIFY(testing::writeFile(root.filePath("cat/a.png"), fixture("png-bgr")));
    ImageStore store(SourceKind::ImageFolder, root.path().toStdString());

    Result<cv::Mat> image = store.load("cat/a.png");
    QVERIFY2(image.ok(), image.status().message().c_str());
    QCOMPARE(image->size(), cv::Size(kWidth, kHeight));

    image = store.load("cat/missing.png");
    QCOMPARE(image.status().code(), Status::Code::NotFound);
    QVERIFY(image.status().message().find("cat/missing.png") != std::string::npos);

    for (const char *bad : {"../a.png", "/etc/passwd", "cat/../../x.png", ""}) {
        image = store.load(bad);
        QVERIFY2(!image.ok(), bad);
        QCOMPARE(image.status().code(), Status::Code::InvalidArgument);
    }
}

void TestImageDecoder::storeIdx_data()
{
    QTest::addColumn<QString>("source");
    QTest::addColumn<int>("expectedValue"); // -1: expect an error
    QTest::addColumn<int>("errorCode");

    const int invalid = int(Status::Code::InvalidArgument);
    const int notFound = int(Status::Code::NotFound);
    QTest::newRow("first raw") << "images-ubyte#0" << 3 << 0;
    QTest::newRow("last raw") << "images-ubyte#3" << 24 << 0;
    QTest::newRow("gzip") << "images-ubyte.gz#2" << 17 << 0;
    QTest::newRow("out of range") << "images-ubyte#4" << -1 << notFound;
    QTest::newRow("negative") << "images-ubyte#-1" << -1 << notFound;
    QTest::newRow("not a number") << "images-ubyte#x" << -1 << invalid;
    QTest::newRow("no index") << "images-ubyte" << -1 << invalid;
    QTest::newRow("empty index") << "images-ubyte#" << -1 << invalid;
    QTest::newRow("path in name") << "../images-ubyte#0" << -1 << invalid;
    QTest::newRow("missing file") << "absent-ubyte#0" << -1 << notFound;
    QTest::newRow("labels are not images") << "labels-ubyte#0" << -1 << int(Status::Code::Unsupported);
}

void TestImageDecoder::storeIdx()
{
    QFETCH(QString, source);
    QFETCH(int, expectedValue);
    QFETCH(int, errorCode);

    QTemporaryDir root;
    const QByteArray images = testing::idxImages(4, 5, 6);
    QVERIFY(testing::writeFile(root.filePath("images-ubyte"), images));
    QVERIFY(testing::writeFile(root.filePath("images-ubyte.gz"), testing::gzipped(images)));
    QVERIFY(testing::writeFile(root.filePath("labels-ubyte"), testing::idxLabels({1, 2, 3, 4})));
    ImageStore store(SourceKind::Idx, root.path().toStdString());

    Result<cv::Mat> image = store.load(source.toStdString());
    if (expectedValue < 0) {
        QVERIFY(!image.ok());
        QCOMPARE(int(image.status().code()), errorCode);
        return;
    }
    QVERIFY2(image.ok(), image.status().message().c_str());
    QCOMPARE(image->type(), CV_8UC1);
    QCOMPARE(image->size(), cv::Size(6, 5));
    QCOMPARE(cv::countNonZero(*image != expectedValue), 0);
}

void TestImageDecoder::storeIdxConcurrentLoadsReadOnce()
{
    QTemporaryDir root;
    const int count = 200;
    QVERIFY(testing::writeFile(root.filePath("images.gz"), testing::gzipped(testing::idxImages(count, 28, 28))));
    ImageStore store(SourceKind::Idx, root.path().toStdString());

    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = t; i < count; i += 2) {
                Result<cv::Mat> image = store.load("images.gz#" + std::to_string(i));
                if (!image.ok() || image->at<uint8_t>(27, 27) != (i * 7 + 3) % 256)
                    ++failures;
            }
        });
    }
    for (std::thread &t : threads)
        t.join();
    QCOMPARE(failures.load(), 0);

    // The file was read once and kept: loads go on working after it is gone.
    QVERIFY(QFile::remove(root.filePath("images.gz")));
    QVERIFY(store.load("images.gz#5").ok());
}

void TestImageDecoder::storeIdxRemembersFailure()
{
    QTemporaryDir root;
    const QByteArray images = testing::idxImages(3, 2, 2);
    QVERIFY(testing::writeFile(root.filePath("images"), images.left(images.size() - 1)));
    ImageStore store(SourceKind::Idx, root.path().toStdString());
    Result<cv::Mat> image = store.load("images#0");
    QCOMPARE(image.status().code(), Status::Code::Corruption);
    QVERIFY(image.status().message().find("truncated") != std::string::npos);

    // Repairing the file does not change this store's answer (it does not re-read per
    // image); a new store sees the repaired file.
    QVERIFY(testing::writeFile(root.filePath("images"), images));
    QCOMPARE(store.load("images#1").status().code(), Status::Code::Corruption);
    ImageStore fresh(SourceKind::Idx, root.path().toStdString());
    QVERIFY(fresh.load("images#1").ok());
}

QTEST_GUILESS_MAIN(TestImageDecoder)
#include "test_imagedecoder.moc"
