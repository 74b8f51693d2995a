#include "idxfile.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <new>

#include <sys/mman.h>
#include <unistd.h>

namespace traclens {

namespace {

// Closes the gzFile on every return path.
struct GzCloser {
    gzFile f;
    ~GzCloser()
    {
        if (f)
            gzclose(f);
    }
};

// Fills `buf` with up to `size` bytes; returns the count read, or -1 on a zlib error.
// gzread takes an unsigned length, so large reads go in chunks.
int64_t readFully(gzFile f, uint8_t *buf, int64_t size)
{
    int64_t done = 0;
    while (done < size) {
        const unsigned chunk = unsigned(std::min<int64_t>(size - done, 1 << 30));
        const int n = gzread(f, buf + done, chunk);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        done += n;
    }
    return done;
}

std::string gzMessage(gzFile f)
{
    int errnum = 0;
    const char *msg = gzerror(f, &errnum);
    if (errnum == Z_ERRNO)
        return std::strerror(errno);
    return msg && *msg ? msg : "unknown zlib error";
}

const char *elementTypeName(uint8_t type)
{
    switch (type) {
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "unknown";
    }
}

// Refuses absurd headers before allocating: no IDX dataset comes near this, and a
// corrupt header must not make us try to allocate petabytes.
constexpr int64_t kMaxDataBytes = int64_t(16) << 30;

} // namespace

int64_t IdxFile::itemSize() const
{
    int64_t size = 1;
    for (size_t i = 1; i < m_dims.size(); ++i)
        size *= m_dims[i];
    return size;
}

Result<IdxFile> IdxFile::read(const std::string &path)
{
    // gzopen reads uncompressed files transparently, so one code path serves both.
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f) {
        if (errno == ENOENT)
            return Status::notFound(path + ": file not found");
        return Status::ioError(path + ": cannot open: " + std::strerror(errno));
    }
    GzCloser closer{f};
    return parse(f, path);
}

Result<IdxFile> IdxFile::fromBytes(const void *data, size_t size, const std::string &name)
{
    // An anonymous in-memory file, so bytes and files take the very same zlib path.
    const int fd = ::memfd_create("traclens-idx", MFD_CLOEXEC);
    if (fd < 0)
        return Status::ioError(name + ": cannot create an in-memory file: " + std::strerror(errno));
    const auto *p = static_cast<const char *>(data);
    for (size_t done = 0; done < size;) {
        const ssize_t w = ::write(fd, p + done, size - done);
        if (w <= 0) {
            ::close(fd);
            return Status::ioError(name + ": cannot buffer the bytes: " + std::strerror(errno));
        }
        done += size_t(w);
    }
    ::lseek(fd, 0, SEEK_SET);
    gzFile f = gzdopen(fd, "rb"); // takes the descriptor
    if (!f) {
        ::close(fd);
        return Status::ioError(name + ": cannot read the bytes");
    }
    GzCloser closer{f};
    return parse(f, name);
}

Result<IdxFile> IdxFile::parse(gzFile_s *f, const std::string &path)
{
    gzbuffer(f, 256 * 1024);

    uint8_t magic[4];
    int64_t n = readFully(f, magic, 4);
    if (n < 0)
        return Status::corruption(path + ": bad gzip stream: " + gzMessage(f));
    if (n < 4)
        return Status::invalid(path + ": not an IDX file (shorter than its 4-byte magic number)");
    if (magic[0] != 0 || magic[1] != 0)
        return Status::invalid(path + ": not an IDX file (wrong magic number)");
    if (magic[2] != 0x08)
        return Status::unsupported(path + ": IDX element type 0x" +
                                   std::string(1, "0123456789ABCDEF"[magic[2] >> 4]) +
                                   std::string(1, "0123456789ABCDEF"[magic[2] & 15]) + " (" +
                                   elementTypeName(magic[2]) + ") is not supported; only unsigned bytes (0x08)");
    const int ndims = magic[3];
    if (ndims == 0)
        return Status::invalid(path + ": IDX header declares no dimensions");

    IdxFile file;
    std::vector<uint8_t> dimBytes(size_t(ndims) * 4);
    n = readFully(f, dimBytes.data(), int64_t(dimBytes.size()));
    if (n < 0)
        return Status::corruption(path + ": bad gzip stream: " + gzMessage(f));
    if (n < int64_t(dimBytes.size()))
        return Status::invalid(path + ": truncated: the header declares " + std::to_string(ndims) +
                               " dimensions but ends early");
    int64_t total = 1;
    for (int d = 0; d < ndims; ++d) {
        const uint8_t *b = &dimBytes[size_t(d) * 4];
        const uint32_t v = (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
        if (v > uint32_t(INT_MAX))
            return Status::invalid(path + ": dimension " + std::to_string(d) + " is out of range");
        if (v == 0 && d > 0)
            return Status::invalid(path + ": dimension " + std::to_string(d) + " is zero");
        file.m_dims.push_back(int(v));
        // Checked before multiplying: the product of a few dimensions overflows 64 bits
        // (found by tests/fuzz/fuzz_idxfile).
        if (v != 0 && total > kMaxDataBytes / int64_t(v))
            return Status::invalid(path + ": dimensions declare more than 16 GiB of data");
        total *= int64_t(v);
    }

    // The buffer grows with the data actually read (doubling, from 64 KiB), so a few-byte
    // file whose header claims gigabytes costs at most twice its real size, not the
    // claim (found by tests/fuzz/fuzz_idxfile).
    int64_t have = 0;
    while (have < total) {
        const int64_t want = std::min<int64_t>(total - have, std::max<int64_t>(int64_t(64) << 10, have));
        try {
            file.m_data.resize(size_t(have + want));
        } catch (const std::bad_alloc &) {
            return Status::ioError(path + ": out of memory for " + std::to_string(total) + " bytes");
        }
        n = readFully(f, file.m_data.data() + have, want);
        if (n < 0)
            return Status::corruption(path + ": bad gzip stream: " + gzMessage(f));
        have += n;
        if (n < want)
            return Status::corruption(path + ": truncated: expected " + std::to_string(total) +
                                      " bytes of data, found " + std::to_string(have));
    }

    // Trailing bytes are refused: they mean the header's dimensions do not describe the
    // data, and reading such a file would hand out misaligned images without a word.
    int64_t trailing = 0;
    uint8_t scratch[4096];
    for (;;) {
        const int m = gzread(f, scratch, sizeof scratch);
        if (m < 0)
            return Status::corruption(path + ": bad gzip stream: " + gzMessage(f));
        if (m == 0)
            break;
        trailing += m;
    }
    // gzread reports a gzip stream cut short (Z_BUF_ERROR) only through gzerror, so a
    // file whose data is complete but whose gzip trailer is missing is caught here.
    int zerr = Z_OK;
    gzerror(f, &zerr);
    if (zerr != Z_OK)
        return Status::corruption(path + ": bad gzip stream: " + gzMessage(f));
    if (trailing > 0)
        return Status::corruption(path + ": " + std::to_string(trailing) +
                                  " bytes of trailing data after the " + std::to_string(total) +
                                  " bytes the header declares");
    return file;
}

} // namespace traclens
