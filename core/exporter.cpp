#include "exporter.h"

#include "imagedecoder.h"

#include <opencv2/imgcodecs.hpp>

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
    auto examples = db.examples();
    if (!examples.ok())
        return examples.status();
    auto classes = db.classes();
    if (!classes.ok())
        return classes.status();
    std::string out = "path,label,original_label,changed\n";
    for (const auto &e : *examples) {
        out += csvField(e.source) + ',' + csvField((*classes)[size_t(e.currentLabel)]) + ','
               + csvField((*classes)[size_t(e.givenLabel)]) + ',' + (e.currentLabel != e.givenLabel ? "1" : "0")
               + '\n';
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
    std::unordered_map<int64_t, std::string> sources;
    {
        auto examples = db.examples();
        if (!examples.ok())
            return examples.status();
        for (const auto &e : *examples)
            sources.emplace(e.id, e.source);
    }
    std::string out = "time,path,old_label,new_label,origin\n";
    for (const auto &c : *history) {
        auto it = sources.find(c.exampleId);
        const std::string path = it == sources.end() ? "#" + std::to_string(c.exampleId) : it->second;
        out += isoTime(c.timeMs) + ',' + csvField(path) + ',' + csvField((*classes)[size_t(c.oldLabel)]) + ','
               + csvField((*classes)[size_t(c.newLabel)]) + ',' + csvField(c.origin) + '\n';
    }
    return writeAtomically(csvPath, overwrite, out);
}

Status exportImageFolder(ProjectDb &db, const std::string &directory, TreeMode mode, const ProgressFn &progress,
                         const CancelFlag *cancel)
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
    if (fs::exists(directory, ec) && !fs::is_empty(directory, ec))
        return Status::invalid(directory + ": folder is not empty; choose an empty or new folder");
    const auto &classes = (*info)->classes;
    ImageStore store((*info)->kind, (*info)->root);
    std::set<std::string> used;
    const int64_t total = int64_t(examples->size());
    int64_t done = 0;
    for (const auto &e : *examples) {
        if ((done & 255) == 0) {
            if (isCancelled(cancel))
                return Status::cancelled("export cancelled; " + directory + " holds a partial tree");
            if (progress)
                progress({"export", directory, done, total});
        }
        ++done;
        // Class names may hold characters a file system rejects.
        std::string cls = classes[size_t(e.currentLabel)];
        for (char &ch : cls)
            if (ch == '/' || ch == '\\' || ch == ':')
                ch = '_';
        const fs::path folder = fs::path(directory) / splitName(e.split) / cls;
        fs::create_directories(folder, ec);
        if (ec)
            return Status::ioError(folder.string() + ": cannot create: " + ec.message());
        std::string name;
        if ((*info)->kind == SourceKind::Idx) {
            name = std::to_string(e.id) + ".png";
        } else {
            name = fs::path(e.source).filename().string();
            if (used.count((folder / name).string()))
                name = std::to_string(e.id) + "-" + name;
        }
        const fs::path target = folder / name;
        used.insert(target.string());
        if ((*info)->kind == SourceKind::Idx) {
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
        fs::copy_file(source, target, fs::copy_options::overwrite_existing, ec);
        if (ec)
            return Status::ioError(source.string() + " → " + target.string() + ": " + ec.message());
    }
    if (progress)
        progress({"export", directory, total, total});
    return Status::ok();
}

} // namespace traclens
