#pragma once
// Imports a dataset source into a project: scans it, decodes every new or changed
// image once (to reject corrupt files and to hash the content) and writes examples in
// chunks, one transaction each. Re-importing the same source touches only what
// changed: files whose size and mtime match the stored ones are not read again.
//
// Thread safety: call from the thread that owns `db`.
// Failure: a file that cannot be used is recorded as skipped (with its reason) and
// the import goes on; cancellation keeps finished chunks.

#include "store/projectdb.h"

namespace traclens {

struct ImportSummary {
    int64_t added = 0, updated = 0, unchanged = 0, removed = 0;
    int64_t train = 0, test = 0;
    std::vector<std::string> classes;
    std::vector<SkippedFile> skipped;
    std::string toString() const; // one line per figure, then the skipped files
};

Result<ImportSummary> importDataset(ProjectDb &db, const std::string &path, const ProgressFn &progress = {},
                                    const CancelFlag *cancel = nullptr);

} // namespace traclens
