#pragma once
// CSV manifest parser: `path,label[,split]`, paths relative to the CSV's folder.
//
// Accepts RFC 4180 quoting (quoted fields, embedded commas, doubled quotes), a UTF-8
// BOM, CRLF, LF or CR line ends, and an optional header row (detected when its first
// field is "path", "file", "filename", "filepath" or "image", case-insensitive). Unlike
// RFC 4180, a quoted field does not span lines: manifests have no use for newlines in
// paths or labels, and one stray quote must not swallow the rest of the file.
//
// Columns: without a header, path,label[,split] by position. With a header, the label
// column is the one named label/class/category/target (else the second column) and the
// split column the one named split/subset/set (else none). Further columns are ignored.
// Fields are trimmed of blanks. Paths: backslashes become '/', "." and ".." are resolved
// lexically. Rows with a missing label column, an empty path or label, an unknown split
// ("unknown split 'x'"), or a path that is absolute or climbs out of the manifest's folder
// ("path escapes the manifest folder: '<path>'") are reported per line and skipped;
// an empty split field means "no split given". Blank lines are ignored.
//
// Thread safety: free functions. Failure: only an unreadable file is an error.

#include "data/dataset.h"

namespace traclens {

struct CsvRow {
    int line = 0;              // 1-based line number in the file
    std::vector<std::string> fields;
};

// Splits CSV text into rows of fields (no interpretation). Never fails: malformed
// quoting ends the field at the end of the line. Empty lines give no row; line numbers
// still count them.
std::vector<CsvRow> parseCsv(std::string_view text);

struct ManifestEntry {
    int line = 0;
    std::string path;          // relative to the manifest folder, normalised, '/'-separated
    std::string label;         // label text as written
    std::optional<Split> split;
};

struct ManifestParse {
    std::vector<ManifestEntry> entries;
    std::vector<SkippedFile> skipped; // path field = "<file>:<line>", reason says what is wrong
};

// Reads and interprets a manifest file; entries keep file order; duplicate paths after
// the first are skipped with reason "duplicate path (first on line N)".
Result<ManifestParse> readManifest(const std::string &csvPath);

// The same interpretation of manifest text already in memory; `fileName` names the
// manifest in skipped rows ("<fileName>:<line>"). Never fails. (readManifest reads the
// file and calls this; fuzz targets call it directly.)
ManifestParse parseManifest(std::string_view text, const std::string &fileName);

} // namespace traclens
