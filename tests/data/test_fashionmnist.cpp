// The real Fashion-MNIST files: scanning them, and loading images through ImageStore
// the way the thumbnail grid does. How fast that is, is measured by bench/bench_dataset,
// not asserted here. Without the files the test skips, and fails when CI is set.

#include "data/dataset.h"
#include "data/imagedecoder.h"
#include "requireorskip.h"

#include <opencv2/core.hpp>

#include <QFileInfo>
#include <QtTest>

using namespace traclens;

namespace {
const QString kFashionDir = QStringLiteral("/usr/share/datasets/fashion-mnist");
}

class TestFashionMnist : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void scan_data();
    void scan();
    void loadImages_data();
    void loadImages();
    void loadManyThumbnails();

private:
    std::optional<ScanResult> m_scan;
    std::unique_ptr<ImageStore> m_store;
};

void TestFashionMnist::initTestCase()
{
    REQUIRE_OR_SKIP(QFileInfo(kFashionDir).isDir(),
                    "Fashion-MNIST is not installed at " + kFashionDir + " (Debian package dataset-fashion-mnist)");
    Result<ScanResult> scan = scanDataset(kFashionDir.toStdString());
    QVERIFY2(scan.ok(), scan.status().message().c_str());
    m_scan = std::move(scan).value();
    m_store = std::make_unique<ImageStore>(m_scan->kind, m_scan->root);
}

void TestFashionMnist::scan_data()
{
    QTest::addColumn<int>("split");
    QTest::addColumn<int>("count");
    QTest::addColumn<int>("perClass");
    QTest::addColumn<QString>("firstSource");
    QTest::addColumn<int>("firstLabel");

    // Fashion-MNIST is balanced; the first image of either split is an ankle boot.
    QTest::newRow("train") << int(Split::Train) << 60000 << 6000 << "train-images-idx3-ubyte.gz#0" << 9;
    QTest::newRow("test") << int(Split::Test) << 10000 << 1000 << "t10k-images-idx3-ubyte.gz#0" << 9;
}

void TestFashionMnist::scan()
{
    QFETCH(int, split);
    QFETCH(int, count);
    QFETCH(int, perClass);
    QFETCH(QString, firstSource);
    QFETCH(int, firstLabel);

    QCOMPARE(m_scan->kind, SourceKind::Idx);
    QCOMPARE(QString::fromStdString(m_scan->root), kFashionDir);
    const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                            "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    QCOMPARE(m_scan->classes, names);
    QVERIFY(m_scan->skipped.empty());

    std::vector<int> perLabel(10, 0);
    const ScannedExample *first = nullptr;
    for (const ScannedExample &e : m_scan->examples) {
        if (int(e.split) != split)
            continue;
        if (!first)
            first = &e;
        QVERIFY(e.label >= 0 && e.label < 10);
        ++perLabel[size_t(e.label)];
    }
    QVERIFY(first);
    QCOMPARE(QString::fromStdString(first->source), firstSource);
    QCOMPARE(first->label, firstLabel);
    int total = 0;
    for (int n : perLabel) {
        QCOMPARE(n, perClass);
        total += n;
    }
    QCOMPARE(total, count);
}

void TestFashionMnist::loadImages_data()
{
    QTest::addColumn<QString>("source");
    QTest::addColumn<bool>("ok");
    QTest::newRow("first train") << "train-images-idx3-ubyte.gz#0" << true;
    QTest::newRow("last train") << "train-images-idx3-ubyte.gz#59999" << true;
    QTest::newRow("last test") << "t10k-images-idx3-ubyte.gz#9999" << true;
    QTest::newRow("past the end") << "t10k-images-idx3-ubyte.gz#10000" << false;
}

void TestFashionMnist::loadImages()
{
    QFETCH(QString, source);
    QFETCH(bool, ok);
    Result<cv::Mat> image = m_store->load(source.toStdString());
    QCOMPARE(image.ok(), ok);
    if (!ok)
        return;
    QCOMPARE(image->type(), CV_8UC1);
    QCOMPARE(image->size(), cv::Size(28, 28));
    QVERIFY(cv::countNonZero(*image) > 0); // a garment, not an empty frame

    InputSpec spec; // the built-in 1×28×28 input
    std::vector<float> input(spec.floatsPerImage());
    toModelInput(*image, spec, input.data());
    for (float v : input)
        QVERIFY(v >= 0.0f && v <= 1.0f);
}

void TestFashionMnist::loadManyThumbnails()
{
    // Every training image once, as a scrolled-through grid would; each one the image of
    // its index (checked on a sample against a second, out-of-order load).
    std::vector<cv::Mat> sample;
    for (int i = 0; i < 60000; ++i) {
        Result<cv::Mat> image = m_store->load("train-images-idx3-ubyte.gz#" + std::to_string(i));
        if (!image.ok())
            QFAIL(image.status().message().c_str());
        if (image->size() != cv::Size(28, 28))
            QFAIL(qPrintable(QStringLiteral("image %1 is not 28×28").arg(i)));
        if (i % 10007 == 0)
            sample.push_back(image->clone());
    }
    for (int k = int(sample.size()) - 1; k >= 0; --k) {
        Result<cv::Mat> again = m_store->load("train-images-idx3-ubyte.gz#" + std::to_string(k * 10007));
        QVERIFY(again.ok());
        QCOMPARE(cv::norm(*again, sample[size_t(k)], cv::NORM_INF), 0.0);
    }
}

QTEST_GUILESS_MAIN(TestFashionMnist)
#include "test_fashionmnist.moc"
