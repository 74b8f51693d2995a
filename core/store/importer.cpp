#include "store/importer.h"

#include "util/filereader.h"

#include "data/imagedecoder.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace fs = std::filesystem;

namespace traclens {

namespace {

constexpr size_t kChunk = 1000;

struct Known {
    int64_t id;
    int64_t size, mtime;
    std::string hash;
    int given;
    Split split;
};


} // namespace

std::string ImportSummary::toString() const
{
    std::ostringstream out;
    out << "classes: " << classes.size() << "\n"
        << "train: " << train << ", test: " << test << "\n"
        << "added: " << added << ", updated: " << updated << ", unchanged: " << unchanged
        << ", removed: " << removed << ", skipped: " << skipped.size() << "\n";
    for (const auto &s : skipped)
        out << "  skipped " << s.path << ": " << s.reason << "\n";
    return out.str();
}

Result<ImportSummary> importDataset(ProjectDb &db, const std::string &path, const ProgressFn &progress,
                                    const CancelFlag *cancel)
{
    if (progress)
        progress({"import", "scanning " + path, 0, 0});
    auto scanned = scanDataset(path);
    if (!scanned.ok())
        return scanned.status();
    ScanResult &scan = scanned.value();

    auto existing = db.dataset();
    if (!existing.ok())
        return existing.status();
    std::vector<std::string> classes = scan.classes;
    std::vector<int> labelMap(scan.classes.size());
    for (size_t i = 0; i < labelMap.size(); ++i)
        labelMap[i] = int(i);
    if (existing->has_value()) {
        const DatasetInfo &old = **existing;
        if (old.root != scan.root || old.kind != scan.kind)
            return Status::invalid(db.path() + ": this project already holds the dataset " + old.importedFrom
                                   + "; create a new project for " + path);
        // Keep existing label indices stable; new class names are appended.
        classes = old.classes;
        for (size_t i = 0; i < scan.classes.size(); ++i) {
            auto it = std::find(classes.begin(), classes.end(), scan.classes[i]);
            if (it == classes.end()) {
                classes.push_back(scan.classes[i]);
                it = classes.end() - 1;
            }
            labelMap[i] = int(it - classes.begin());
        }
    }
    TL_RETURN_IF_ERROR(db.setDataset({scan.kind, scan.root, path, classes}));

    std::unordered_map<std::string, Known> known;
    {
        auto rows = db.examples();
        if (!rows.ok())
            return rows.status();
        for (const auto &r : *rows)
            known.emplace(r.source, Known{r.id, r.fileSize, r.fileMtime, r.contentHash, r.givenLabel, r.split});
    }

    ImportSummary summary;
    summary.classes = classes;
    summary.skipped = scan.skipped;
    std::vector<int64_t> keep;
    keep.reserve(scan.examples.size());
    ImageStore store(scan.kind, scan.root);
    const int64_t total = int64_t(scan.examples.size());
    for (size_t begin = 0; begin < scan.examples.size(); begin += kChunk) {
        if (isCancelled(cancel))
            return Status::cancelled("import cancelled; " + std::to_string(begin) + " of " + std::to_string(total)
                                     + " examples kept");
        const size_t end = std::min(scan.examples.size(), begin + kChunk);
        ProjectDb::Transaction tx(db);
        TL_RETURN_IF_ERROR(tx.status());
        for (size_t i = begin; i < end; ++i) {
            ScannedExample ex = scan.examples[i];
            ex.label = labelMap[size_t(ex.label)];
            auto k = known.find(ex.source);
            const bool isFile = scan.kind != SourceKind::Idx;
            if (k != known.end() && isFile && k->second.size == ex.fileSize && k->second.mtime == ex.fileMtime
                && k->second.given == ex.label && k->second.split == ex.split) {
                keep.push_back(k->second.id);
                ++summary.unchanged;
                continue;
            }
            std::string hash;
            if (isFile) {
                const std::string full = (fs::path(scan.root) / ex.source).string();
                Result<std::string> bytes = readFileCapped(full, kMaxImageFileBytes, "an image");
                if (!bytes.ok()) {
                    summary.skipped.push_back({ex.source, bytes.status().message()});
                    continue;
                }
                auto image = decodeImageBytes(reinterpret_cast<const uint8_t *>(bytes->data()), bytes->size(), full);
                if (!image.ok()) {
                    summary.skipped.push_back({ex.source, image.status().message()});
                    continue;
                }
                hash = contentHash(bytes->data(), bytes->size());
            } else {
                auto image = store.load(ex.source);
                if (!image.ok()) {
                    summary.skipped.push_back({ex.source, image.status().message()});
                    continue;
                }
                const cv::Mat m = image->isContinuous() ? *image : image->clone();
                hash = contentHash(m.data, m.total() * m.elemSize());
            }
            if (k != known.end() && k->second.hash == hash && k->second.given == ex.label
                && k->second.split == ex.split) {
                // Touched but identical: refresh size/mtime so the next import skips it.
                auto id = db.upsertExample(ex, hash);
                if (!id.ok())
                    return id.status();
                keep.push_back(*id);
                ++summary.unchanged;
                continue;
            }
            auto id = db.upsertExample(ex, hash);
            if (!id.ok())
                return id.status();
            keep.push_back(*id);
            if (k == known.end()) {
                ++summary.added;
            } else {
                // New pixels or a new given label: stored factors no longer describe it.
                TL_RETURN_IF_ERROR(db.deleteFactorsForExample(*id));
                ++summary.updated;
            }
        }
        TL_RETURN_IF_ERROR(tx.commit());
        if (progress)
            progress({"import", "reading images", int64_t(end), total});
    }

    {
        auto before = db.exampleCount();
        if (!before.ok())
            return before.status();
        TL_RETURN_IF_ERROR(db.removeExamplesExcept(keep));
        auto after = db.exampleCount();
        if (!after.ok())
            return after.status();
        summary.removed = *before - *after;
    }
    TL_RETURN_IF_ERROR(db.replaceSkipped(summary.skipped));
    // A re-import may change the given (and so the current) label of an unedited example
    // that already has factors: its scores follow, as after a relabel.
    if (auto synced = db.syncFactorLabels(); !synced.ok())
        return synced.status();
    auto train = db.exampleCount(Split::Train);
    auto test = db.exampleCount(Split::Test);
    if (!train.ok())
        return train.status();
    if (!test.ok())
        return test.status();
    summary.train = *train;
    summary.test = *test;
    return summary;
}

} // namespace traclens
