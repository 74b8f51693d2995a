#pragma once
// Exports corrected labels: a CSV `path,label,original_label,changed`, an ImageFolder
// tree (copies or hard links) with the current labels, and a change log.
//
// Thread safety: call from the thread that owns `db`.
// Failure: an existing output is not overwritten unless `overwrite`; files are written to a
// temporary name and renamed so that a failed export leaves no half-written file.

#include "projectdb.h"

namespace traclens {

struct ExportCounts {
    int64_t examples = 0, changed = 0, train = 0, test = 0;
};
Result<ExportCounts> countExport(ProjectDb &db);

// One row per live example, header included; `path` is the source (relative path, or the
// IDX "file#index"), labels are class names; changed is 1 or 0.
Status exportLabelsCsv(ProjectDb &db, const std::string &csvPath, bool overwrite = false);
// Every label change in order: time (ISO 8601 UTC), path, old label, new label, origin.
Status exportChangeLog(ProjectDb &db, const std::string &csvPath, bool overwrite = false);

enum class TreeMode { Copy, HardLink };
// <dir>/<split>/<class name>/<file>; IDX images are written as PNG.
Status exportImageFolder(ProjectDb &db, const std::string &directory, TreeMode mode,
                         const ProgressFn &progress = {}, const CancelFlag *cancel = nullptr);

} // namespace traclens
