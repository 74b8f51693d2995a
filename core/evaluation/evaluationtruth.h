#pragma once
// Known label errors for the mislabel-detection evaluation: instead of injecting noise,
// the rankings are scored against examples the user already knows to be wrong.
//
// Truth file format (UTF-8 text), one known-wrong training example per line:
//   <example>[<sep><correct label>]
// where <example> is the example's source as TracLens shows it — a path relative to the
// dataset root ("train/shirt/123.png"; for IDX files "train-images-idx3-ubyte#57") — or
// its numeric id in the evaluation's project (a path made only of digits is written
// "./123"), <sep> is a comma or a tab, and <correct label> a class name or a class index.
// Blank lines and lines starting with '#' are ignored; surrounding spaces are trimmed.
// With a correct label on every line, the cleaning loop can restore them; without, it
// is skipped (a file that gives labels on some lines but not others is refused).
//
// Thread safety: readTruthFile is pure; resolveTruth uses the caller's ProjectDb.
// Failure: Status/Result; every message names the file and, for a bad line, the line
// ("truth.txt:4: 'train/x.png' is not a training example of the dataset").

#include "evaluation/labelnoise.h"
#include "store/projectdb.h"
#include "util/status.h"

#include <string>
#include <vector>

namespace traclens {

struct TruthEntry {
    std::string example;       // as written: a source path or an id
    std::string correctLabel;  // as written; "" when the line gives none
    int line = 0;              // 1-based
};

// Parses the file; does not look at any project. Errors: unreadable file, an empty
// example field, a line with more than two fields, labels on some lines only, no entries.
Result<std::vector<TruthEntry>> readTruthFile(const std::string &path);

struct KnownErrors {
    // One per resolved entry, sorted by example id: trueLabel = the correct label (−1 when
    // the file gives none), noisyLabel = the example's current label.
    std::vector<LabelFlip> errors;
    std::vector<std::string> sources; // same order
    bool labelled = false;            // every entry gives its correct label
    int64_t notInProject = 0;         // entries skipped because a seeded subset left them out
};

// Matches the entries to the project's training examples. With `subsetted` (the project
// holds a seeded subset of the dataset), an entry that matches no example is counted in
// notInProject; otherwise it is an error naming `path` and the line. Also refused: a test
// example, an example listed twice, an unknown class, a correct label equal to the
// example's current label.
Result<KnownErrors> resolveTruth(ProjectDb &db, const std::vector<TruthEntry> &entries, const std::string &path,
                                 bool subsetted);

} // namespace traclens
