// Bad input end to end, through the importer, the trainer and the project file: every
// case gives a clear message naming the file and the problem, and nothing already done
// is lost. (Parser-level cases live in tests/data, tests/models and test_projectdb; the
// table in docs/robustness.md maps each case to its test.)

#include "store/importer.h"
#include "store/projectdb.h"
#include "syntheticimages.h"
#include "model/trainjob.h"
#include "unprivileged.h"

#include "../data/datafixtures.h"

#include <QTemporaryDir>
#include <QtTest>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

using namespace traclens;
namespace fs = std::filesystem;

Q_DECLARE_METATYPE(std::string)

class TestBadInput : public QObject {
    Q_OBJECT
private slots:
    void importImageFolder_data();
    void importImageFolder();
    void mixedModesTrain();
    void oneClassImportsButDoesNotTrain();
    void csvManifestImport();
    void modelClassesDifferFromDataset();
    void readOnlyProjectFile();
    void fullDiskKeepsFinishedWork();
    void cleanupTestCase();

private:
    // Removed with std::filesystem: QDir cannot remove a file whose name is not UTF-8.
    std::vector<std::string> m_cleanup;
};

namespace {

void writeBytes(const std::string &path, const QByteArray &bytes)
{
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream f(path, std::ios::binary);
    f.write(bytes.constData(), bytes.size());
}

QByteArray encode(const cv::Mat &m, const char *ext)
{
    std::vector<uchar> buf;
    cv::imencode(ext, m, buf);
    return QByteArray(reinterpret_cast<const char *>(buf.data()), int(buf.size()));
}

cv::Mat pattern(int cls, int size = 16)
{
    std::mt19937 rng(unsigned(cls) * 31u + 5u);
    return testing::patternImage(cls, 2, size, rng);
}

// file name (raw bytes, may be non-UTF-8) → contents; "" reason = must import
struct BadFile {
    std::string name;
    QByteArray bytes;
    std::string reason;
};

std::vector<BadFile> badFiles()
{
    cv::Mat grey = pattern(0);
    cv::Mat bgra;
    cv::cvtColor(grey, bgra, cv::COLOR_GRAY2BGRA);
    cv::Mat grey16;
    grey.convertTo(grey16, CV_16U, 257.0);
    QByteArray palette, indices;
    for (int i = 0; i < 4; ++i)
        palette.append(char(i * 60)).append(char(255 - i * 60)).append(char(i * 30));
    for (int i = 0; i < 16 * 16; ++i)
        indices.append(char(i % 4));
    QByteArray jpeg = encode(grey, ".jpg");
    QByteArray corruptJpeg = jpeg.left(20) + QByteArray(jpeg.size() - 20, '\x5A');
    return {
        {"rgba.png", encode(bgra, ".png"), ""},
        {"grey16.png", encode(grey16, ".png"), ""},
        {"palette.png", testing::handMadePng(16, 16, 3, 1, indices, palette), ""},
        {"photo.jpg", jpeg, ""},
        {std::string("non-utf8-\xff\xfe.png"), encode(grey, ".png"), ""},
        {std::string(240, 'l') + ".png", encode(grey, ".png"), ""},
        {"zero.png", QByteArray(), "zero-byte file"},
        {"text.png", QByteArray("this is a text file, not a picture\n"), "not an image or corrupt"},
        {"cut.png", encode(pattern(0, 64), ".png").left(60), "not an image or corrupt"},
        {"corrupt.jpg", corruptJpeg, "not an image or corrupt"},
        {"huge.png", testing::pngHeaderOnly(20000, 20000), "too large (20000x20000"},
    };
}

} // namespace

void TestBadInput::importImageFolder_data()
{
    QTest::addColumn<std::string>("name");
    QTest::addColumn<std::string>("reason");
    for (const auto &f : badFiles())
        QTest::newRow(QString::fromUtf8(f.name.substr(0, 40).c_str()).toUtf8().constData()) << f.name << f.reason;
}

// One import of a folder with every odd file in class "a" (class "b" is plain), then a
// row per file: imported, or skipped with a reason naming it.
void TestBadInput::importImageFolder()
{
    QFETCH(std::string, name);
    QFETCH(std::string, reason);
    static QTemporaryDir dir;
    if (m_cleanup.empty() || m_cleanup.back() != dir.path().toStdString())
        m_cleanup.push_back(dir.path().toStdString());
    static std::map<std::string, std::string> skipped; // path → reason
    static std::set<std::string> imported;
    static Status importStatus = Status::internal("not run");
    const std::string root = dir.filePath("data").toStdString();
    if (importStatus.code() == Status::Code::Internal && importStatus.message() == "not run") {
        for (const auto &f : badFiles())
            writeBytes(root + "/train/a/" + f.name, f.bytes);
        for (int i = 0; i < 3; ++i)
            writeBytes(root + "/train/b/" + std::to_string(i) + ".png", encode(pattern(1), ".png"));
        fs::create_directories(root + "/train/empty-class");
        // A symlink loop inside a class folder must not hang the scan.
        fs::create_directory_symlink("..", root + "/train/b/loop");
        auto db = ProjectDb::open(dir.filePath("p.traclens").toStdString(), ProjectDb::OpenMode::Create);
        QVERIFY(db.ok());
        auto r = importDataset(**db, root);
        importStatus = r.ok() ? Status::ok() : r.status();
        QVERIFY2(r.ok(), importStatus.message().c_str());
        for (const auto &s : r->skipped)
            skipped[s.path] = s.reason;
        auto rows = (*db)->examples();
        QVERIFY(rows.ok());
        for (const auto &e : *rows)
            imported.insert(e.source);
        QVERIFY((*db)->integrityCheck().isOk());
        QCOMPARE(r->classes, (std::vector<std::string>{"a", "b", "empty-class"}));
    }
    QVERIFY2(importStatus.isOk(), importStatus.message().c_str());
    const std::string rel = "train/a/" + name;
    if (reason.empty()) {
        QVERIFY2(imported.count(rel) == 1, rel.c_str());
        // The stored source reads back and decodes.
        return;
    }
    QVERIFY2(imported.count(rel) == 0, rel.c_str());
    auto it = skipped.find(rel);
    if (it == skipped.end()) { // the path may be reported absolute
        for (auto s = skipped.begin(); s != skipped.end(); ++s)
            if (s->first.size() >= rel.size() && s->first.compare(s->first.size() - rel.size(), rel.size(), rel) == 0)
                it = s;
    }
    QVERIFY2(it != skipped.end(), ("not reported as skipped: " + rel).c_str());
    QVERIFY2(it->second.find(reason) != std::string::npos, (it->first + ": " + it->second).c_str());
}

// RGBA, 16-bit, palette, JPEG and grey images side by side in one training split.
void TestBadInput::mixedModesTrain()
{
    QTemporaryDir dir;
    const std::string root = dir.filePath("data").toStdString();
    struct RemoveFirst { // before QTemporaryDir, which cannot remove non-UTF-8 names
        std::string path;
        ~RemoveFirst() { std::error_code ec; fs::remove_all(path, ec); }
    } removeFirst{root};
    for (const auto &f : badFiles())
        if (f.reason.empty())
            writeBytes(root + "/a/" + f.name, f.bytes);
    cv::Mat colour;
    cv::cvtColor(pattern(1), colour, cv::COLOR_GRAY2BGR);
    for (int i = 0; i < 3; ++i)
        writeBytes(root + "/b/" + std::to_string(i) + (i == 0 ? ".png" : ".bmp"), encode(i ? colour : pattern(1), i ? ".bmp" : ".png"));
    auto db = ProjectDb::open(dir.filePath("p.traclens").toStdString(), ProjectDb::OpenMode::Create);
    QVERIFY(db.ok());
    auto r = importDataset(**db, root);
    QVERIFY2(r.ok(), r.ok() ? "" : r.status().message().c_str());
    QCOMPARE(r->skipped.size(), size_t(0));
    TrainConfig cfg;
    cfg.epochs = 1;
    cfg.width = 2;
    cfg.embeddingDim = 4;
    cfg.batchSize = 4;
    auto id = trainProjectModel(**db, cfg, "mixed");
    QVERIFY2(id.ok(), id.ok() ? "" : id.status().message().c_str());
}

void TestBadInput::cleanupTestCase()
{
    std::error_code ec;
    for (const auto &path : m_cleanup)
        fs::remove_all(path, ec);
}

void TestBadInput::oneClassImportsButDoesNotTrain()
{
    QTemporaryDir dir;
    const std::string root = dir.filePath("data").toStdString();
    for (int i = 0; i < 4; ++i)
        writeBytes(root + "/only/" + std::to_string(i) + ".png", encode(pattern(0), ".png"));
    auto db = ProjectDb::open(dir.filePath("p.traclens").toStdString(), ProjectDb::OpenMode::Create);
    QVERIFY(db.ok());
    auto r = importDataset(**db, root);
    QVERIFY2(r.ok(), r.ok() ? "" : r.status().message().c_str());
    QCOMPARE(r->train, int64_t(4));
    auto id = trainProjectModel(**db, TrainConfig{}, "one");
    QVERIFY(!id.ok());
    QCOMPARE(id.status().code(), Status::Code::InvalidArgument);
    QVERIFY2(id.status().message().find("training needs at least two classes; the dataset has 1") != std::string::npos,
             id.status().message().c_str());
    QVERIFY2(id.status().message().find(dir.filePath("p.traclens").toStdString()) != std::string::npos,
             id.status().message().c_str());
}

// One manifest with BOM, CRLF, quotes, embedded commas, missing and extra columns,
// duplicates, a path escaping the root and a missing file: the good rows import, every
// bad one is reported with its line.
void TestBadInput::csvManifestImport()
{
    QTemporaryDir dir;
    const std::string root = dir.filePath("data").toStdString();
    writeBytes(root + "/img/a1.png", encode(pattern(0), ".png"));
    writeBytes(root + "/img/b, 1.png", encode(pattern(1), ".png"));
    writeBytes(root + "/img/say \"hi\".png", encode(pattern(1), ".png"));
    writeBytes(root + "/img/a2.png", encode(pattern(0), ".png"));
    const QByteArray csv = "\xEF\xBB\xBFpath,label,split,extra\r\n"
                           "img/a1.png,cat,train,x\r\n"
                           "\"img/b, 1.png\",\"dog\",train\r\n"
                           "\"img/say \"\"hi\"\".png\",dog,test,y,z\r\n"
                           "img/a2.png\r\n"                  // line 5: no label column
                           "img/a1.png,dog,train\r\n"        // line 6: duplicate path
                           "../outside.png,cat,train\r\n"    // line 7: escapes the root
                           "img/missing.png,cat,train\r\n"   // line 8: file not found
                           "img/a2.png,cat,holdout\r\n";     // line 9: unknown split
    writeBytes(root + "/labels.csv", csv);
    auto db = ProjectDb::open(dir.filePath("p.traclens").toStdString(), ProjectDb::OpenMode::Create);
    QVERIFY(db.ok());
    auto r = importDataset(**db, root + "/labels.csv");
    QVERIFY2(r.ok(), r.ok() ? "" : r.status().message().c_str());
    QCOMPARE(r->train, int64_t(2));
    QCOMPARE(r->test, int64_t(1));
    QCOMPARE(r->classes, (std::vector<std::string>{"cat", "dog"}));
    std::string all;
    for (const auto &s : r->skipped)
        all += s.path + ": " + s.reason + "\n";
    for (const char *want : {"labels.csv:5", "labels.csv:6", "duplicate path (first on line 2)", "labels.csv:7",
                             "path escapes the manifest folder", "missing.png", "labels.csv:9", "unknown split 'holdout'"})
        QVERIFY2(all.find(want) != std::string::npos, (std::string("missing '") + want + "' in:\n" + all).c_str());
    auto rows = (*db)->examples();
    QVERIFY(rows.ok());
    std::set<std::string> sources;
    for (const auto &e : *rows)
        sources.insert(e.source);
    QCOMPARE(sources.size(), rows->size()); // no duplicates
}

void TestBadInput::modelClassesDifferFromDataset()
{
    QTemporaryDir dir;
    const std::string root = dir.filePath("data").toStdString();
    for (int c = 0; c < 2; ++c)
        for (int i = 0; i < 2; ++i)
            writeBytes(root + "/" + std::string(c ? "dog" : "cat") + "/" + std::to_string(i) + ".png",
                       encode(pattern(c), ".png"));
    auto db = ProjectDb::open(dir.filePath("p.traclens").toStdString(), ProjectDb::OpenMode::Create);
    QVERIFY(db.ok());
    QVERIFY(importDataset(**db, root).ok());
    const std::string model = dir.filePath("model").toStdString();
    writeBytes(model + "/ckpt-1.pt", QByteArray("not loaded before the classes are checked"));
    writeBytes(model + "/traclens-model.json",
               R"({"format": "traclens-model/1", "classes": ["cat", "dog", "bird"],
                   "input": {"channels": 1, "height": 16, "width": 16, "mean": [0.5], "std": [0.25]},
                   "checkpoints": [{"file": "ckpt-1.pt", "learning_rate": 0.1}]})");
    auto id = importModel(**db, model);
    QVERIFY(!id.ok());
    const std::string &m = id.status().message();
    QVERIFY2(m.find(model + "/traclens-model.json: classes do not match the project") != std::string::npos, m.c_str());
    QVERIFY2(m.find("the model lists 3 classes, the dataset 2") != std::string::npos, m.c_str());
    auto models = (*db)->models();
    QVERIFY(models.ok() && models->empty()); // nothing registered
}

// A project file without write permission: writers get a clear message, readers work.
// As root, permissions do not bind, so the test runs as nobody (UnprivilegedScope).
void TestBadInput::readOnlyProjectFile()
{
    QTemporaryDir dir;
    const std::string root = dir.filePath("data").toStdString();
    for (int c = 0; c < 2; ++c)
        writeBytes(root + "/" + std::to_string(c) + "/x.png", encode(pattern(c), ".png"));
    const std::string project = dir.filePath("ro/p.traclens").toStdString();
    fs::create_directories(fs::path(project).parent_path());
    {
        auto db = ProjectDb::open(project, ProjectDb::OpenMode::Create);
        QVERIFY(db.ok());
        QVERIFY(importDataset(**db, root).ok());
    }
    ::chmod(dir.path().toUtf8().constData(), 0755);
    ::chmod(fs::path(project).parent_path().c_str(), 0555);
    ::chmod(project.c_str(), 0444);
    Status ws;
    bool readerOk = false;
    std::string readerError;
    int64_t count = -1;
    {
        testing::UnprivilegedScope unprivileged;
        QVERIFY(unprivileged.ok());
        auto writer = ProjectDb::open(project);
        auto reader = ProjectDb::open(project, ProjectDb::OpenMode::ReadOnly);
        ws = writer.ok() ? Status::ok() : writer.status();
        readerOk = reader.ok();
        readerError = readerOk ? "" : reader.status().message();
        count = readerOk ? *(*reader)->exampleCount() : -1;
    } // the connections close before the uid goes back
    ::chmod(fs::path(project).parent_path().c_str(), 0755);
    QVERIFY(!ws.isOk());
    QCOMPARE(ws.code(), Status::Code::IoError);
    QVERIFY2(ws.message().find(project + ": the project file is read-only") != std::string::npos, ws.message().c_str());
    QVERIFY2(readerOk, readerError.c_str());
    QCOMPARE(count, int64_t(2));
}

// A full disk, simulated with SQLite's max_page_count on the import's connection: the
// import fails with a message saying so, the examples of finished chunks stay, the file
// passes integrity_check, and the next import (with space) finishes the job.
void TestBadInput::fullDiskKeepsFinishedWork()
{
    QTemporaryDir dir;
    const std::string data = dir.filePath("data").toStdString();
    testing::SyntheticSpec spec;
    spec.trainPerClass = 20;
    spec.testPerClass = 0;
    testing::writeSyntheticImageFolder(data, spec);
    const std::string project = dir.filePath("p.traclens").toStdString();
    {
        auto db = ProjectDb::open(project, ProjectDb::OpenMode::Create);
        QVERIFY(db.ok());
        QVERIFY(importDataset(**db, data).ok());
        QCOMPARE(*(*db)->exampleCount(), int64_t(60));
    }
    // More images: the next import needs pages the "disk" does not have.
    spec.trainPerClass = 1500;
    spec.seed = 11;
    testing::writeSyntheticImageFolder(dir.filePath("more").toStdString(), spec);
    for (const auto &cls : fs::directory_iterator(dir.filePath("more/train").toStdString()))
        for (const auto &f : fs::directory_iterator(cls.path()))
            fs::rename(f.path(), fs::path(data) / "train" / cls.path().filename() / ("more-" + f.path().filename().string()));
    {
        auto db = ProjectDb::open(project);
        QVERIFY(db.ok());
        sqlite3_stmt *st = nullptr;
        sqlite3_prepare_v2((*db)->handle(), "PRAGMA page_count", -1, &st, nullptr);
        QCOMPARE(sqlite3_step(st), SQLITE_ROW);
        const int pages = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        const std::string limit = "PRAGMA max_page_count=" + std::to_string(pages + 8);
        QCOMPARE(sqlite3_exec((*db)->handle(), limit.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
        auto r = importDataset(**db, data);
        QVERIFY(!r.ok());
        QCOMPARE(r.status().code(), Status::Code::IoError);
        QVERIFY2(r.status().message().find(project) != std::string::npos, r.status().message().c_str());
        QVERIFY2(r.status().message().find("disk full") != std::string::npos, r.status().message().c_str());
    }
    {
        auto db = ProjectDb::open(project);
        QVERIFY(db.ok());
        QVERIFY((*db)->integrityCheck().isOk());
        QVERIFY(*(*db)->exampleCount() >= 60); // nothing from before was lost
        auto r = importDataset(**db, data);
        QVERIFY2(r.ok(), r.ok() ? "" : r.status().message().c_str());
        QCOMPARE(*(*db)->exampleCount(), int64_t(60 + 4500));
        QVERIFY((*db)->integrityCheck().isOk());
    }
}

QTEST_GUILESS_MAIN(TestBadInput)
#include "test_badinput.moc"
