#pragma once
// CSV manifest parser: `path,label[,split]`, paths relative to the CSV's folder.
//
// Accepts RFC 4180 quoting (quoted fields, embedded commas, doubled quotes), a UTF-8
// BOM, CRLF or LF line ends, and an optional header row (detected when its first field
// is "path" or "file"/"filename", case-insensitive). Rows with missing columns, empty
// paths, or paths that escape the manifest's folder are reported per line and skipped.
//
// Thread safety: free functions. Failure: only an unreadable file is an error.

#include "dataset.h"

namespace traclens {

struct CsvRow {
    int line = 0;              // 1-based line number in the file
    std::vector<std::string> fields;
};

// Splits CSV text into rows of fields (no interpretation). Never fails: malformed
// quoting ends the field at the end of the line.
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

} // namespace traclens
