#include "store/exporter.h"

#include "data/imagedecoder.h"

#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <unordered_map>

namespace fs = std::filesystem;

namespace traclens {

namespace {

std::string csvField(const std::string &s)
{
    if (s.find_first_of(",\"\r\n") == std::string::npos)
        return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"')
            out += '"';
        out += c;
    }
    return out + "\"";
}

std::string isoTime(int64_t ms)
{
    const std::time_t t = std::time_t(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[48];
    std::snprintf(out, sizeof out, "%s.%03dZ", buf, int(ms % 1000));
    return out;
}

// Writes through a temporary file renamed into place, so a failure never leaves a
// half-written export behind.
Status writeAtomically(const std::string &path, bool overwrite, const std::string &content)
{
    std::error_code ec;
    if (!overwrite && fs::exists(path, ec))
        return Status::invalid(path + ": already exists (choose another name or allow overwriting)");
    const std::string tmp = path + ".part";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out)
            return Status::ioError(path + ": cannot write (check the folder exists and is writable)");
        out << content;
        out.flush();
        if (!out) {
            fs::remove(tmp, ec);
            return Status::ioError(path + ": write failed (disk full?)");
        }
    }
    fs::rename(tmp, path, ec);
    if (ec) {
        fs::remove(tmp, ec);
        return Status::ioError(path + ": cannot rename into place: " + ec.message());
    }
    return Status::ok();
}

// The class name for `label`, or null when the project's label is out of range.
const std::string *className(const std::vector<std::string> &classes, int label)
{
    return label >= 0 && size_t(label) < classes.size() ? &classes[size_t(label)] : nullptr;
}

Status labelOutOfRange(ProjectDb &db, const ExampleRow &e, size_t classCount)
{
    const int bad = e.currentLabel >= 0 && size_t(e.currentLabel) < classCount ? e.givenLabel : e.currentLabel;
    return Status::corruption(db.path() + ": examples row " + std::to_string(e.id) + ": label " + std::to_string(bad)
                              + " is not one of the " + std::to_string(classCount) + " classes");
}

// How the CSV and the change log name an example: its source, or for IDX the file name the
// image folder export writes, so the number matches the app's "#id".
std::string exportedPath(const ExampleRow &e, bool idx)
{
    return idx ? std::to_string(e.id) + ".png" : e.source;
}

// Creates `folder` (below `root`) one level at a time. A level that exists must be a real
// folder: a symbolic link there could lead anywhere, and creating or writing through it
// would put files outside the chosen export folder.
Status makeFolderInside(const fs::path &root, const fs::path &folder)
{
    fs::path at = root;
    for (const fs::path &part : folder.lexically_relative(root)) {
        at /= part;
        std::error_code ec;
        const fs::file_status st = fs::symlink_status(at, ec);
        if (fs::is_symlink(st))
            return Status::invalid(at.string() + ": is a symbolic link and may lead outside " + root.string()
                                   + "; nothing is written there");
        if (fs::exists(st)) {
            if (!fs::is_directory(st))
                return Status::invalid(at.string() + ": exists and is not a folder");
            continue;
        }
        fs::create_directory(at, ec);
        if (ec)
            return Status::ioError(at.string() + ": cannot create: " + ec.message());
    }
    return Status::ok();
}

} // namespace

Result<ExportCounts> countExport(ProjectDb &db)
{
    auto examples = db.examples();
    if (!examples.ok())
        return examples.status();
    ExportCounts c;
    for (const auto &e : *examples) {
        ++c.examples;
        (e.split == Split::Train ? c.train : c.test) += 1;
        if (e.currentLabel != e.givenLabel)
            ++c.changed;
    }
    return c;
}

Status exportLabelsCsv(ProjectDb &db, const std::string &csvPath, bool overwrite)
{
    auto info = db.dataset();
    if (!info.ok())
        return info.status();
    const bool idx = info->has_value() && (*info)->kind == SourceKind::Idx;
    auto examples = db.examples();
    if (!examples.ok())
        return examples.status();
    auto classes = db.classes();
    if (!classes.ok())
        return classes.status();
    std::string out = "id,path,label,original_label,changed\n";
    for (const auto &e : *examples) {
        const std::string *current = className(*classes, e.currentLabel);
        const std::string *given = className(*classes, e.givenLabel);
        if (!current || !given)
            return labelOutOfRange(db, e, classes->size());
        out += std::to_string(e.id) + ',' + csvField(exportedPath(e, idx)) + ',' + csvField(*current) + ','
               + csvField(*given) + ',' + (e.currentLabel != e.givenLabel ? "1" : "0") + '\n';
    }
    return writeAtomically(csvPath, overwrite, out);
}

Status exportChangeLog(ProjectDb &db, const std::string &csvPath, bool overwrite)
{
    auto history = db.labelHistory();
    if (!history.ok())
        return history.status();
    auto classes = db.classes();
    if (!classes.ok())
        return classes.status();
    auto info = db.dataset();
    if (!info.ok())
        return info.status();
    const bool idx = info->has_value() && (*info)->kind == SourceKind::Idx;
    std::unordered_map<int64_t, std::string> sources;
    {
        auto examples = db.examples();
        if (!examples.ok())
            return examples.status();
        for (const auto &e : *examples)
            sources.emplace(e.id, exportedPath(e, idx));
    }
    std::string out = "time,path,old_label,new_label,origin\n";
    for (const auto &c : *history) {
        auto it = sources.find(c.exampleId);
        const std::string path = it == sources.end() ? "#" + std::to_string(c.exampleId) : it->second;
        const std::string *oldName = className(*classes, c.oldLabel);
        const std::string *newName = className(*classes, c.newLabel);
        if (!oldName || !newName)
            return Status::corruption(db.path() + ": label_history row " + std::to_string(c.id) + ": label "
                                      + std::to_string(oldName ? c.newLabel : c.oldLabel) + " is not one of the "
                                      + std::to_string(classes->size()) + " classes");
        out += isoTime(c.timeMs) + ',' + csvField(path) + ',' + csvField(*oldName) + ',' + csvField(*newName) + ','
               + csvField(c.origin) + '\n';
    }
    return writeAtomically(csvPath, overwrite, out);
}

std::string safeFileName(const std::string &name)
{
    std::string out;
    out.reserve(name.size());
    for (char ch : name) {
        const unsigned char u = static_cast<unsigned char>(ch);
        out += (ch == '/' || ch == '\\' || ch == ':' || u < 0x20 || u == 0x7f) ? '_' : ch;
    }
    // "", "." and ".." would name the folder itself or its parent; so would "..." on some
    // systems that strip trailing dots.
    if (out.find_first_not_of('.') == std::string::npos)
        out = std::string(std::max<size_t>(out.size(), 1), '_');
    if (out.size() > 200) {
        out.resize(200);
        // Do not leave half of a UTF-8 sequence at the cut.
        while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xc0) == 0x80)
            out.pop_back();
        if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80))
            out.pop_back();
    }
    return out;
}

Status exportImageFolder(ProjectDb &db, const std::string &directory, TreeMode mode, bool overwrite,
                         const ProgressFn &progress, const CancelFlag *cancel)
{
    auto info = db.dataset();
    if (!info.ok())
        return info.status();
    if (!info->has_value())
        return Status::invalid(db.path() + ": the project has no dataset");
    auto examples = db.examples();
    if (!examples.ok())
        return examples.status();
    std::error_code ec;
    const auto &classes = (*info)->classes;
    const bool idx = (*info)->kind == SourceKind::Idx;

    // One folder name per class; cleaning can make two names equal ("a/b" and "a_b"), and
    // their images must not end up mixed in one folder.
    std::vector<std::string> classFolder(classes.size());
    {
        std::set<std::string> taken;
        for (size_t i = 0; i < classes.size(); ++i) {
            std::string name = safeFileName(classes[i]);
            if (!taken.insert(name).second) {
                name = safeFileName(name + "-" + std::to_string(i));
                taken.insert(name);
            }
            classFolder[i] = name;
        }
    }

    // Plan every target first, so that a refusal (an existing file) leaves the folder as it was.
    struct Item {
        const ExampleRow *example;
        fs::path folder, target;
    };
    std::vector<Item> plan;
    plan.reserve(examples->size());
    std::set<std::string> used;
    const fs::path root(directory);
    for (const auto &e : *examples) {
        if (!className(classes, e.currentLabel))
            return labelOutOfRange(db, e, classes.size());
        // Import never stores such a source (manifests refuse them); a damaged or crafted
        // project could, and copying or hard-linking it would reach files outside the dataset.
        const fs::path relSource = fs::path(e.source).lexically_normal();
        if (e.source.empty() || relSource.is_absolute() || (!relSource.empty() && *relSource.begin() == ".."))
            return Status::corruption(db.path() + ": examples row " + std::to_string(e.id) + ": source '" + e.source
                                      + "' leads outside the dataset folder; nothing was exported");
        const fs::path folder = root / splitName(e.split) / classFolder[size_t(e.currentLabel)];
        std::string name = idx ? std::to_string(e.id) + ".png" : safeFileName(fs::path(e.source).filename().string());
        if (used.count((folder / name).string()))
            name = std::to_string(e.id) + "-" + name;
        const fs::path target = folder / name;
        used.insert(target.string());
        plan.push_back({&e, folder, target});
    }
    if (!overwrite) {
        for (const Item &item : plan) {
            // symlink_status: a dangling link is an existing name too.
            if (fs::exists(fs::symlink_status(item.target, ec)))
                return Status::invalid(item.target.string()
                                       + ": already exists; nothing was exported (choose an empty folder or allow overwriting)");
        }
    }

    fs::create_directories(root, ec);
    if (ec)
        return Status::ioError(directory + ": cannot create: " + ec.message());
    std::set<std::string> checkedFolders;
    ImageStore store((*info)->kind, (*info)->root);
    const int64_t total = int64_t(plan.size());
    int64_t done = 0;
    for (const Item &item : plan) {
        const ExampleRow &e = *item.example;
        if ((done & 255) == 0) {
            if (isCancelled(cancel))
                return Status::cancelled("export cancelled; " + directory + " holds a partial tree");
            if (progress)
                progress({"export", directory, done, total});
        }
        ++done;
        if (checkedFolders.insert(item.folder.string()).second)
            TL_RETURN_IF_ERROR(makeFolderInside(root, item.folder));
        const fs::path &target = item.target;
        if (overwrite && fs::exists(fs::symlink_status(target, ec))) {
            // Remove first: copying or writing onto a link would change the file it points to.
            fs::remove(target, ec);
            if (ec)
                return Status::ioError(target.string() + ": cannot replace: " + ec.message());
        }
        if (idx) {
            auto image = store.load(e.source);
            if (!image.ok())
                return image.status();
            try {
                if (!cv::imwrite(target.string(), *image))
                    return Status::ioError(target.string() + ": cannot write image");
            } catch (const cv::Exception &ex) {
                return Status::ioError(target.string() + ": " + ex.what());
            }
            continue;
        }
        const fs::path source = fs::path((*info)->root) / e.source;
        if (mode == TreeMode::HardLink) {
            fs::create_hard_link(source, target, ec);
            if (!ec)
                continue;
            // Across file systems a hard link is impossible; a copy keeps the export whole.
        }
        fs::copy_file(source, target, fs::copy_options::none, ec);
        if (ec)
            return Status::ioError(source.string() + " → " + target.string() + ": " + ec.message());
    }
    if (progress)
        progress({"export", directory, total, total});
    return Status::ok();
}

} // namespace traclens
