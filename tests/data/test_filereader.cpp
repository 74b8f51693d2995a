// Files in: images, CSV manifests and JSON are read through one capped reader
// (filereader.h); a file over its kind's limit is refused before it is read, and the
// message names the file, says "too large" and gives the limit. Big files are sparse
// (resize_file), so the test writes no gigabytes.

#include "data/csvmanifest.h"
#include "evaluation/evaluation.h"
#include "util/filereader.h"
#include "data/imagedecoder.h"
#include "model/modelspec.h"

#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <functional>

using namespace traclens;
namespace fs = std::filesystem;

Q_DECLARE_METATYPE(std::string)

// Reads `path` the way the product does for one kind of file; returns the status.
using Reader = std::function<Status(const std::string &path)>;
Q_DECLARE_METATYPE(Reader)

class TestFileReader : public QObject {
    Q_OBJECT
private slots:
    void overTheLimit_data();
    void overTheLimit();
    void capped_data();
    void capped();
};

void TestFileReader::overTheLimit_data()
{
    QTest::addColumn<std::string>("fileName");
    QTest::addColumn<qulonglong>("limit");
    QTest::addColumn<Reader>("read");

    QTest::newRow("image (decodeImageFile)") << std::string("huge.png") << qulonglong(kMaxImageFileBytes)
                                             << Reader([](const std::string &p) { return decodeImageFile(p).status(); });
    QTest::newRow("image (ImageStore)") << std::string("huge.png") << qulonglong(kMaxImageFileBytes)
                                        << Reader([](const std::string &p) {
                                               ImageStore store(SourceKind::ImageFolder, fs::path(p).parent_path().string());
                                               return store.load(fs::path(p).filename().string()).status();
                                           });
    QTest::newRow("CSV manifest") << std::string("huge.csv") << qulonglong(kMaxManifestFileBytes)
                                  << Reader([](const std::string &p) { return readManifest(p).status(); });
    QTest::newRow("model manifest JSON") << std::string(kModelManifestName) << qulonglong(kMaxJsonFileBytes)
                                         << Reader([](const std::string &p) {
                                                return readModelSpec(fs::path(p).parent_path().string()).status();
                                            });
    QTest::newRow("evaluation report JSON") << std::string("report.json") << qulonglong(kMaxJsonFileBytes)
                                            << Reader([](const std::string &p) { return readEvaluationReport(p).status(); });
}

void TestFileReader::overTheLimit()
{
    QFETCH(std::string, fileName);
    QFETCH(qulonglong, limit);
    QFETCH(Reader, read);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const std::string path = tmp.filePath(QString::fromStdString(fileName)).toStdString();
    { std::ofstream(path, std::ios::binary) << "x"; }
    fs::resize_file(path, limit + 1); // sparse: no disk blocks, no gigabytes written

    const Status s = read(path);
    QVERIFY(!s.isOk());
    const std::string &m = s.message();
    QVERIFY2(m.find(path) != std::string::npos, m.c_str());
    QVERIFY2(m.find("too large") != std::string::npos, m.c_str());
    QVERIFY2(m.find(std::to_string(limit + 1) + " bytes") != std::string::npos, m.c_str());
    QVERIFY2(m.find("the limit is " + std::to_string(limit >> 20) + " MiB") != std::string::npos, m.c_str());
}

void TestFileReader::capped_data()
{
    QTest::addColumn<int>("size");
    QTest::addColumn<int>("limit");
    QTest::addColumn<std::string>("error"); // "" = reads
    QTest::newRow("empty") << 0 << 10 << std::string();
    QTest::newRow("at the limit") << 10 << 10 << std::string();
    QTest::newRow("one over") << 11 << 10 << std::string("too large for a test file (11 bytes; the limit is 10 bytes)");
    QTest::newRow("far over") << 100000 << 1024 << std::string("too large for a test file (100000 bytes");
    QTest::newRow("missing") << -1 << 10 << std::string("file not found");
    QTest::newRow("a folder") << -2 << 10 << std::string("not a regular file");
}

void TestFileReader::capped()
{
    QFETCH(int, size);
    QFETCH(int, limit);
    QFETCH(std::string, error);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const std::string path = tmp.filePath("f").toStdString();
    if (size >= 0) {
        std::ofstream(path, std::ios::binary) << std::string(size_t(size), 'a');
    } else if (size == -2) {
        fs::create_directory(path);
    }
    Result<std::string> r = readFileCapped(path, size_t(limit), "a test file");
    if (error.empty()) {
        QVERIFY2(r.ok(), r.status().message().c_str());
        QCOMPARE(r->size(), size_t(size));
        return;
    }
    QVERIFY(!r.ok());
    QVERIFY2(r.status().message().rfind(path + ": ", 0) == 0, r.status().message().c_str());
    QVERIFY2(r.status().message().find(error) != std::string::npos, r.status().message().c_str());
}

QTEST_GUILESS_MAIN(TestFileReader)
#include "test_filereader.moc"
