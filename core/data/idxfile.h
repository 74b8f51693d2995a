#pragma once
// Reader for IDX files (the MNIST container format), gzip-compressed or raw.
//
// Thread safety: an IdxFile is immutable after read(); share it freely.
// Failure: wrong magic number, unsupported element type, truncated data or a bad
// gzip stream give an error naming the file and the problem. Trailing bytes after the
// data the header declares are refused too: they mean the dimensions do not describe
// the file, and reading on would hand out misaligned images. Headers declaring more
// than 16 GiB are refused before anything is allocated.
//
// One parser: read() loads the file's bytes and hands them to fromBytes(), which decodes
// gzip (one or more members, as zlib's gzread does) or raw bytes in memory. So the fuzzer
// (tests/fuzz/fuzz_idxfile) exercises exactly the code that reads files. Peak memory while
// reading is the file's size plus the data's size.

#include "util/status.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace traclens {

class IdxFile {
public:
    // Reads the whole file into memory; gzip is recognised by content (the 1f 8b magic),
    // not by name. Only unsigned-byte data (type 0x08) is supported. Not-found → NotFound;
    // malformed header or a file over 16 GiB → InvalidArgument; another element type → Unsupported; truncated or trailing data
    // or a bad gzip stream → Corruption; an unreadable file → IOError.
    static Result<IdxFile> read(const std::string &path);
    // The same for bytes in memory (raw or gzip); `name` stands for the file in messages.
    static Result<IdxFile> fromBytes(const void *data, size_t size, const std::string &name);

    const std::vector<int> &dims() const { return m_dims; }  // e.g. {60000, 28, 28}
    int64_t count() const { return m_dims.empty() ? 0 : m_dims[0]; }
    int64_t itemSize() const;                                  // product of dims[1..]
    const uint8_t *item(int64_t i) const { return m_data.data() + i * itemSize(); }
    const std::vector<uint8_t> &data() const { return m_data; }

private:
    std::vector<int> m_dims;
    std::vector<uint8_t> m_data;
};

} // namespace traclens
