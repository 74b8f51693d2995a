// IdxFile: raw and gzipped files, and every way a file can be wrong.

#include "datafixtures.h"
#include "data/idxfile.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace traclens;

class TestIdxFile : public QObject {
    Q_OBJECT

private slots:
    void read_data();
    void read();
    void items_data();
    void items();
    void missingFile();
    void notARegularFile();
};

void TestIdxFile::read_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<bool>("gzip");
    QTest::addColumn<QString>("dims");  // comma-separated when the read succeeds
    QTest::addColumn<QString>("error"); // expected message fragment when it fails

    const QByteArray images = testing::idxImages(3, 2, 2);
    const QByteArray labels = testing::idxLabels({1, 0, 9});
    QTest::newRow("raw images") << images << false << "3,2,2" << "";
    QTest::newRow("gzip images") << images << true << "3,2,2" << "";
    QTest::newRow("raw labels") << labels << false << "3" << "";
    QTest::newRow("gzip labels") << labels << true << "3" << "";
    QTest::newRow("zero items") << testing::idxBytes({0, 28, 28}, {}) << false << "0,28,28" << "";

    QTest::newRow("empty file") << QByteArray() << false << "" << "shorter than its 4-byte magic";
    QTest::newRow("wrong magic") << QByteArray("\x1f\x00\x08\x01\x00\x00\x00\x01x", 9) << false << ""
                                 << "wrong magic number";
    QTest::newRow("png is not idx") << QByteArray("\x89PNG\r\n\x1a\nxxxxxxxx", 16) << false << ""
                                    << "wrong magic number";
    QTest::newRow("float type") << testing::idxBytes({1}, QByteArray(4, '\0'), 0x0D) << false << ""
                                << "0x0D (float) is not supported";
    QTest::newRow("no dimensions") << testing::idxBytes({}, {}) << false << "" << "declares no dimensions";
    QTest::newRow("header cut short") << images.left(9) << false << "" << "the header declares 3 dimensions";
    QTest::newRow("zero inner dimension") << testing::idxBytes({2, 0, 2}, {}) << false << ""
                                          << "dimension 1 is zero";
    QTest::newRow("negative dimension") << testing::idxBytes({-5}, {}) << false << "" << "out of range";
    QTest::newRow("absurd dimensions") << testing::idxBytes({2000000000, 2000, 2000}, {}) << false << ""
                                       << "more than 16 GiB";
    // 2e9 · 8 is under the limit; · 2e9 more overflows int64 (a fuzzer find).
    QTest::newRow("dimension product overflows") << testing::idxBytes({2000000000, 8, 2000000000}, {}) << false << ""
                                                 << "more than 16 GiB";
    // Zero items of an absurd size: the total is 0, but the item size overflowed int64 in
    // itemSize() (a fuzzer find).
    QTest::newRow("zero items of absurd size") << testing::idxBytes({0, 2000000000, 2000000000, 2000000000}, {})
                                               << false << "" << "items of more than 16 GiB each";
    // A 12-byte file whose header claims ~1.5 GB: refused as truncated without
    // allocating the claim (a fuzzer find).
    QTest::newRow("tiny file claiming gigabytes") << testing::idxBytes({1560282160}, QByteArray("ab")) << false << ""
                                                  << "truncated: expected 1560282160 bytes of data, found 2";
    QTest::newRow("truncated raw") << images.left(images.size() - 5) << false << ""
                                   << "truncated: expected 12 bytes of data, found 7";
    QTest::newRow("truncated inside gzip") << images.left(images.size() - 5) << true << ""
                                           << "truncated: expected 12 bytes of data, found 7";
    const QByteArray gz = testing::gzipped(images);
    QTest::newRow("bad gzip stream") << QByteArray("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage garbage", 25)
                                     << false << "" << "bad gzip stream";
    QTest::newRow("gzip trailer cut") << gz.left(gz.size() - 4) << false << "" << "bad gzip stream";
    QByteArray badCrc = gz;
    badCrc[badCrc.size() - 8] = char(badCrc[badCrc.size() - 8] ^ 0x55);
    QTest::newRow("gzip checksum wrong") << badCrc << false << "" << "bad gzip stream";
    QTest::newRow("trailing data") << images + QByteArray("xyz") << false << ""
                                   << "3 bytes of trailing data after the 12 bytes";
    // Concatenated members read as one stream (as zlib's gzread and gzip -d read them).
    QTest::newRow("two gzip members") << testing::gzipped(images.left(10)) + testing::gzipped(images.mid(10))
                                      << false << "3,2,2" << "";
    QTest::newRow("trailing data in a second member") << gz + testing::gzipped("xy") << false << ""
                                                      << "2 bytes of trailing data after the 12 bytes";
    QTest::newRow("gzip cut inside the data") << gz.left(14) << false << "" << "bad gzip stream";
    QTest::newRow("gzip magic only") << QByteArray("\x1f\x8b", 2) << false << "" << "bad gzip stream";
}

void TestIdxFile::read()
{
    QFETCH(QByteArray, bytes);
    QFETCH(bool, gzip);
    QFETCH(QString, dims);
    QFETCH(QString, error);

    QTemporaryDir dir;
    const QString path = dir.filePath(gzip ? "file-ubyte.gz" : "file-ubyte");
    QVERIFY(testing::writeFile(path, gzip ? testing::gzipped(bytes) : bytes));

    Result<IdxFile> file = IdxFile::read(path.toStdString());
    if (error.isEmpty()) {
        QVERIFY2(file.ok(), file.status().message().c_str());
        QStringList got;
        for (int d : file->dims())
            got << QString::number(d);
        QCOMPARE(got.join(','), dims);
        QCOMPARE(int64_t(file->data().size()), file->count() * file->itemSize());
    } else {
        QVERIFY(!file.ok());
        const QString message = QString::fromStdString(file.status().message());
        QVERIFY2(message.contains(error), qPrintable(message));
        QVERIFY2(message.contains(path), qPrintable(message)); // errors name the file
    }

    // The in-memory entry point (the fuzzer's) gives the very same answer: read() loads
    // the file and hands its bytes to fromBytes().
    const QByteArray onDisk = gzip ? testing::gzipped(bytes) : bytes;
    Result<IdxFile> mem = IdxFile::fromBytes(onDisk.constData(), size_t(onDisk.size()), path.toStdString());
    QCOMPARE(mem.ok(), file.ok());
    if (mem.ok()) {
        QCOMPARE(mem->dims(), file->dims());
        QCOMPARE(mem->data(), file->data());
    } else {
        QCOMPARE(mem.status().code(), file.status().code());
        QCOMPARE(mem.status().message(), file.status().message());
    }
}

void TestIdxFile::items_data()
{
    QTest::addColumn<bool>("gzip");
    QTest::newRow("raw") << false;
    QTest::newRow("gzip") << true;
}

void TestIdxFile::items()
{
    QFETCH(bool, gzip);
    QTemporaryDir dir;
    const QString path = dir.filePath("images");
    const QByteArray images = testing::idxImages(5, 3, 4);
    QVERIFY(testing::writeFile(path, gzip ? testing::gzipped(images) : images));

    Result<IdxFile> file = IdxFile::read(path.toStdString());
    QVERIFY2(file.ok(), file.status().message().c_str());
    QCOMPARE(file->count(), int64_t(5));
    QCOMPARE(file->itemSize(), int64_t(12));
    for (int i = 0; i < 5; ++i) {
        const uint8_t *item = file->item(i);
        for (int p = 0; p < 12; ++p)
            QCOMPARE(int(item[p]), (i * 7 + 3) % 256);
    }
}

void TestIdxFile::missingFile()
{
    QTemporaryDir dir;
    Result<IdxFile> file = IdxFile::read(dir.filePath("absent.gz").toStdString());
    QVERIFY(!file.ok());
    QCOMPARE(file.status().code(), Status::Code::NotFound);
}

// A directory cannot be read; a character device has no size and reads to its end (/dev/null:
// empty, so not an IDX file).
void TestIdxFile::notARegularFile()
{
    QTemporaryDir dir;
    Result<IdxFile> folder = IdxFile::read(dir.path().toStdString());
    QVERIFY(!folder.ok());
    QCOMPARE(folder.status().code(), Status::Code::IoError);
    QVERIFY2(QString::fromStdString(folder.status().message()).contains(dir.path()), folder.status().message().c_str());

    Result<IdxFile> null = IdxFile::read("/dev/null");
    QVERIFY(!null.ok());
    QVERIFY2(QString::fromStdString(null.status().message()).contains("shorter than its 4-byte magic"),
             null.status().message().c_str());
}

QTEST_GUILESS_MAIN(TestIdxFile)
#include "test_idxfile.moc"
