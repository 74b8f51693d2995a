// libFuzzer target: CSV splitting and manifest interpretation (core/data/csvmanifest.h).
// Checks the documented invariants on every input, not only "does not crash".
#include "data/csvmanifest.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    int previousLine = 0;
    for (const auto &row : traclens::parseCsv(text)) {
        if (row.line <= previousLine || row.fields.empty())
            std::abort(); // rows come in line order, each with at least one field
        previousLine = row.line;
    }
    const traclens::ManifestParse parsed = traclens::parseManifest(text, "fuzz.csv");
    for (const auto &e : parsed.entries) {
        // Normalised paths never climb out of the manifest folder nor are absolute.
        if (e.path.empty() || e.path.front() == '/' || e.path == ".." || e.path.rfind("../", 0) == 0
            || e.label.empty())
            std::abort();
    }
    return 0;
}
