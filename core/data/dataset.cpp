#include "data/dataset.h"

#include "data/csvmanifest.h"
#include "data/idxfile.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

namespace traclens {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string_view s)
{
    std::string out(s);
    for (char &c : out)
        c = char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trimmed(std::string_view s)
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return s;
}

bool isHidden(const std::string &name) { return !name.empty() && name[0] == '.'; }

bool hasImageExtension(const std::string &name)
{
    const size_t dot = name.find_last_of('.');
    if (dot == std::string::npos || dot == 0)
        return false;
    static const std::set<std::string> kExtensions = {"png", "jpg", "jpeg", "bmp", "tif",
                                                      "tiff", "webp", "pgm", "ppm"};
    return kExtensions.count(lower(std::string_view(name).substr(dot + 1))) > 0;
}

// What stat() says about a path, following symbolic links.
struct PathInfo {
    int error = 0;          // errno from stat; 0 = ok
    bool brokenLink = false; // stat failed but the link itself exists
    bool isDir = false;
    bool isFile = false;
    int64_t size = -1;
    int64_t mtime = -1;
};

PathInfo statPath(const fs::path &path)
{
    PathInfo info;
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
        info.error = errno;
        struct stat lst;
        info.brokenLink = info.error == ENOENT && ::lstat(path.c_str(), &lst) == 0;
        return info;
    }
    info.isDir = S_ISDIR(st.st_mode);
    info.isFile = S_ISREG(st.st_mode);
    info.size = int64_t(st.st_size);
    info.mtime = int64_t(st.st_mtim.tv_sec);
    return info;
}

std::string statFailure(const PathInfo &info)
{
    if (info.brokenLink)
        return "broken symbolic link";
    if (info.error == ELOOP)
        return "symbolic link loop";
    return std::string("cannot read: ") + std::strerror(info.error);
}

// Lists a directory's entry names, sorted so scans are deterministic.
Status listDir(const fs::path &dir, std::vector<std::string> &names)
{
    names.clear();
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec)
        return Status::ioError(ec.message());
    for (; it != fs::directory_iterator(); it.increment(ec)) {
        if (ec)
            return Status::ioError(ec.message());
        names.push_back(it->path().filename().string());
    }
    if (ec)
        return Status::ioError(ec.message());
    std::sort(names.begin(), names.end());
    return Status::ok();
}

// Checks one candidate example file and appends it to the examples or the skipped list.
void addFile(const fs::path &full, const std::string &rel, const PathInfo &info, Split split,
             int label, ScanResult &out)
{
    if (info.size == 0) {
        out.skipped.push_back({rel, "zero-byte file"});
        return;
    }
    // Checked at scan time so a permission problem shows in the scan report, not as a
    // decoding failure halfway through an import.
    if (::access(full.c_str(), R_OK) != 0) {
        out.skipped.push_back({rel, std::string("cannot read file: ") + std::strerror(errno)});
        return;
    }
    ScannedExample ex;
    ex.source = rel;
    ex.split = split;
    ex.label = label;
    ex.fileSize = info.size;
    ex.fileMtime = info.mtime;
    out.examples.push_back(std::move(ex));
}

// ---------------------------------------------------------------- ImageFolder

// Deep enough for any real dataset; a guard against pathological trees.
constexpr int kMaxFolderDepth = 64;

struct ClassDir {
    fs::path splitDir; // empty in the root/<class>/... layout
    fs::path dir;
    std::string rel;
    Split split;
    std::string className;
};

class FolderWalker {
public:
    explicit FolderWalker(ScanResult &out) : m_out(out) {}

    // Records `dir` as an ancestor; false (and a skipped entry) when it is already one,
    // which is how a symbolic link pointing back up the tree is caught.
    bool enter(const fs::path &dir, const std::string &rel)
    {
        std::error_code ec;
        const fs::path canon = fs::canonical(dir, ec);
        if (ec) {
            m_out.skipped.push_back({rel + "/", "cannot resolve folder: " + ec.message()});
            return false;
        }
        if (std::find(m_ancestors.begin(), m_ancestors.end(), canon) != m_ancestors.end()) {
            m_out.skipped.push_back({rel + "/", "symbolic link loop"});
            return false;
        }
        m_ancestors.push_back(canon);
        return true;
    }
    void leave() { m_ancestors.pop_back(); }

    // Every image below a class folder, at any depth, belongs to that class.
    void walk(const fs::path &dir, const std::string &rel, Split split, int label, int depth)
    {
        if (depth > kMaxFolderDepth) {
            m_out.skipped.push_back({rel + "/", "folders nested too deeply"});
            return;
        }
        if (!enter(dir, rel))
            return;
        std::vector<std::string> names;
        if (Status s = listDir(dir, names); !s) {
            m_out.skipped.push_back({rel + "/", "cannot read folder: " + s.message()});
            leave();
            return;
        }
        for (const std::string &name : names) {
            if (isHidden(name))
                continue;
            const fs::path full = dir / name;
            const std::string childRel = rel + "/" + name;
            const PathInfo info = statPath(full);
            if (info.error)
                m_out.skipped.push_back({childRel, statFailure(info)});
            else if (info.isDir)
                walk(full, childRel, split, label, depth + 1);
            else if (!info.isFile)
                m_out.skipped.push_back({childRel, "not a regular file"});
            else if (!hasImageExtension(name))
                m_out.skipped.push_back({childRel, "not an image file extension"});
            else
                addFile(full, childRel, info, split, label, m_out);
        }
        leave();
    }

private:
    ScanResult &m_out;
    std::vector<fs::path> m_ancestors;
};

Result<ScanResult> scanImageFolder(const fs::path &root, const std::vector<std::string> &topNames)
{
    ScanResult out;
    out.kind = SourceKind::ImageFolder;
    out.root = root.string();

    struct TopDir {
        std::string name;
        std::optional<Split> split;
    };
    std::vector<TopDir> dirs;
    bool anySplit = false;
    for (const std::string &name : topNames) {
        if (isHidden(name))
            continue;
        const PathInfo info = statPath(root / name);
        if (info.error) {
            out.skipped.push_back({name, statFailure(info)});
        } else if (info.isDir) {
            dirs.push_back({name, parseSplit(name)});
            anySplit = anySplit || dirs.back().split.has_value();
        } else {
            out.skipped.push_back({name, "not inside a class folder"});
        }
    }

    FolderWalker walker(out);
    walker.enter(root, ".");

    // A root with any split folder is taken as root/<split>/<class>/...; other folders
    // beside the split folders are reported rather than guessed at.
    std::vector<ClassDir> classDirs;
    if (anySplit) {
        for (const TopDir &top : dirs) {
            if (!top.split) {
                out.skipped.push_back({top.name + "/", "not a split folder (train, test or val) "
                                                       "although the dataset has split folders"});
                continue;
            }
            const fs::path splitDir = root / top.name;
            if (!walker.enter(splitDir, top.name))
                continue;
            std::vector<std::string> names;
            if (Status s = listDir(splitDir, names); !s) {
                out.skipped.push_back({top.name + "/", "cannot read folder: " + s.message()});
                walker.leave();
                continue;
            }
            for (const std::string &name : names) {
                if (isHidden(name))
                    continue;
                const std::string rel = top.name + "/" + name;
                const PathInfo info = statPath(splitDir / name);
                if (info.error)
                    out.skipped.push_back({rel, statFailure(info)});
                else if (info.isDir)
                    classDirs.push_back({splitDir, splitDir / name, rel, *top.split, name});
                else
                    out.skipped.push_back({rel, "not inside a class folder"});
            }
            walker.leave();
        }
    } else {
        for (const TopDir &top : dirs)
            classDirs.push_back({fs::path(), root / top.name, top.name, Split::Train, top.name});
    }

    // Classes are the union over splits, sorted by name (byte order, as torchvision's
    // ImageFolder does) so label indices match what a training script would use. A class
    // folder without images still counts, for the same reason.
    std::set<std::string> classNames;
    for (const ClassDir &c : classDirs)
        classNames.insert(c.className);
    out.classes.assign(classNames.begin(), classNames.end());

    for (const ClassDir &c : classDirs) {
        const int label = int(std::lower_bound(out.classes.begin(), out.classes.end(), c.className) -
                              out.classes.begin());
        // The split folder is re-entered as an ancestor so that a class folder linking
        // back to it is caught as a loop.
        if (!c.splitDir.empty() && !walker.enter(c.splitDir, c.rel.substr(0, c.rel.find('/'))))
            continue;
        walker.walk(c.dir, c.rel, c.split, label, 1);
        if (!c.splitDir.empty())
            walker.leave();
    }
    return out;
}

// ---------------------------------------------------------------- IDX

struct IdxPair {
    const char *prefix;
    Split split;
};
constexpr IdxPair kIdxPairs[] = {{"train", Split::Train}, {"t10k", Split::Test}};

// The first existing name among the spellings in use: the official "-idx3-ubyte" and
// the ".idx3-ubyte" of some mirrors; uncompressed first because it reads faster.
std::string findIdxName(const std::set<std::string> &names, const std::string &prefix,
                        const std::string &kind /* "images-idx3" or "labels-idx1" */)
{
    const std::string dashed = prefix + "-" + kind + "-ubyte";
    std::string dotted = dashed;
    dotted[prefix.size() + 1 + kind.find('-')] = '.';
    for (const std::string &candidate : {dashed, dotted, dashed + ".gz", dotted + ".gz"})
        if (names.count(candidate))
            return candidate;
    return {};
}

bool looksLikeIdxDir(const std::vector<std::string> &topNames)
{
    const std::set<std::string> names(topNames.begin(), topNames.end());
    for (const IdxPair &pair : kIdxPairs)
        if (!findIdxName(names, pair.prefix, "images-idx3").empty() ||
            !findIdxName(names, pair.prefix, "labels-idx1").empty())
            return true;
    return false;
}

Result<ScanResult> scanIdx(const fs::path &root, const std::vector<std::string> &topNames)
{
    static const char *const kFashionNames[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                                  "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                                  "Bag",         "Ankle boot"};
    ScanResult out;
    out.kind = SourceKind::Idx;
    out.root = root.string();
    const std::set<std::string> names(topNames.begin(), topNames.end());

    int maxLabel = -1;
    bool anyPair = false;
    for (const IdxPair &pair : kIdxPairs) {
        const std::string imagesName = findIdxName(names, pair.prefix, "images-idx3");
        const std::string labelsName = findIdxName(names, pair.prefix, "labels-idx1");
        if (imagesName.empty() && labelsName.empty())
            continue;
        if (imagesName.empty() || labelsName.empty()) {
            out.skipped.push_back({imagesName.empty() ? labelsName : imagesName,
                                   std::string("no matching ") + (imagesName.empty() ? "images" : "labels") +
                                       " file for the " + splitName(pair.split) + " split"});
            continue;
        }
        // A present pair that cannot be used fails the scan: IDX sets are published as a
        // whole, and importing half of one would misstate the dataset without a word.
        Result<IdxFile> labels = IdxFile::read((root / labelsName).string());
        if (!labels)
            return labels.status();
        Result<IdxFile> images = IdxFile::read((root / imagesName).string());
        if (!images)
            return images.status();
        if (labels->dims().size() != 1)
            return Status::invalid(labelsName + ": a labels file must have one dimension, not " +
                                   std::to_string(labels->dims().size()));
        const size_t imageDims = images->dims().size();
        if ((imageDims != 3 && imageDims != 4) || (imageDims == 4 && images->dims()[3] != 1 && images->dims()[3] != 3))
            return Status::invalid(imagesName + ": not image data (expected N×H×W or N×H×W×C dimensions)");
        if (images->count() != labels->count())
            return Status::invalid(imagesName + " holds " + std::to_string(images->count()) +
                                   " images but " + labelsName + " holds " +
                                   std::to_string(labels->count()) + " labels");
        anyPair = true;
        const uint8_t *label = labels->data().data();
        out.examples.reserve(out.examples.size() + size_t(labels->count()));
        for (int64_t i = 0; i < labels->count(); ++i) {
            ScannedExample ex;
            ex.source = imagesName + "#" + std::to_string(i);
            ex.split = pair.split;
            ex.label = label[i];
            maxLabel = std::max(maxLabel, int(label[i]));
            out.examples.push_back(std::move(ex));
        }
    }
    if (!anyPair)
        return Status::invalid(out.root + ": no complete pair of IDX images and labels files");

    // Detected from the whole path: torchvision keeps the files in FashionMNIST/raw/.
    const bool fashion = lower(out.root).find("fashion") != std::string::npos;
    const int classCount = std::max(10, maxLabel + 1);
    for (int i = 0; i < classCount; ++i)
        out.classes.push_back(fashion && i < 10 ? kFashionNames[i] : std::to_string(i));
    return out;
}

// ---------------------------------------------------------------- CSV

bool parseInteger(const std::string &text, long long &value)
{
    const char *begin = text.data();
    const char *end = begin + text.size();
    auto [ptr, ec] = std::from_chars(begin, end, value);
    return ec == std::errc() && ptr == end && begin != end;
}

Result<ScanResult> scanCsv(const fs::path &csvPath)
{
    Result<ManifestParse> parse = readManifest(csvPath.string());
    if (!parse)
        return parse.status();

    ScanResult out;
    out.kind = SourceKind::CsvManifest;
    const fs::path root = csvPath.parent_path();
    out.root = root.string();
    out.skipped = std::move(parse->skipped);

    // Classes come from the manifest text, including rows whose file is missing, so the
    // label indices do not shift when a file goes astray.
    std::set<std::string> labelSet;
    for (const ManifestEntry &e : parse->entries)
        labelSet.insert(e.label);
    std::vector<std::string> labels(labelSet.begin(), labelSet.end());
    std::vector<long long> values(labels.size());
    bool allIntegers = !labels.empty();
    for (size_t i = 0; i < labels.size() && allIntegers; ++i)
        allIntegers = parseInteger(labels[i], values[i]);
    if (allIntegers) {
        // "2" before "10"; distinct spellings of one number ("1", "01") stay distinct.
        std::vector<size_t> order(labels.size());
        for (size_t i = 0; i < order.size(); ++i)
            order[i] = i;
        std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
            return values[a] != values[b] ? values[a] < values[b] : labels[a] < labels[b];
        });
        for (size_t i : order)
            out.classes.push_back(labels[i]);
    } else {
        out.classes = labels;
    }
    std::map<std::string, int> labelIndex;
    for (size_t i = 0; i < out.classes.size(); ++i)
        labelIndex[out.classes[i]] = int(i);

    for (ManifestEntry &e : parse->entries) {
        const fs::path full = root / e.path;
        const PathInfo info = statPath(full);
        if (info.error) {
            out.skipped.push_back({e.path, info.error == ENOENT && !info.brokenLink ? "file not found"
                                                                                   : statFailure(info)});
            continue;
        }
        if (!info.isFile) {
            out.skipped.push_back({e.path, info.isDir ? "a folder, not a file" : "not a regular file"});
            continue;
        }
        addFile(full, e.path, info, e.split.value_or(Split::Train), labelIndex[e.label], out);
    }
    return out;
}

} // namespace

const char *splitName(Split split)
{
    switch (split) {
    case Split::Train: return "train";
    case Split::Test: return "test";
    }
    return "train";
}

std::optional<Split> parseSplit(std::string_view text)
{
    const std::string s = lower(trimmed(text));
    if (s == "train" || s == "training")
        return Split::Train;
    if (s == "test" || s == "testing" || s == "t10k" || s == "val" || s == "valid" || s == "validation")
        return Split::Test;
    return std::nullopt;
}

const char *sourceKindName(SourceKind kind)
{
    switch (kind) {
    case SourceKind::ImageFolder: return "imagefolder";
    case SourceKind::CsvManifest: return "csv";
    case SourceKind::Idx: return "idx";
    }
    return "imagefolder";
}

Result<ScanResult> scanDataset(const std::string &path)
{
    if (path.empty())
        return Status::invalid("no dataset path given");
    std::error_code ec;
    fs::path abs = fs::absolute(fs::path(path), ec);
    if (ec)
        return Status::ioError(path + ": " + ec.message());
    abs = abs.lexically_normal();
    // "/data/mnist/" normalises with an empty final component; drop it so the root
    // string has no trailing slash.
    if (!abs.has_filename() && abs.has_parent_path() && abs != abs.root_path())
        abs = abs.parent_path();

    const PathInfo info = statPath(abs);
    if (info.error == ENOENT && !info.brokenLink)
        return Status::notFound(path + ": not found");
    if (info.error)
        return Status::ioError(path + ": " + statFailure(info));

    if (info.isFile) {
        if (lower(abs.extension().string()) == ".csv")
            return scanCsv(abs);
        return Status::invalid(path + ": not a folder or a .csv manifest");
    }
    if (!info.isDir)
        return Status::invalid(path + ": not a folder or a .csv manifest");

    std::vector<std::string> names;
    if (Status s = listDir(abs, names); !s)
        return Status::ioError(path + ": cannot read folder: " + s.message());
    if (looksLikeIdxDir(names))
        return scanIdx(abs, names);
    return scanImageFolder(abs, names);
}

std::string contentHash(const void *data, size_t size)
{
    uint64_t hash = 14695981039346656037ull;
    const auto *bytes = static_cast<const uint8_t *>(data);
    for (size_t i = 0; i < size; ++i) {
        hash ^= bytes[i];
        hash *= 1099511628211ull;
    }
    static const char kHex[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i) {
        out[size_t(i)] = kHex[hash & 15];
        hash >>= 4;
    }
    return out;
}

} // namespace traclens
