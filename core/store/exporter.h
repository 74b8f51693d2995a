#pragma once
// Exports corrected labels: a CSV `id,path,label,original_label,changed`, an ImageFolder
// tree (copies or hard links) with the current labels, and a change log.
//
// Thread safety: call from the thread that owns `db`.
// Failure: an existing output is not overwritten unless `overwrite`, and the refusal names
// the file; CSV files are written to a temporary name and renamed so that a failed export
// leaves no half-written file. Names that come from the project (class names, source paths)
// are cleaned before they become file or folder names, so nothing is ever written or linked
// outside the chosen output folder, whatever the project holds.

#include "store/projectdb.h"

namespace traclens {

struct ExportCounts {
    int64_t examples = 0, changed = 0, train = 0, test = 0;
};
Result<ExportCounts> countExport(ProjectDb &db);

// One row per live example, header included; `id` is the example id the app shows (#id);
// `path` is the source relative path, or for IDX examples "<id>.png", the name
// exportImageFolder() gives the image, so CSV, tree and app use the same number; labels are
// class names; changed is 1 or 0.
Status exportLabelsCsv(ProjectDb &db, const std::string &csvPath, bool overwrite = false);
// Every label change in order: time (ISO 8601 UTC), path, old label, new label, origin.
Status exportChangeLog(ProjectDb &db, const std::string &csvPath, bool overwrite = false);

enum class TreeMode { Copy, HardLink };
// <dir>/<split>/<class name>/<file>; IDX images are written as PNG named "<id>.png".
// Class and file names are cleaned by safeFileName(); two classes whose cleaned names
// collide get distinct folders ("<name>-<class index>"). All targets are checked before
// anything is written: without `overwrite` an existing target fails the export naming that
// file, and nothing is written. A sub-folder that is a symbolic link leading outside
// `directory` fails the export; an existing target that is a link is replaced, never
// written through. `directory` is created when missing.
Status exportImageFolder(ProjectDb &db, const std::string &directory, TreeMode mode, bool overwrite = false,
                         const ProgressFn &progress = {}, const CancelFlag *cancel = nullptr);

// A name from the project made safe as one path component: '/', '\\', ':' and control
// characters become '_'; an empty name, "." and ".." (any name of only dots) become
// underscores; names longer than 200 bytes are cut (file systems allow 255).
std::string safeFileName(const std::string &name);

} // namespace traclens
