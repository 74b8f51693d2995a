#include "data/csvmanifest.h"

#include "util/filereader.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace traclens {

namespace {

bool isBlank(char c) { return c == ' ' || c == '\t'; }

std::string trimmed(std::string_view s)
{
    size_t b = 0, e = s.size();
    while (b < e && isBlank(s[b]))
        ++b;
    while (e > b && isBlank(s[e - 1]))
        --e;
    return std::string(s.substr(b, e - b));
}

std::string lower(std::string s)
{
    for (char &c : s)
        c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool isHeaderPathName(const std::string &field)
{
    const std::string f = lower(trimmed(field));
    return f == "path" || f == "file" || f == "filename" || f == "filepath" || f == "image";
}

// Column positions of a manifest; -1 = absent.
struct Columns {
    int path = 0;
    int label = 1;
    int split = 2;
};

Columns columnsFromHeader(const std::vector<std::string> &header)
{
    // A header names its columns, so honour the names; a column the header does not name
    // keeps its positional meaning only for the label (the one column every manifest has).
    Columns c;
    c.label = -1;
    c.split = -1;
    for (int i = 0; i < int(header.size()); ++i) {
        const std::string f = lower(trimmed(header[size_t(i)]));
        if (i == 0)
            continue;
        if (c.label < 0 && (f == "label" || f == "class" || f == "category" || f == "target"))
            c.label = i;
        else if (c.split < 0 && (f == "split" || f == "subset" || f == "set"))
            c.split = i;
    }
    if (c.label < 0 && header.size() > 1 && c.split != 1)
        c.label = 1;
    return c;
}

// Lexically normalises a manifest path. Returns false when the path is absolute or climbs
// above the manifest folder: a manifest must not reach files outside the folder it
// describes (a shared manifest would otherwise read anything on the machine).
bool normaliseRelative(std::string path, std::string &out)
{
    // Manifests written on Windows use backslashes; on Linux a backslash in a data file
    // name is far rarer than a Windows-made manifest.
    std::replace(path.begin(), path.end(), '\\', '/');
    if (path.empty() || path[0] == '/')
        return false;
    if (path.size() >= 2 && path[1] == ':' && std::isalpha(static_cast<unsigned char>(path[0])))
        return false; // "C:/..." or "C:foo"
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string::npos)
            end = path.size();
        std::string part = path.substr(start, end - start);
        if (part == "..") {
            if (parts.empty())
                return false;
            parts.pop_back();
        } else if (!part.empty() && part != ".") {
            parts.push_back(std::move(part));
        }
        start = end + 1;
    }
    if (parts.empty())
        return false;
    out.clear();
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i)
            out += '/';
        out += parts[i];
    }
    return true;
}

} // namespace

std::vector<CsvRow> parseCsv(std::string_view text)
{
    static constexpr std::string_view kBom = "\xEF\xBB\xBF";
    if (text.substr(0, kBom.size()) == kBom)
        text.remove_prefix(kBom.size());

    std::vector<CsvRow> rows;
    size_t pos = 0;
    int line = 0;
    while (pos < text.size()) {
        ++line;
        // One physical line. Quoted fields deliberately do not span lines: a manifest has
        // no use for newlines in paths or labels, and this way one stray quote cannot
        // swallow the rest of the file.
        size_t eol = text.find_first_of("\r\n", pos);
        if (eol == std::string_view::npos)
            eol = text.size();
        std::string_view lineText = text.substr(pos, eol - pos);
        pos = eol;
        // LF, CRLF or a lone CR ends the line.
        if (pos < text.size() && text[pos] == '\r')
            ++pos;
        if (pos < text.size() && text[pos] == '\n')
            ++pos;
        if (lineText.empty())
            continue;

        CsvRow row;
        row.line = line;
        size_t i = 0;
        for (;;) {
            std::string field;
            // Lenient: a quote after leading blanks still opens a quoted field, as in
            // `a.png, "big, red"` written by hand.
            size_t j = i;
            while (j < lineText.size() && isBlank(lineText[j]))
                ++j;
            if (j < lineText.size() && lineText[j] == '"') {
                i = j + 1;
                for (;;) {
                    if (i >= lineText.size())
                        break; // unterminated: the field ends with the line
                    char c = lineText[i++];
                    if (c == '"') {
                        if (i < lineText.size() && lineText[i] == '"') {
                            field += '"';
                            ++i;
                        } else {
                            break;
                        }
                    } else {
                        field += c;
                    }
                }
                // Text between the closing quote and the next comma is kept as written.
                while (i < lineText.size() && lineText[i] != ',')
                    field += lineText[i++];
            } else {
                while (i < lineText.size() && lineText[i] != ',')
                    field += lineText[i++];
            }
            row.fields.push_back(std::move(field));
            if (i < lineText.size() && lineText[i] == ',') {
                ++i;
                continue;
            }
            break;
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

Result<ManifestParse> readManifest(const std::string &csvPath)
{
    Result<std::string> bytes = readFileCapped(csvPath, kMaxManifestFileBytes, "a CSV manifest");
    if (!bytes.ok())
        return bytes.status();
    std::string fileName = csvPath;
    if (size_t slash = fileName.find_last_of('/'); slash != std::string::npos)
        fileName = fileName.substr(slash + 1);
    return parseManifest(*bytes, fileName);
}

ManifestParse parseManifest(std::string_view text, const std::string &fileName)
{
    ManifestParse result;
    auto skip = [&](int line, std::string reason) {
        result.skipped.push_back({fileName + ":" + std::to_string(line), std::move(reason)});
    };

    Columns columns;
    bool firstRow = true;
    std::unordered_map<std::string, int> firstLineOfPath;
    for (CsvRow &row : parseCsv(text)) {
        const bool blank = std::all_of(row.fields.begin(), row.fields.end(),
                                       [](const std::string &f) { return trimmed(f).empty(); });
        if (blank)
            continue;
        if (firstRow) {
            firstRow = false;
            if (isHeaderPathName(row.fields[0])) {
                columns = columnsFromHeader(row.fields);
                continue;
            }
        }

        auto field = [&](int col) -> std::optional<std::string> {
            if (col < 0 || col >= int(row.fields.size()))
                return std::nullopt;
            return trimmed(row.fields[size_t(col)]);
        };

        const std::string rawPath = field(columns.path).value_or(std::string());
        if (rawPath.empty()) {
            skip(row.line, "empty path");
            continue;
        }
        const std::optional<std::string> label = field(columns.label);
        if (!label) {
            skip(row.line, columns.label < 0 ? "the header names no label column"
                                             : "missing label column");
            continue;
        }
        if (label->empty()) {
            skip(row.line, "empty label");
            continue;
        }
        std::string path;
        if (!normaliseRelative(rawPath, path)) {
            skip(row.line, "path escapes the manifest folder: '" + rawPath + "'");
            continue;
        }
        std::optional<Split> split;
        if (std::optional<std::string> splitText = field(columns.split); splitText && !splitText->empty()) {
            split = parseSplit(*splitText);
            if (!split) {
                skip(row.line, "unknown split '" + *splitText + "'");
                continue;
            }
        }
        auto [it, inserted] = firstLineOfPath.emplace(path, row.line);
        if (!inserted) {
            skip(row.line, "duplicate path (first on line " + std::to_string(it->second) + ")");
            continue;
        }
        result.entries.push_back({row.line, std::move(path), *label, split});
    }
    return result;
}

} // namespace traclens
