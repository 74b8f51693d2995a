// libFuzzer target: the IDX reader (raw and gzip) through IdxFile::fromBytes.
#include "data/idxfile.h"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    auto idx = traclens::IdxFile::fromBytes(data, size, "fuzz-idx");
    if (idx.ok()) {
        // A file that reads must be self-consistent: count × item size = data size.
        const auto &f = *idx;
        if (f.dims().empty() || int64_t(f.data().size()) != f.count() * f.itemSize())
            std::abort();
        if (f.count() > 0) {
            volatile uint8_t last = f.item(f.count() - 1)[f.itemSize() - 1];
            (void)last;
        }
    } else if (idx.status().message().rfind("fuzz-idx: ", 0) != 0) {
        std::abort(); // every error names the file
    }
    return 0;
}
