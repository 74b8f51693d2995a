// The real Fashion-MNIST files: scanning them, and loading images through ImageStore
// the way the thumbnail grid does.

#include "dataset.h"
#include "imagedecoder.h"

#include <opencv2/core.hpp>

#include <QElapsedTimer>
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
    if (!QFileInfo(kFashionDir).isDir())
        QSKIP("Fashion-MNIST is not installed at /usr/share/datasets/fashion-mnist");
    QElapsedTimer timer;
    timer.start();
    Result<ScanResult> scan = scanDataset(kFashionDir.toStdString());
    const qint64 ms = timer.elapsed();
    QVERIFY2(scan.ok(), scan.status().message().c_str());
    qInfo("scanned Fashion-MNIST in %lld ms", ms);
    // Reading the four gzip files is a fraction of a second on a laptop; the bound is
    // loose so a busy build machine does not fail the test.
    QVERIFY2(ms < 5000, qPrintable(QStringLiteral("scan took %1 ms").arg(ms)));
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
    // Every training image once, as a scrolled-through grid would: item() must be O(1).
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < 60000; ++i) {
        Result<cv::Mat> image = m_store->load("train-images-idx3-ubyte.gz#" + std::to_string(i));
        if (!image.ok())
            QFAIL(image.status().message().c_str());
    }
    qInfo("loaded 60000 images in %lld ms", timer.elapsed());
    QVERIFY(timer.elapsed() < 5000);
}

QTEST_GUILESS_MAIN(TestFashionMnist)
#include "test_fashionmnist.moc"
