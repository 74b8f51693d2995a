// scanDataset over ImageFolder trees, CSV manifests and IDX folders, plus the small
// helpers in dataset.h. Fixture trees are built at run time from short specs.

#include "data/dataset.h"
#include "datafixtures.h"
#include "unprivileged.h"

#include <QTemporaryDir>
#include <QtTest>

#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

using namespace traclens;

namespace {

// Builds a tree under `root` from specs, one per entry:
//   "cat/a.png"          a small non-empty file
//   "cat/a.png=0"        a zero-byte file
//   "dog/"               an empty folder
//   "cat/up->.."         a symbolic link (target as written)
bool buildTree(const QString &root, const QStringList &specs)
{
    for (const QString &spec : specs) {
        if (spec.contains("->")) {
            const QString link = root + "/" + spec.section("->", 0, 0);
            const QString target = spec.section("->", 1);
            QDir().mkpath(QFileInfo(link).absolutePath());
            if (::symlink(target.toLocal8Bit().constData(), link.toLocal8Bit().constData()) != 0)
                return false;
        } else if (spec.endsWith('/')) {
            if (!QDir().mkpath(root + "/" + spec))
                return false;
        } else if (spec.endsWith("=0")) {
            if (!testing::writeFile(root + "/" + spec.chopped(2), QByteArray()))
                return false;
        } else if (!testing::writeFile(root + "/" + spec, QByteArray("bytes the scan never decodes"))) {
            return false;
        }
    }
    return true;
}

QStringList classesOf(const ScanResult &scan)
{
    QStringList out;
    for (const std::string &c : scan.classes)
        out << QString::fromStdString(c);
    return out;
}

// "split|class name|source", sorted.
QStringList examplesOf(const ScanResult &scan)
{
    QStringList out;
    for (const ScannedExample &e : scan.examples)
        out << QStringLiteral("%1|%2|%3").arg(splitName(e.split),
                                              QString::fromStdString(scan.classes.at(size_t(e.label))),
                                              QString::fromStdString(e.source));
    out.sort();
    return out;
}

QStringList skippedOf(const ScanResult &scan)
{
    QStringList out;
    for (const SkippedFile &s : scan.skipped)
        out << QString::fromStdString(s.path) + "|" + QString::fromStdString(s.reason);
    out.sort();
    return out;
}

// Writes IDX fixtures from specs "name=img:N" (N 2×2 images) or "name=lab:1,0,4".
// Names ending in .gz are gzipped; "name=bytes:text" writes raw text.
bool writeIdxFiles(const QString &dir, const QStringList &specs)
{
    for (const QString &spec : specs) {
        const QString name = spec.section('=', 0, 0);
        const QString kind = spec.section('=', 1).section(':', 0, 0);
        const QString arg = spec.section(':', 1);
        QByteArray bytes;
        if (kind == "img") {
            bytes = testing::idxImages(arg.toInt(), 2, 2);
        } else if (kind == "lab") {
            std::vector<int> labels;
            for (const QString &l : arg.split(','))
                labels.push_back(l.toInt());
            bytes = testing::idxLabels(labels);
        } else {
            bytes = arg.toUtf8();
        }
        if (name.endsWith(".gz"))
            bytes = testing::gzipped(bytes);
        if (!testing::writeFile(dir + "/" + name, bytes))
            return false;
    }
    return true;
}

const QStringList kDigits = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
const QStringList kFashion = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

} // namespace

class TestDataset : public QObject {
    Q_OBJECT

private slots:
    void parseSplit_data();
    void parseSplit();
    void names();
    void contentHash_data();
    void contentHash();

    void imageFolder_data();
    void imageFolder();
    void imageFolderRecordsSizeAndMtime();
    void imageFolderUnreadable();
    void rootPaths();

    void csvManifest_data();
    void csvManifest();

    void idx_data();
    void idx();
};

void TestDataset::parseSplit_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("split"); // -1: not a split

    QTest::newRow("train") << "train" << 0;
    QTest::newRow("training") << "Training" << 0;
    QTest::newRow("TRAIN") << "TRAIN" << 0;
    QTest::newRow("test") << "test" << 1;
    QTest::newRow("testing") << "testing" << 1;
    QTest::newRow("t10k") << "t10k" << 1;
    QTest::newRow("val") << "val" << 1;
    QTest::newRow("valid") << "Valid" << 1;
    QTest::newRow("validation") << "validation" << 1;
    QTest::newRow("blanks") << " test " << 1;
    QTest::newRow("empty") << "" << -1;
    QTest::newRow("holdout") << "holdout" << -1;
    QTest::newRow("prefix only") << "tra" << -1;
}

void TestDataset::parseSplit()
{
    QFETCH(QString, text);
    QFETCH(int, split);
    const std::optional<Split> parsed = traclens::parseSplit(text.toStdString());
    QCOMPARE(parsed ? int(*parsed) : -1, split);
}

void TestDataset::names()
{
    QCOMPARE(QString(splitName(Split::Train)), QString("train"));
    QCOMPARE(QString(splitName(Split::Test)), QString("test"));
    QCOMPARE(traclens::parseSplit(splitName(Split::Test)), std::optional<Split>(Split::Test));
    QCOMPARE(QString(sourceKindName(SourceKind::ImageFolder)), QString("imagefolder"));
    QCOMPARE(QString(sourceKindName(SourceKind::CsvManifest)), QString("csv"));
    QCOMPARE(QString(sourceKindName(SourceKind::Idx)), QString("idx"));
}

void TestDataset::contentHash_data()
{
    QTest::addColumn<QByteArray>("data");
    QTest::addColumn<QString>("hash");
    // Reference values of 64-bit FNV-1a.
    QTest::newRow("empty") << QByteArray() << "cbf29ce484222325";
    QTest::newRow("a") << QByteArray("a") << "af63dc4c8601ec8c";
    QTest::newRow("foobar") << QByteArray("foobar") << "85944171f73967e8";
    QTest::newRow("zero byte") << QByteArray(1, '\0') << "af63bd4c8601b7df";
}

void TestDataset::contentHash()
{
    QFETCH(QByteArray, data);
    QFETCH(QString, hash);
    QCOMPARE(QString::fromStdString(traclens::contentHash(data.constData(), size_t(data.size()))), hash);
}

void TestDataset::imageFolder_data()
{
    QTest::addColumn<QStringList>("tree");
    QTest::addColumn<QStringList>("classes");
    QTest::addColumn<QStringList>("examples");
    QTest::addColumn<QStringList>("skipped");

    QTest::newRow("split layout")
        << QStringList{"train/cat/a.png", "train/dog/b.jpg", "test/cat/c.PNG", "val/dog/d.bmp"}
        << QStringList{"cat", "dog"}
        << QStringList{"test|cat|test/cat/c.PNG", "test|dog|val/dog/d.bmp", "train|cat|train/cat/a.png",
                       "train|dog|train/dog/b.jpg"}
        << QStringList{};
    QTest::newRow("split folder names ignore case")
        << QStringList{"TRAIN/cat/a.png", "Validation/cat/b.png"} << QStringList{"cat"}
        << QStringList{"test|cat|Validation/cat/b.png", "train|cat|TRAIN/cat/a.png"} << QStringList{};
    QTest::newRow("class layout, nested folders belong to their class")
        << QStringList{"cat/a.png", "cat/sub/deeper/b.png", "dog/c.webp"} << QStringList{"cat", "dog"}
        << QStringList{"train|cat|cat/a.png", "train|cat|cat/sub/deeper/b.png", "train|dog|dog/c.webp"}
        << QStringList{};
    QTest::newRow("hidden files, non-images, loose files")
        << QStringList{"cat/a.png", "cat/.hidden.png", ".DS_Store", ".git/config", ".cache/x/y.png",
                       "cat/notes.txt", "cat/Thumbs.db", "README.md"}
        << QStringList{"cat"} << QStringList{"train|cat|cat/a.png"}
        << QStringList{"README.md|not inside a class folder", "cat/Thumbs.db|not an image file extension",
                       "cat/notes.txt|not an image file extension"};
    QTest::newRow("extensions ignore case")
        << QStringList{"cat/A.JPEG", "cat/b.TiF", "cat/c.tiff", "cat/d.pgm", "cat/e.PPM", "cat/f.Png",
                       "cat/g.gif", "cat/noext", "cat/png"}
        << QStringList{"cat"}
        << QStringList{"train|cat|cat/A.JPEG", "train|cat|cat/b.TiF", "train|cat|cat/c.tiff",
                       "train|cat|cat/d.pgm", "train|cat|cat/e.PPM", "train|cat|cat/f.Png"}
        << QStringList{"cat/g.gif|not an image file extension", "cat/noext|not an image file extension",
                       "cat/png|not an image file extension"};
    QTest::newRow("zero-byte file")
        << QStringList{"cat/a.png=0", "cat/b.png"} << QStringList{"cat"} << QStringList{"train|cat|cat/b.png"}
        << QStringList{"cat/a.png|zero-byte file"};
    QTest::newRow("empty class folder keeps its label")
        << QStringList{"ant/", "bee/a.png", "cat/"} << QStringList{"ant", "bee", "cat"}
        << QStringList{"train|bee|bee/a.png"} << QStringList{};
    QTest::newRow("classes are the union over splits")
        << QStringList{"train/cat/a.png", "test/dog/b.png", "test/eel/"} << QStringList{"cat", "dog", "eel"}
        << QStringList{"test|dog|test/dog/b.png", "train|cat|train/cat/a.png"} << QStringList{};
    QTest::newRow("class names sort by bytes")
        << QStringList{"b/x.png", "B/x.png", "a10/x.png", "a2/x.png"} << QStringList{"B", "a10", "a2", "b"}
        << QStringList{"train|B|B/x.png", "train|a10|a10/x.png", "train|a2|a2/x.png", "train|b|b/x.png"}
        << QStringList{};
    QTest::newRow("folder beside split folders")
        << QStringList{"train/cat/a.png", "misc/x.png"} << QStringList{"cat"}
        << QStringList{"train|cat|train/cat/a.png"}
        << QStringList{"misc/|not a split folder (train, test or val) although the dataset has split folders"};
    QTest::newRow("files outside class folders")
        << QStringList{"train/a.png", "train/cat/b.png", "c.png"} << QStringList{"cat"}
        << QStringList{"train|cat|train/cat/b.png"}
        << QStringList{"c.png|not inside a class folder", "train/a.png|not inside a class folder"};
    QTest::newRow("symbolic link loops")
        << QStringList{"cat/a.png", "cat/up->..", "cat/self->.", "cat/sub/back->../..", "cat/sub/b.png"}
        << QStringList{"cat"} << QStringList{"train|cat|cat/a.png", "train|cat|cat/sub/b.png"}
        << QStringList{"cat/self/|symbolic link loop", "cat/sub/back/|symbolic link loop",
                       "cat/up/|symbolic link loop"};
    QTest::newRow("class folder linking back to its split folder")
        << QStringList{"train/cat/a.png", "train/dog->."} << QStringList{"cat", "dog"}
        << QStringList{"train|cat|train/cat/a.png"} << QStringList{"train/dog/|symbolic link loop"};
    QTest::newRow("self-referencing and broken links")
        << QStringList{"cat/a.png", "cat/x.png->x.png", "cat/b.png->missing.png"} << QStringList{"cat"}
        << QStringList{"train|cat|cat/a.png"}
        << QStringList{"cat/b.png|broken symbolic link", "cat/x.png|symbolic link loop"};
    QTest::newRow("linked class folders and files are followed")
        << QStringList{"train/cat/a.png", "test/cat->../train/cat", "train/dog/b.png->../cat/a.png"}
        << QStringList{"cat", "dog"}
        << QStringList{"test|cat|test/cat/a.png", "train|cat|train/cat/a.png", "train|dog|train/dog/b.png"}
        << QStringList{};
    QTest::newRow("empty root") << QStringList{} << QStringList{} << QStringList{} << QStringList{};
}

void TestDataset::imageFolder()
{
    QFETCH(QStringList, tree);
    QFETCH(QStringList, classes);
    QFETCH(QStringList, examples);
    QFETCH(QStringList, skipped);
    examples.sort();
    skipped.sort();

    QTemporaryDir root;
    QVERIFY(buildTree(root.path(), tree));
    Result<ScanResult> scan = scanDataset(root.path().toStdString());
    QVERIFY2(scan.ok(), scan.status().message().c_str());
    QCOMPARE(scan->kind, SourceKind::ImageFolder);
    QCOMPARE(QString::fromStdString(scan->root), root.path());
    QCOMPARE(classesOf(*scan), classes);
    QCOMPARE(examplesOf(*scan), examples);
    QCOMPARE(skippedOf(*scan), skipped);

    // Deterministic: a second scan gives the same order.
    Result<ScanResult> again = scanDataset(root.path().toStdString());
    QVERIFY(again.ok());
    QCOMPARE(again->examples.size(), scan->examples.size());
    for (size_t i = 0; i < scan->examples.size(); ++i)
        QCOMPARE(again->examples[i].source, scan->examples[i].source);
}

void TestDataset::imageFolderRecordsSizeAndMtime()
{
    QTemporaryDir root;
    const QString file = root.filePath("cat/a.png");
    QVERIFY(testing::writeFile(file, QByteArray(123, 'x')));
    const struct utimbuf times{1600000000, 1600000000};
    QCOMPARE(::utime(file.toLocal8Bit().constData(), &times), 0);

    Result<ScanResult> scan = scanDataset(root.path().toStdString());
    QVERIFY(scan.ok());
    QCOMPARE(scan->examples.size(), size_t(1));
    QCOMPARE(scan->examples[0].fileSize, int64_t(123));
    QCOMPARE(scan->examples[0].fileMtime, int64_t(1600000000));
}

// As root (CI), permissions do not stop reading, so the scans run with an unprivileged
// effective uid (UnprivilegedScope); the permissions are set before, as the owner.
void TestDataset::imageFolderUnreadable()
{
    QTemporaryDir root;
    QVERIFY(buildTree(root.path(), {"cat/a.png", "cat/secret.png", "dog/locked/b.png", "dog/c.png"}));
    QVERIFY(::chmod(root.path().toLocal8Bit().constData(), 0755) == 0); // QTemporaryDir makes it 0700
    QVERIFY(::chmod(root.filePath("cat/secret.png").toLocal8Bit().constData(), 0) == 0);
    QVERIFY(::chmod(root.filePath("dog/locked").toLocal8Bit().constData(), 0) == 0);

    Result<ScanResult> scan = Status::internal("not scanned");
    {
        testing::UnprivilegedScope unprivileged;
        QVERIFY(unprivileged.ok());
        scan = scanDataset(root.path().toStdString());
    }
    ::chmod(root.filePath("dog/locked").toLocal8Bit().constData(), 0755); // let QTemporaryDir clean up
    QVERIFY(scan.ok());
    QCOMPARE(examplesOf(*scan), (QStringList{"train|cat|cat/a.png", "train|dog|dog/c.png"}));
    QCOMPARE(skippedOf(*scan), (QStringList{"cat/secret.png|cannot read file: Permission denied",
                                            "dog/locked/|cannot read folder: Permission denied"}));

    QVERIFY(::chmod(root.path().toLocal8Bit().constData(), 0) == 0);
    {
        testing::UnprivilegedScope unprivileged;
        QVERIFY(unprivileged.ok());
        scan = scanDataset(root.path().toStdString());
    }
    ::chmod(root.path().toLocal8Bit().constData(), 0755);
    QVERIFY(!scan.ok());
    QCOMPARE(scan.status().code(), Status::Code::IoError);
}

void TestDataset::rootPaths()
{
    QTemporaryDir root;
    QVERIFY(buildTree(root.path(), {"data/cat/a.png", "notes.txt"}));

    // Trailing slashes and "." components do not leak into the root.
    Result<ScanResult> scan = scanDataset((root.path() + "/./data/").toStdString());
    QVERIFY(scan.ok());
    QCOMPARE(QString::fromStdString(scan->root), root.filePath("data"));

    // A relative path becomes absolute.
    const QString previous = QDir::currentPath();
    QDir::setCurrent(root.path());
    scan = scanDataset("data");
    QDir::setCurrent(previous);
    QVERIFY(scan.ok());
    QCOMPARE(QString::fromStdString(scan->root), root.filePath("data"));

    scan = scanDataset(root.filePath("absent").toStdString());
    QCOMPARE(scan.status().code(), Status::Code::NotFound);
    scan = scanDataset(root.filePath("notes.txt").toStdString());
    QCOMPARE(scan.status().code(), Status::Code::InvalidArgument);
    scan = scanDataset("");
    QCOMPARE(scan.status().code(), Status::Code::InvalidArgument);
}

void TestDataset::csvManifest_data()
{
    QTest::addColumn<QStringList>("tree");
    QTest::addColumn<QByteArray>("manifest");
    QTest::addColumn<QStringList>("classes");
    QTest::addColumn<QStringList>("examples");
    QTest::addColumn<QStringList>("skipped");

    const QStringList abc{"img/a.png", "img/b.png", "img/c.png"};
    QTest::newRow("numeric labels sort as numbers")
        << abc << QByteArray("img/a.png,10\nimg/b.png,2\nimg/c.png,1\n") << QStringList{"1", "2", "10"}
        << QStringList{"train|1|img/c.png", "train|10|img/a.png", "train|2|img/b.png"} << QStringList{};
    QTest::newRow("negative numbers and two spellings of one")
        << abc << QByteArray("img/a.png,1\nimg/b.png,01\nimg/c.png,-1\n") << QStringList{"-1", "01", "1"}
        << QStringList{"train|-1|img/c.png", "train|01|img/b.png", "train|1|img/a.png"} << QStringList{};
    QTest::newRow("text labels sort by bytes")
        << abc << QByteArray("img/a.png,dog\nimg/b.png,Cat\nimg/c.png,ant\n") << QStringList{"Cat", "ant", "dog"}
        << QStringList{"train|Cat|img/b.png", "train|ant|img/c.png", "train|dog|img/a.png"} << QStringList{};
    QTest::newRow("numbers mixed with text sort as text")
        << abc << QByteArray("img/a.png,10\nimg/b.png,9\nimg/c.png,x\n") << QStringList{"10", "9", "x"}
        << QStringList{"train|10|img/a.png", "train|9|img/b.png", "train|x|img/c.png"} << QStringList{};
    QTest::newRow("splits, default train")
        << abc << QByteArray("path,label,split\nimg/a.png,cat,test\nimg/b.png,cat,\nimg/c.png,cat,valid\n")
        << QStringList{"cat"} << QStringList{"test|cat|img/a.png", "test|cat|img/c.png", "train|cat|img/b.png"}
        << QStringList{};
    QTest::newRow("missing file keeps its label")
        << QStringList{"img/a.png"} << QByteArray("img/a.png,cat\nimg/gone.png,dog\n") << QStringList{"cat", "dog"}
        << QStringList{"train|cat|img/a.png"} << QStringList{"img/gone.png|file not found"};
    QTest::newRow("zero-byte file and folder")
        << QStringList{"img/a.png", "img/z.png=0", "img/sub/"}
        << QByteArray("img/a.png,cat\nimg/z.png,cat\nimg/sub,cat\n") << QStringList{"cat"}
        << QStringList{"train|cat|img/a.png"}
        << QStringList{"img/sub|a folder, not a file", "img/z.png|zero-byte file"};
    QTest::newRow("manifest problems are reported with the scan")
        << abc << QByteArray("img/a.png,cat,holdout\n../img/b.png,cat\nimg/c.png,cat\nimg/c.png,dog\n")
        << QStringList{"cat"} << QStringList{"train|cat|img/c.png"}
        << QStringList{"list.csv:1|unknown split 'holdout'",
                       "list.csv:2|path escapes the manifest folder: '../img/b.png'",
                       "list.csv:4|duplicate path (first on line 3)"};
}

void TestDataset::csvManifest()
{
    QFETCH(QStringList, tree);
    QFETCH(QByteArray, manifest);
    QFETCH(QStringList, classes);
    QFETCH(QStringList, examples);
    QFETCH(QStringList, skipped);
    examples.sort();
    skipped.sort();

    QTemporaryDir root;
    QVERIFY(buildTree(root.path(), tree));
    QVERIFY(testing::writeFile(root.filePath("list.csv"), manifest));

    Result<ScanResult> scan = scanDataset(root.filePath("list.csv").toStdString());
    QVERIFY2(scan.ok(), scan.status().message().c_str());
    QCOMPARE(scan->kind, SourceKind::CsvManifest);
    QCOMPARE(QString::fromStdString(scan->root), root.path());
    QCOMPARE(classesOf(*scan), classes);
    QCOMPARE(examplesOf(*scan), examples);
    QCOMPARE(skippedOf(*scan), skipped);
    for (const ScannedExample &e : scan->examples)
        QVERIFY(e.fileSize > 0 && e.fileMtime > 0);
}

void TestDataset::idx_data()
{
    QTest::addColumn<QString>("folder");
    QTest::addColumn<QStringList>("files");
    QTest::addColumn<QStringList>("classes");
    QTest::addColumn<QStringList>("examples"); // "split|label index|source"
    QTest::addColumn<QStringList>("skipped");
    QTest::addColumn<QString>("error");

    const QStringList digits = kDigits;
    QTest::newRow("mnist, raw and gzipped")
        << "mnist"
        << QStringList{"train-images-idx3-ubyte=img:3", "train-labels-idx1-ubyte=lab:1,0,4",
                       "t10k-images-idx3-ubyte.gz=img:2", "t10k-labels-idx1-ubyte.gz=lab:7,7"}
        << digits
        << QStringList{"test|7|t10k-images-idx3-ubyte.gz#0", "test|7|t10k-images-idx3-ubyte.gz#1",
                       "train|0|train-images-idx3-ubyte#1", "train|1|train-images-idx3-ubyte#0",
                       "train|4|train-images-idx3-ubyte#2"}
        << QStringList{} << "";
    QTest::newRow("fashion by folder name")
        << "Fashion-MNIST"
        << QStringList{"train-images-idx3-ubyte.gz=img:1", "train-labels-idx1-ubyte.gz=lab:9"} << kFashion
        << QStringList{"train|9|train-images-idx3-ubyte.gz#0"} << QStringList{} << "";
    QTest::newRow("fashion in a parent folder (torchvision layout)")
        << "FashionMNIST/raw"
        << QStringList{"t10k-images-idx3-ubyte=img:1", "t10k-labels-idx1-ubyte=lab:0"} << kFashion
        << QStringList{"test|0|t10k-images-idx3-ubyte#0"} << QStringList{} << "";
    QTest::newRow("dotted names")
        << "kaggle"
        << QStringList{"train-images.idx3-ubyte=img:1", "train-labels.idx1-ubyte=lab:3"} << digits
        << QStringList{"train|3|train-images.idx3-ubyte#0"} << QStringList{} << "";
    QTest::newRow("uncompressed preferred")
        << "both"
        << QStringList{"train-images-idx3-ubyte=img:1", "train-images-idx3-ubyte.gz=img:1",
                       "train-labels-idx1-ubyte.gz=lab:2"}
        << digits << QStringList{"train|2|train-images-idx3-ubyte#0"} << QStringList{} << "";
    QTest::newRow("half pair is reported")
        << "half"
        << QStringList{"train-images-idx3-ubyte=img:1", "train-labels-idx1-ubyte=lab:5",
                       "t10k-images-idx3-ubyte.gz=img:4"}
        << digits << QStringList{"train|5|train-images-idx3-ubyte#0"}
        << QStringList{"t10k-images-idx3-ubyte.gz|no matching labels file for the test split"} << "";
    QTest::newRow("labels beyond 9 add classes")
        << "many"
        << QStringList{"train-images-idx3-ubyte=img:2", "train-labels-idx1-ubyte=lab:11,0"}
        << (digits + QStringList{"10", "11"})
        << QStringList{"train|0|train-images-idx3-ubyte#1", "train|11|train-images-idx3-ubyte#0"}
        << QStringList{} << "";

    QTest::newRow("count mismatch")
        << "mismatch" << QStringList{"train-images-idx3-ubyte=img:3", "train-labels-idx1-ubyte=lab:1,2"}
        << QStringList{} << QStringList{} << QStringList{}
        << "train-images-idx3-ubyte holds 3 images but train-labels-idx1-ubyte holds 2 labels";
    QTest::newRow("no complete pair")
        << "lonely" << QStringList{"train-images-idx3-ubyte=img:3"} << QStringList{} << QStringList{}
        << QStringList{} << "no complete pair of IDX images and labels files";
    QTest::newRow("corrupt labels file")
        << "corrupt" << QStringList{"train-images-idx3-ubyte=img:1", "train-labels-idx1-ubyte=bytes:hello"}
        << QStringList{} << QStringList{} << QStringList{} << "wrong magic number";
    QTest::newRow("images where labels belong")
        << "swapped" << QStringList{"train-images-idx3-ubyte=img:1", "train-labels-idx1-ubyte=img:1"}
        << QStringList{} << QStringList{} << QStringList{} << "a labels file must have one dimension";
}

void TestDataset::idx()
{
    QFETCH(QString, folder);
    QFETCH(QStringList, files);
    QFETCH(QStringList, classes);
    QFETCH(QStringList, examples);
    QFETCH(QStringList, skipped);
    QFETCH(QString, error);
    examples.sort();
    skipped.sort();

    QTemporaryDir tmp;
    const QString dir = tmp.filePath(folder);
    QVERIFY(QDir().mkpath(dir));
    QVERIFY(writeIdxFiles(dir, files));

    Result<ScanResult> scan = scanDataset(dir.toStdString());
    if (!error.isEmpty()) {
        QVERIFY(!scan.ok());
        const QString message = QString::fromStdString(scan.status().message());
        QVERIFY2(message.contains(error), qPrintable(message));
        return;
    }
    QVERIFY2(scan.ok(), scan.status().message().c_str());
    QCOMPARE(scan->kind, SourceKind::Idx);
    QCOMPARE(QString::fromStdString(scan->root), dir);
    QCOMPARE(classesOf(*scan), classes);
    QStringList got;
    for (const ScannedExample &e : scan->examples) {
        got << QStringLiteral("%1|%2|%3").arg(splitName(e.split)).arg(e.label).arg(QString::fromStdString(e.source));
        QCOMPARE(e.fileSize, int64_t(-1));
        QCOMPARE(e.fileMtime, int64_t(-1));
    }
    got.sort();
    QCOMPARE(got, examples);
    QCOMPARE(skippedOf(*scan), skipped);
}

QTEST_GUILESS_MAIN(TestDataset)
#include "test_dataset.moc"
