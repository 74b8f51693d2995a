#pragma once
// One capped file reader for everything TracLens reads whole into memory: images, CSV
// manifests and JSON files. The size is checked before reading (and again while reading,
// in case the file grows), so a huge or hostile file — a 40 GB "image", a sparse file, a
// /dev/zero link — is refused with a message instead of exhausting memory.
//
// Thread safety: a pure function; safe from any thread.
// Failure: Status values whose message names the file: "<path>: file not found",
// "<path>: not a regular file", "<path>: too large for <what> (N bytes; the limit is M MiB)",
// "<path>: read error: …". No exception leaves it (std::bad_alloc is caught).

#include "util/status.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace traclens {

// Images (ImageFolder files, CSV-manifest images). The decoder refuses images above
// kMaxImagePixels (64 Mi pixels); uncompressed at 16-bit RGBA that is 512 MiB, and a
// PNG or TIFF holding it stored without compression is a little more. 1 GiB leaves that
// room and stays below cv::imdecode's int length.
constexpr size_t kMaxImageFileBytes = size_t(1) << 30;

// CSV manifests: a row is a path, a label and a split, 40–200 bytes; 1 GiB is five to
// twenty-five million rows, more than the importer handles in one project.
constexpr size_t kMaxManifestFileBytes = size_t(1) << 30;

// JSON: traclens-model.json, training state, evaluation runs and reports are a few kB to
// a few MB; 16 MiB is far above any of them and still cheap to refuse.
constexpr size_t kMaxJsonFileBytes = size_t(16) << 20;

// Reads the whole regular file at `path` when it holds at most `maxBytes` bytes. `what`
// names the kind of file for the message ("an image", "a CSV manifest", "a JSON file").
// An empty file reads as an empty string.
Result<std::string> readFileCapped(const std::string &path, size_t maxBytes, const char *what);

} // namespace traclens
