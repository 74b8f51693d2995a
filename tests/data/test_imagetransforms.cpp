// The manifest's input.transforms (reading, refusing, writing back) and the pieces of the
// torchvision pipeline whose rules are easy to get subtly wrong: Resize's size arithmetic,
// CenterCrop's rounding and padding, the size check on each image, and that a manifest
// without transforms keeps TracLens' own preparation. Pixel parity with torchvision
// itself is test_torchvisionparity.

#include "data/imagedecoder.h"
#include "data/imagetransforms.h"
#include "model/modelspec.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

using namespace traclens;

namespace {

// A manifest whose input object ends with `transforms` (raw JSON, or nothing).
std::string manifest(const std::string &transforms, int channels = 3, int height = 32, int width = 32)
{
    const std::string mean = channels == 3 ? "[0.5, 0.5, 0.5]" : "[0.5]";
    std::string input = "{\"channels\": " + std::to_string(channels) + ", \"height\": " + std::to_string(height) +
                        ", \"width\": " + std::to_string(width) + ", \"mean\": " + mean + ", \"std\": " + mean;
    if (!transforms.empty())
        input += ", \"transforms\": " + transforms;
    input += "}";
    return "{\"format\": \"traclens-model/1\", \"classes\": [\"a\", \"b\"], \"input\": " + input +
           ", \"checkpoints\": [{\"file\": \"ckpt.pt\", \"learning_rate\": 0.1}]}";
}

cv::Mat ramp(int rows, int cols)
{
    cv::Mat m(rows, cols, CV_8UC3);
    for (int y = 0; y < rows; ++y)
        for (int x = 0; x < cols; ++x)
            m.at<cv::Vec3b>(y, x) = cv::Vec3b(uint8_t(x * 7 + y), uint8_t(y * 5), uint8_t(x + y * 3));
    return m;
}

} // namespace

class TestImageTransforms : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void refusesBadRecipes_data();
    void refusesBadRecipes();
    void readsAndWritesRecipes_data();
    void readsAndWritesRecipes();
    void resizeSize_data();
    void resizeSize();
    void centerCrop_data();
    void centerCrop();
    void wrongSizeNamesFileAndSizes();
    void withoutTransformsLegacyUnchanged();

private:
    QTemporaryDir m_dir;
};

void TestImageTransforms::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QFile ckpt(m_dir.filePath("ckpt.pt"));
    QVERIFY(ckpt.open(QIODevice::WriteOnly));
}

void TestImageTransforms::refusesBadRecipes_data()
{
    QTest::addColumn<QString>("transforms");
    QTest::addColumn<int>("channels");
    QTest::addColumn<QString>("message"); // part of the error after the manifest path

    QTest::newRow("not an array") << "{}" << 3 << "input.transforms must be an array";
    QTest::newRow("not an object") << "[3]" << 3 << "input.transforms[0] must be an object";
    QTest::newRow("op missing") << "[{\"size\": [4]}]" << 3 << "input.transforms[0].op is missing";
    QTest::newRow("unknown op") << "[{\"op\": \"resize\", \"size\": [32]}, {\"op\": \"random_crop\", \"size\": [32]}]"
                                << 3 << "input.transforms[1].op 'random_crop' is not supported";
    QTest::newRow("size missing") << "[{\"op\": \"resize\"}]" << 3 << "input.transforms[0].size is missing";
    QTest::newRow("size zero") << "[{\"op\": \"resize\", \"size\": [0]}]" << 3
                               << "input.transforms[0].size[0] must be a whole number between 1";
    QTest::newRow("size negative") << "[{\"op\": \"center_crop\", \"size\": [32, -1]}]" << 3
                                   << "input.transforms[0].size[1] must be a whole number between 1";
    QTest::newRow("size fractional") << "[{\"op\": \"resize\", \"size\": [31.5]}]" << 3
                                     << "input.transforms[0].size[0] must be a whole number";
    QTest::newRow("three sizes") << "[{\"op\": \"resize\", \"size\": [1, 2, 3]}]" << 3
                                 << "input.transforms[0].size must be an array of 1 or 2";
    QTest::newRow("bad interpolation") << "[{\"op\": \"resize\", \"size\": [32], \"interpolation\": \"lanczos\"}]" << 3
                                       << "input.transforms[0].interpolation must be";
    QTest::newRow("max_size with h,w") << "[{\"op\": \"resize\", \"size\": [32, 32], \"max_size\": 40}]" << 3
                                       << "input.transforms[0].max_size is only allowed";
    QTest::newRow("max_size not above size")
        << "[{\"op\": \"resize\", \"size\": [32], \"max_size\": 32}, {\"op\": \"center_crop\", \"size\": [32, 32]}]"
        << 3 << "input.transforms[0].max_size (32) must be greater than size[0] (32)";
    QTest::newRow("unknown key") << "[{\"op\": \"resize\", \"size\": [32, 32], \"antialias\": false}]" << 3
                                 << "input.transforms[0].antialias is not supported for op 'resize'";
    QTest::newRow("grayscale channels missing") << "[{\"op\": \"grayscale\"}, {\"op\": \"resize\", \"size\": [32, 32]}]"
                                                << 1 << "input.transforms[0].channels is missing";
    QTest::newRow("grayscale channels 2") << "[{\"op\": \"grayscale\", \"channels\": 2}]" << 1
                                          << "input.transforms[0].channels must be 1 or 3";
    QTest::newRow("RGB recipe, grey model") << "[{\"op\": \"resize\", \"size\": [32, 32]}]" << 1
                                            << "input.transforms produce 3-channel images but input.channels is 1";
    QTest::newRow("final size not the model's") << "[{\"op\": \"center_crop\", \"size\": [30, 32]}]" << 3
                                                << "input.transforms produce 30×32 images but input.height×width is 32×32";
}

void TestImageTransforms::refusesBadRecipes()
{
    QFETCH(QString, transforms);
    QFETCH(int, channels);
    QFETCH(QString, message);
    Result<ModelSpec> spec = parseModelSpec(manifest(transforms.toStdString(), channels), m_dir.path().toStdString());
    QVERIFY(!spec.ok());
    const QString error = QString::fromStdString(spec.status().message());
    QVERIFY2(error.startsWith(m_dir.filePath("traclens-model.json") + ": "), qPrintable(error));
    QVERIFY2(error.contains(message), qPrintable(error));
}

void TestImageTransforms::readsAndWritesRecipes_data()
{
    QTest::addColumn<QString>("transforms"); // "" = absent
    QTest::addColumn<int>("channels");
    QTest::addColumn<int>("count");          // -1 = absent

    QTest::newRow("absent") << "" << 3 << -1;
    QTest::newRow("null is absent") << "null" << 3 << -1;
    QTest::newRow("empty list") << "[]" << 3 << 0;
    QTest::newRow("resize + crop") << "[{\"op\": \"resize\", \"size\": [36]}, {\"op\": \"center_crop\", \"size\": [32, 32]}]"
                                   << 3 << 2;
    QTest::newRow("max_size, square crop, bicubic")
        << "[{\"op\": \"resize\", \"size\": [30], \"max_size\": 40, \"interpolation\": \"bicubic\"}, "
           "{\"op\": \"center_crop\", \"size\": [32]}]"
        << 3 << 2;
    QTest::newRow("grey, nearest") << "[{\"op\": \"grayscale\", \"channels\": 1}, "
                                      "{\"op\": \"resize\", \"size\": [32, 32], \"interpolation\": \"nearest\"}]"
                                   << 1 << 2;
    QTest::newRow("grayscale 3") << "[{\"op\": \"grayscale\", \"channels\": 3}, {\"op\": \"resize\", \"size\": [40]}]"
                                 << 3 << 2;
}

void TestImageTransforms::readsAndWritesRecipes()
{
    QFETCH(QString, transforms);
    QFETCH(int, channels);
    QFETCH(int, count);
    Result<ModelSpec> spec = parseModelSpec(manifest(transforms.toStdString(), channels), m_dir.path().toStdString());
    QVERIFY2(spec.ok(), spec.status().message().c_str());
    QCOMPARE(spec->input.transforms.has_value(), count >= 0);
    if (count >= 0)
        QCOMPARE(int(spec->input.transforms->size()), count);

    // Written and read back: the same recipe, absent stays absent, empty stays empty.
    QVERIFY(writeModelSpec(*spec).isOk());
    Result<ModelSpec> again = readModelSpec(spec->directory);
    QVERIFY2(again.ok(), again.status().message().c_str());
    QCOMPARE(again->input.transforms.has_value(), spec->input.transforms.has_value());
    if (spec->input.transforms)
        QVERIFY(*again->input.transforms == *spec->input.transforms);
}

void TestImageTransforms::resizeSize_data()
{
    QTest::addColumn<int>("height");
    QTest::addColumn<int>("width");
    QTest::addColumn<QList<int>>("size");
    QTest::addColumn<int>("maxSize");
    QTest::addColumn<int>("expectedHeight");
    QTest::addColumn<int>("expectedWidth");
    // int(s * long / short) truncates: 256·500/375 = 341.33 → 341.
    QTest::newRow("landscape 375x500 → 256") << 375 << 500 << QList<int>{256} << 0 << 256 << 341;
    QTest::newRow("portrait 500x375 → 256") << 500 << 375 << QList<int>{256} << 0 << 341 << 256;
    QTest::newRow("square") << 61 << 61 << QList<int>{72} << 0 << 72 << 72;
    QTest::newRow("upscale odd") << 31 << 23 << QList<int>{72} << 0 << 97 << 72;
    // 30·97/61 = 47.7 → 47 > 40: long side 40, short int(40·30/47) = 25.
    QTest::newRow("max_size caps the long side") << 61 << 97 << QList<int>{30} << 40 << 25 << 40;
    QTest::newRow("max_size not reached") << 61 << 70 << QList<int>{30} << 40 << 30 << 34;
    QTest::newRow("h,w ignores aspect") << 300 << 20 << QList<int>{40, 57} << 0 << 40 << 57;
}

void TestImageTransforms::resizeSize()
{
    QFETCH(int, height);
    QFETCH(int, width);
    QFETCH(QList<int>, size);
    QFETCH(int, maxSize);
    QFETCH(int, expectedHeight);
    QFETCH(int, expectedWidth);
    ImageTransform t;
    t.size.assign(size.begin(), size.end());
    t.maxSize = maxSize;
    const cv::Size s = torchvisionResizeSize(height, width, t);
    QCOMPARE(s.height, expectedHeight);
    QCOMPARE(s.width, expectedWidth);
}

void TestImageTransforms::centerCrop_data()
{
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("cols");
    QTest::addColumn<int>("height");
    QTest::addColumn<int>("width");
    QTest::addColumn<int>("sourceTop");  // image row that lands on output row 0 (negative: padding)
    QTest::addColumn<int>("sourceLeft");
    // round((10 - 5) / 2) = round(2.5) = 2 (halves to even), round((12 - 9) / 2) = round(1.5) = 2.
    QTest::newRow("halves round to even") << 10 << 12 << 5 << 9 << 2 << 2;
    QTest::newRow("exact") << 10 << 12 << 6 << 8 << 2 << 2;
    // Padding (7 - 4) // 2 = 1 on the left/top, the rest on the right/bottom.
    QTest::newRow("padded both") << 4 << 5 << 7 << 8 << -1 << -1;
    QTest::newRow("padded width only") << 9 << 5 << 4 << 8 << 2 << -1;
}

void TestImageTransforms::centerCrop()
{
    QFETCH(int, rows);
    QFETCH(int, cols);
    QFETCH(int, height);
    QFETCH(int, width);
    QFETCH(int, sourceTop);
    QFETCH(int, sourceLeft);
    const cv::Mat image = ramp(rows, cols);
    const cv::Mat crop = torchvisionCenterCrop(image, height, width);
    QCOMPARE(crop.rows, height);
    QCOMPARE(crop.cols, width);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            const int sy = y + sourceTop, sx = x + sourceLeft;
            const bool inside = sy >= 0 && sy < rows && sx >= 0 && sx < cols;
            const cv::Vec3b expected = inside ? image.at<cv::Vec3b>(sy, sx) : cv::Vec3b(0, 0, 0);
            QVERIFY2(crop.at<cv::Vec3b>(y, x) == expected, qPrintable(QString("at %1,%2").arg(y).arg(x)));
        }
}

// Resize([s]) alone keeps the aspect ratio, so only square images fit a square model.
void TestImageTransforms::wrongSizeNamesFileAndSizes()
{
    Result<ModelSpec> spec =
        parseModelSpec(manifest("[{\"op\": \"resize\", \"size\": [32]}]"), m_dir.path().toStdString());
    QVERIFY2(spec.ok(), spec.status().message().c_str());
    std::vector<float> out(spec->input.floatsPerImage(), 7.0f);
    QVERIFY(prepareModelInput(ramp(40, 40), spec->input, out.data(), "square.png").isOk());
    const Status s = prepareModelInput(ramp(40, 60), spec->input, out.data(), "/data/wide.png");
    QVERIFY(!s.isOk());
    const QString message = QString::fromStdString(s.message());
    QVERIFY2(message.startsWith("/data/wide.png: ") && message.contains("3×32×48") && message.contains("3×32×32"),
             qPrintable(message));
    // The signature that cannot report errors writes zeros rather than stale values.
    toModelInput(ramp(40, 60), spec->input, out.data());
    QVERIFY(std::all_of(out.begin(), out.end(), [](float v) { return v == 0.0f; }));
}

// No transforms: every caller gets exactly what toModelInput always gave (area resize
// of the whole image, folded multiply-add normalisation).
void TestImageTransforms::withoutTransformsLegacyUnchanged()
{
    Result<ModelSpec> spec = parseModelSpec(manifest(""), m_dir.path().toStdString());
    QVERIFY2(spec.ok(), spec.status().message().c_str());
    QVERIFY(!spec->input.transforms);
    QCOMPARE(decodeStyleFor(spec->input), DecodeStyle::Native);
    const cv::Mat image = ramp(45, 70);
    std::vector<float> prepared(spec->input.floatsPerImage()), legacy(spec->input.floatsPerImage());
    QVERIFY(prepareModelInput(image, spec->input, prepared.data(), "x.png").isOk());
    toModelInput(image, spec->input, legacy.data());
    QVERIFY(prepared == legacy);
    cv::Mat rgb, sized;
    cv::cvtColor(image, rgb, cv::COLOR_BGR2RGB);
    cv::resize(rgb, sized, cv::Size(32, 32), 0, 0, cv::INTER_AREA);
    QCOMPARE(legacy[0], float(sized.at<cv::Vec3b>(0, 0)[0]) * (1.0f / (255.0f * 0.5f)) + (-0.5f / 0.5f));

    // With a recipe the decode style follows it.
    Result<ModelSpec> withRecipe = parseModelSpec(manifest("[]", 3, 45, 70), m_dir.path().toStdString());
    QVERIFY2(withRecipe.ok(), withRecipe.status().message().c_str());
    QCOMPARE(decodeStyleFor(withRecipe->input), DecodeStyle::PilRgb);
}

QTEST_GUILESS_MAIN(TestImageTransforms)
#include "test_imagetransforms.moc"
