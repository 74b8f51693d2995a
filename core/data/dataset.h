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

#include "util/status.h"

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
// Stable lowercase identifiers, fit for files and JSON: "imagefolder", "csv", "idx".
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
    std::string reason; // "zero-byte file", "not an image file extension", "file not found", ...
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
// unchanged. Examples come in a deterministic order; ScanResult::root is absolute and
// lexically normalised (no trailing slash), symbolic links are not resolved.
//
// ImageFolder details:
//   - The root is taken as root/<split>/<class>/... as soon as one top-level folder is a
//     split name (parseSplit); other top-level folders are then reported as skipped.
//     Otherwise every top-level folder is a class and all its examples are Train.
//   - Every image below a class folder, at any depth, belongs to that class.
//   - Classes are the union of class folder names over all splits, sorted by bytes (as
//     torchvision's ImageFolder sorts them). A class folder without images is still a
//     class, so label indices do not shift when a folder happens to be empty.
//   - Hidden files and folders (".name") are ignored silently. Reported as skipped: files
//     without an image extension (png jpg jpeg bmp tif tiff webp pgm ppm, any case),
//     zero-byte files, files outside class folders, unreadable files and folders, broken
//     links. Symbolic links are followed; a link back to a folder being walked is
//     reported as "symbolic link loop", never followed.
// CSV details: see csvmanifest.h for the file format. Classes come from every accepted
//   manifest row, even rows whose file is missing (again for stable label indices); a
//   missing file is skipped with reason "file not found"; rows without a split are Train.
// IDX details: the train pair is train-*, the test pair t10k-*; "-idx3-ubyte" and
//   ".idx3-ubyte" spellings are accepted, uncompressed preferred over ".gz". A lone half
//   of a pair is reported as skipped. A pair that is present but unusable (corrupt file,
//   image and label counts differ) fails the whole scan, as does a folder without any
//   complete pair: IDX sets are published whole, and importing part of one would
//   misstate it. There are max(10, largest label + 1) classes. Scanning reads the files
//   in full to check them: about half a second for Fashion-MNIST, so call it off the
//   GUI thread.
Result<ScanResult> scanDataset(const std::string &path);

// A 64-bit FNV-1a content hash as 16 lowercase hex digits.
std::string contentHash(const void *data, size_t size);

} // namespace traclens
