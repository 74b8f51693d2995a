// libFuzzer target: traclens-model.json validation (parseModelSpec). The directory does
// not exist, so a manifest that passes every other check stops at its checkpoint files.
#include "model/modelspec.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const std::string_view json(reinterpret_cast<const char *>(data), size);
    auto spec = traclens::parseModelSpec(json, "/nonexistent/traclens-fuzz-model");
    if (spec.ok())
        std::abort(); // the checkpoint files cannot exist
    if (spec.status().message().find("traclens-model.json") == std::string::npos)
        std::abort(); // every error names the manifest
    return 0;
}
