#pragma once
// Dataset sources: what a dataset on disk contains, before it enters a project.
//
// Three layouts are understood:
//   - an ImageFolder tree: root/<split>/<class>/<file> or root/<class>/<file>
//     (split folder names: train, test; "val"/"valid"/"validation" count as test);
//   - a CSV manifest: path,label[,split], paths relative to the CSV's folder;
//   - IDX files in the MNIST / Fashion-MNIST layout
//     ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]).
//
// Thread safety: free functions; safe to call from any thread.
// Failure: a file that cannot be used is reported in ScanResult::skipped and the
// scan goes on; only a root that cannot be read at all is an error.

#include "status.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace traclens {

enum class Split : int { Train = 0, Test = 1 };
const char *splitName(Split split);
// Accepts train/training, test/testing/t10k, val/valid/validation (→ Test); case-insensitive.
std::optional<Split> parseSplit(std::string_view text);

enum class SourceKind : int { ImageFolder = 0, CsvManifest = 1, Idx = 2 };
const char *sourceKindName(SourceKind kind);

struct ScannedExample {
    // For ImageFolder and CSV: the path relative to ScanResult::root, '/'-separated.
    // For IDX: "<images file name>#<index>", e.g. "train-images-idx3-ubyte.gz#17".
    std::string source;
    Split split = Split::Train;
    int label = 0;            // index into ScanResult::classes
    int64_t fileSize = -1;    // bytes on disk (-1 for IDX entries)
    int64_t fileMtime = -1;   // seconds since epoch (-1 for IDX entries)
};

struct SkippedFile {
    std::string path;   // as the user would recognise it (relative to root where possible)
    std::string reason; // "zero-byte file", "not an image", "unknown label 'x'", ...
};

struct ScanResult {
    SourceKind kind = SourceKind::ImageFolder;
    std::string root;                 // absolute; sources are relative to it
    std::vector<std::string> classes; // in label order
    std::vector<ScannedExample> examples;
    std::vector<SkippedFile> skipped;
};

// Looks at `path` and scans it: a directory holding IDX files → Idx; a file ending in
// .csv → CsvManifest; any other directory → ImageFolder. Class names: IDX files of
// Fashion-MNIST (detected by the folder name containing "fashion") get the ten
// Fashion-MNIST names, other IDX sets "0".."9"; folders give their sorted folder names;
// CSV labels are sorted (numerically when all are integers). Does not decode images:
// that is the importer's job, so a re-import can skip files whose size and mtime are
// unchanged.
Result<ScanResult> scanDataset(const std::string &path);

// A 64-bit FNV-1a content hash as 16 lowercase hex digits.
std::string contentHash(const void *data, size_t size);

} // namespace traclens
