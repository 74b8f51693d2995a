// Files out: an export writes only under the chosen output folder, whatever names a project
// holds (source paths with "..", class names "..", "a/b", control characters, ""), refuses
// to overwrite an existing file unless asked, and names IDX examples in the CSV with the
// same number the app shows and the image folder export uses.

#include "store/exporter.h"
#include "data/imagedecoder.h"
#include "store/importer.h"
#include "store/projectdb.h"

#include "../data/datafixtures.h"

#include <QTemporaryDir>
#include <QtTest>

#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

using namespace traclens;
namespace fs = std::filesystem;

Q_DECLARE_METATYPE(std::string)
Q_DECLARE_METATYPE(std::vector<std::string>)

class TestExport : public QObject {
    Q_OBJECT
private slots:
    void treeStaysInsideRoot_data();
    void treeStaysInsideRoot();
    void safeFileName_data();
    void safeFileName();
    void idxCsvNamesTheAppsNumber();
};

namespace {

void writeText(const fs::path &path, const std::string &text)
{
    fs::create_directories(path.parent_path());
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
}

std::string readText(const fs::path &path)
{
    std::ifstream f(path, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

// Every entry under `dir` except the subtree `skip`: path → type, size and contents, so
// that any file written, linked or replaced outside the export folder shows up.
std::map<std::string, std::string> snapshot(const fs::path &dir, const fs::path &skip)
{
    std::map<std::string, std::string> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); ++it) {
        const fs::path p = it->path();
        if (p == skip) {
            it.disable_recursion_pending();
            continue;
        }
        // The project file and its journal, lock and side files are not the export's.
        if (p.filename().string().rfind("project.traclens", 0) == 0)
            continue;
        const auto st = fs::symlink_status(p);
        std::string desc = std::to_string(int(st.type()));
        if (st.type() == fs::file_type::regular)
            desc += ":" + readText(p);
        else if (st.type() == fs::file_type::symlink)
            desc += "->" + fs::read_symlink(p).string();
        out[p.string()] = desc;
    }
    return out;
}

// Each file under `root` (links not followed) is a regular file whose real path is inside.
QString firstEscape(const fs::path &root)
{
    const fs::path real = fs::canonical(root);
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
        const fs::path p = it->path();
        if (fs::is_symlink(fs::symlink_status(p)))
            return QString::fromStdString(p.string()) + " is a symbolic link";
        const fs::path rel = fs::canonical(p).lexically_relative(real);
        if (rel.empty() || *rel.begin() == "..")
            return QString::fromStdString(p.string()) + " is outside the root";
        // Names made from the project are cleaned: no control characters, no separators.
        for (unsigned char ch : p.filename().string())
            if (ch < 0x20 || ch == 0x7f || ch == '\\' || ch == ':')
                return QString::fromStdString(p.string()).toHtmlEscaped() + " has an uncleaned character";
    }
    return {};
}

} // namespace

void TestExport::treeStaysInsideRoot_data()
{
    QTest::addColumn<std::vector<std::string>>("classes");
    QTest::addColumn<std::string>("source"); // relative to the dataset root, label 0
    QTest::addColumn<bool>("hardLink");
    // Created inside the output folder before the export: "train" as a link to this
    // folder (relative to the work directory); the export must refuse to follow it.
    QTest::addColumn<std::string>("trainLinkTo");
    QTest::addColumn<std::string>("error"); // expected in the refusal; "" = exports

    const std::vector<std::string> plain{"cat", "dog"};
    QTest::newRow("source with ../") << plain << std::string("../../victim.png") << false << std::string()
                                      << std::string("leads outside the dataset folder");
    QTest::newRow("source with ../, hard link") << plain << std::string("../../victim.png") << true << std::string()
                                                 << std::string("leads outside the dataset folder");
    QTest::newRow("absolute source, hard link") << plain << std::string("/etc/passwd") << true << std::string()
                                                 << std::string("leads outside the dataset folder");
    QTest::newRow("source climbing through a folder")
        << plain << std::string("sub/../../../victim.png") << false << std::string()
        << std::string("leads outside the dataset folder");
    QTest::newRow("class named ..") << std::vector<std::string>{"..", "dog"} << std::string("img.png") << false
                                    << std::string() << std::string("");
    QTest::newRow("class named .., hard link")
        << std::vector<std::string>{"..", "dog"} << std::string("img.png") << true << std::string() << std::string("");
    QTest::newRow("class named .") << std::vector<std::string>{".", "dog"} << std::string("img.png") << false
                                   << std::string() << std::string("");
    QTest::newRow("class name with /") << std::vector<std::string>{"../../escaped", "dog"} << std::string("img.png")
                                       << false << std::string() << std::string("");
    QTest::newRow("class name with \\ and :")
        << std::vector<std::string>{"..\\..\\c:d", "dog"} << std::string("img.png") << false << std::string() << std::string("");
    QTest::newRow("class name with control characters")
        << std::vector<std::string>{"a\nb\x01\x7f", "dog"} << std::string("img.png") << false << std::string() << std::string("");
    QTest::newRow("empty class name") << std::vector<std::string>{"", "dog"} << std::string("img.png") << false
                                      << std::string() << std::string("");
    QTest::newRow("colliding cleaned class names")
        << std::vector<std::string>{"a/b", "a_b"} << std::string("img.png") << false << std::string() << std::string("");
    QTest::newRow("file name with control character")
        << plain << std::string("sub/c\x01" "d.png") << false << std::string() << std::string("");
    QTest::newRow("sub-folder links outside") << plain << std::string("img.png") << false << std::string("parent") << std::string("is a symbolic link");
    QTest::newRow("sub-folder links outside, hard link")
        << plain << std::string("img.png") << true << std::string("parent") << std::string("is a symbolic link");
}

void TestExport::treeStaysInsideRoot()
{
    QFETCH(std::vector<std::string>, classes);
    QFETCH(std::string, source);
    QFETCH(bool, hardLink);
    QFETCH(std::string, trainLinkTo);
    QFETCH(std::string, error);

    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const fs::path work = tmp.path().toStdString();
    const fs::path data = work / "data" / "set";
    const fs::path parent = work / "parent";
    const fs::path root = parent / "out";
    writeText(work / "victim.png", "victim");
    writeText(data / "img.png", "image zero");
    writeText(data / "other.png", "image one");
    writeText(data / "sub" / "c\x01" "d.png", "control");
    writeText(parent / "keep.txt", "keep");
    fs::create_directories(root);
    if (!trainLinkTo.empty())
        fs::create_directory_symlink(work / trainLinkTo, root / "train");

    const std::string projectPath = (work / "project.traclens").string();
    {
        auto db = ProjectDb::open(projectPath, ProjectDb::OpenMode::Create);
        QVERIFY2(db.ok(), db.status().message().c_str());
        DatasetInfo info;
        info.kind = SourceKind::ImageFolder;
        info.root = data.string();
        info.importedFrom = data.string();
        info.classes = classes;
        QVERIFY((*db)->setDataset(info).isOk());
        ScannedExample a;
        a.source = source;
        a.label = 0;
        QVERIFY((*db)->upsertExample(a, "h0").ok());
        ScannedExample b;
        b.source = "other.png";
        b.label = 1;
        QVERIFY((*db)->upsertExample(b, "h1").ok());
    }
    auto db = ProjectDb::open(projectPath, ProjectDb::OpenMode::ReadOnly);
    QVERIFY2(db.ok(), db.status().message().c_str());

    const auto before = snapshot(work, root);
    const TreeMode mode = hardLink ? TreeMode::HardLink : TreeMode::Copy;
    Status s = exportImageFolder(**db, root.string(), mode, false);
    // Nothing outside the output folder is written, linked or replaced, whatever happened.
    QVERIFY(snapshot(work, root) == before);
    if (!error.empty()) {
        QVERIFY(!s.isOk());
        QVERIFY2(s.message().find(error) != std::string::npos, s.message().c_str());
        QVERIFY(firstEscape(root).isEmpty() || !trainLinkTo.empty());
        return;
    }
    QVERIFY2(s.isOk(), s.message().c_str());
    const QString escape = firstEscape(root);
    QVERIFY2(escape.isEmpty(), qPrintable(escape));
    // Both examples are there, in two different class folders.
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it)
        if (it->is_regular_file())
            files.push_back(it->path());
    QCOMPARE(int(files.size()), 2);
    QVERIFY(files[0].parent_path() != files[1].parent_path());
    for (const fs::path &f : files)
        QCOMPARE(f.parent_path().parent_path(), root / "train");

    // A second export without overwrite fails naming an existing file and leaves it alone.
    // Replaced rather than written through: in a hard-linked tree it shares the source's data.
    fs::remove(files[0]);
    writeText(files[0], "edited by the user");
    s = exportImageFolder(**db, root.string(), mode, false);
    QVERIFY(!s.isOk());
    QVERIFY2(s.message().find("already exists") != std::string::npos, s.message().c_str());
    const bool namesFile = s.message().find(files[0].string()) != std::string::npos
                           || s.message().find(files[1].string()) != std::string::npos;
    QVERIFY2(namesFile, s.message().c_str());
    QCOMPARE(readText(files[0]), std::string("edited by the user"));
    QVERIFY(snapshot(work, root) == before);

    // With overwrite the file is replaced (and, for a hard link, the source is not written through).
    s = exportImageFolder(**db, root.string(), mode, true);
    QVERIFY2(s.isOk(), s.message().c_str());
    QVERIFY(readText(files[0]) != "edited by the user");
    QVERIFY(snapshot(work, root) == before);
}

void TestExport::safeFileName_data()
{
    QTest::addColumn<std::string>("name");
    QTest::addColumn<std::string>("expected");
    QTest::newRow("plain") << std::string("cat") << std::string("cat");
    QTest::newRow("empty") << std::string() << std::string("_");
    QTest::newRow("dot") << std::string(".") << std::string("_");
    QTest::newRow("dot dot") << std::string("..") << std::string("__");
    QTest::newRow("slashes") << std::string("../a/b") << std::string(".._a_b");
    QTest::newRow("backslash colon") << std::string("c:\\x") << std::string("c__x");
    QTest::newRow("control") << std::string("a\tb\x7f") << std::string("a_b_");
    QTest::newRow("dotted name kept") << std::string(".hidden") << std::string(".hidden");
    QTest::newRow("utf-8 kept") << std::string("Kätzchen") << std::string("Kätzchen");
    QTest::newRow("long") << std::string(300, 'x') << std::string(200, 'x');
}

void TestExport::safeFileName()
{
    QFETCH(std::string, name);
    QFETCH(std::string, expected);
    QCOMPARE(traclens::safeFileName(name), expected);
}

// The example the app shows as #N is "N.png" in the tree and "N,N.png,…" in the CSV, and
// both hold that example's image (IDX records are 0-based, example ids 1-based).
void TestExport::idxCsvNamesTheAppsNumber()
{
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString data = tmp.filePath("idx");
    QVERIFY(testing::writeFile(data + "/train-images-idx3-ubyte", testing::idxImages(4, 5, 5)));
    QVERIFY(testing::writeFile(data + "/train-labels-idx1-ubyte", testing::idxLabels({0, 1, 2, 3})));
    QVERIFY(testing::writeFile(data + "/t10k-images-idx3-ubyte", testing::idxImages(2, 5, 5)));
    QVERIFY(testing::writeFile(data + "/t10k-labels-idx1-ubyte", testing::idxLabels({1, 0})));
    const std::string projectPath = tmp.filePath("p.traclens").toStdString();
    auto db = ProjectDb::open(projectPath, ProjectDb::OpenMode::Create);
    QVERIFY2(db.ok(), db.status().message().c_str());
    auto imported = importDataset(**db, data.toStdString());
    QVERIFY2(imported.ok(), imported.status().message().c_str());

    const std::string csv = tmp.filePath("labels.csv").toStdString();
    const fs::path tree = tmp.filePath("tree").toStdString();
    QVERIFY((exportLabelsCsv(**db, csv)).isOk());
    QVERIFY((exportImageFolder(**db, tree.string(), TreeMode::Copy)).isOk());
    std::istringstream lines(readText(csv));
    std::string line;
    std::getline(lines, line);
    QCOMPARE(line, std::string("id,path,label,original_label,changed"));
    auto info = (*db)->dataset();
    QVERIFY(info.ok() && info->has_value());
    ImageStore store(SourceKind::Idx, (*info)->root);
    int rows = 0;
    while (std::getline(lines, line)) {
        ++rows;
        const QStringList cells = QString::fromStdString(line).split(',');
        QCOMPARE(cells.size(), 5);
        const int64_t id = cells[0].toLongLong();
        QCOMPARE(cells[1], QString::number(id) + ".png");
        auto example = (*db)->example(id);
        QVERIFY2(example.ok(), example.status().message().c_str());
        const fs::path file = tree / splitName(example->split) / cells[2].toStdString() / (std::to_string(id) + ".png");
        QVERIFY2(fs::exists(file), file.c_str());
        const cv::Mat written = cv::imread(file.string(), cv::IMREAD_UNCHANGED);
        auto original = store.load(example->source);
        QVERIFY(original.ok());
        QCOMPARE(written.total(), original->total());
        QCOMPARE(cv::norm(written, *original, cv::NORM_INF), 0.0);
    }
    QCOMPARE(rows, 6);
}

QTEST_GUILESS_MAIN(TestExport)
#include "test_export.moc"
