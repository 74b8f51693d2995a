#include "data/idxfile.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <new>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace traclens {

namespace {

// Refuses absurd headers before allocating: no IDX dataset comes near this, and a
// corrupt header must not make us try to allocate petabytes.
constexpr int64_t kMaxDataBytes = int64_t(16) << 30;
// The largest file read() loads: the data limit plus the largest header (4 + 255 × 4).
constexpr int64_t kMaxFileBytes = kMaxDataBytes + 4 + 255 * 4;

// The decoded bytes of an IDX file held in memory. Raw bytes come out as they are; bytes
// starting with the gzip magic 1f 8b are inflated on the fly, member after member, the way
// zlib's gzread reads a file: a new member starts wherever 1f 8b follows the end of one,
// and anything else after a complete member is ignored, as gzread ignores it.
class ByteStream {
public:
    ByteStream(const uint8_t *data, size_t size)
        : m_in(data), m_left(size), m_gzip(size >= 2 && data[0] == 0x1f && data[1] == 0x8b)
    {
        if (!m_gzip)
            return;
        if (inflateInit2(&m_z, 15 + 16) != Z_OK) // gzip wrapper only
            m_error = "cannot start zlib (out of memory?)";
        else
            m_inflating = true;
    }
    ~ByteStream()
    {
        if (m_inflating)
            inflateEnd(&m_z);
    }
    ByteStream(const ByteStream &) = delete;
    ByteStream &operator=(const ByteStream &) = delete;

    // Up to `size` decoded bytes into `buf`: the count (0 at the end), or -1 when the gzip
    // stream is bad or cut short (error() says how). Bytes decoded before an error are
    // returned first; the error comes with the next call.
    int64_t read(uint8_t *buf, int64_t size)
    {
        if (!m_error.empty())
            return -1;
        if (!m_gzip) {
            const int64_t n = std::min<int64_t>(size, int64_t(m_left));
            if (n > 0)
                std::memcpy(buf, m_in, size_t(n));
            m_in += n;
            m_left -= size_t(n);
            return n;
        }
        int64_t done = 0;
        while (done < size && !m_end) {
            if (m_left == 0) {
                // zlib's gzread says the same when a member ends early.
                m_error = "unexpected end of file";
                break;
            }
            m_z.next_in = const_cast<Bytef *>(m_in);
            m_z.avail_in = uInt(std::min<size_t>(m_left, 1u << 30));
            m_z.next_out = buf + done;
            m_z.avail_out = uInt(std::min<int64_t>(size - done, 1 << 30));
            const uInt inBefore = m_z.avail_in;
            const uInt outBefore = m_z.avail_out;
            const int ret = inflate(&m_z, Z_NO_FLUSH);
            m_in += inBefore - m_z.avail_in;
            m_left -= inBefore - m_z.avail_in;
            done += outBefore - m_z.avail_out;
            if (ret == Z_STREAM_END) {
                // Another member follows only where its magic does (as in gzread).
                if (m_left >= 2 && m_in[0] == 0x1f && m_in[1] == 0x8b)
                    inflateReset(&m_z);
                else
                    m_end = true;
            } else if (ret != Z_OK) {
                m_error = m_z.msg ? m_z.msg : ret == Z_MEM_ERROR ? "out of memory" : "compressed data error";
                break;
            }
        }
        return done > 0 || m_error.empty() ? done : -1;
    }

    const std::string &error() const { return m_error; }

private:
    const uint8_t *m_in;
    size_t m_left;
    bool m_gzip;
    bool m_inflating = false;
    bool m_end = false;
    z_stream m_z{}; // zalloc/zfree/opaque null: zlib's allocator
    std::string m_error;
};

// Fills `buf` with up to `size` bytes and returns the count; fewer at the end of the
// input or on a bad stream (then in.error() says so).
int64_t readFully(ByteStream &in, uint8_t *buf, int64_t size)
{
    int64_t done = 0;
    while (done < size) {
        const int64_t n = in.read(buf + done, size - done);
        if (n <= 0)
            break;
        done += n;
    }
    return done;
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

// Closes a descriptor on every return path.
struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
};

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
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return Status::notFound(path + ": file not found");
        return Status::ioError(path + ": cannot open: " + std::strerror(errno));
    }
    FdCloser closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > kMaxFileBytes)
        return Status::invalid(path + ": " + std::to_string(int64_t(st.st_size)) +
                               " bytes is more than an IDX file of at most 16 GiB of data can be");
    std::vector<uint8_t> bytes;
    int64_t have = 0;
    try {
        // A regular file fits in one buffer (one byte more, to see its end); pipes and
        // special files have no size, so their buffer doubles from 1 MiB.
        bytes.resize(S_ISREG(st.st_mode) && st.st_size > 0 ? size_t(st.st_size) + 1 : size_t(1) << 20);
        for (;;) {
            if (size_t(have) == bytes.size())
                bytes.resize(bytes.size() * 2);
            const ssize_t n = ::read(fd, bytes.data() + have, bytes.size() - size_t(have));
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                return Status::ioError(path + ": cannot read: " + std::strerror(errno));
            }
            if (n == 0)
                break;
            have += n;
            if (have > kMaxFileBytes)
                return Status::invalid(path + ": more bytes than an IDX file of at most 16 GiB of data can have");
        }
    } catch (const std::bad_alloc &) {
        return Status::ioError(path + ": out of memory reading " + std::to_string(have) + " bytes");
    }
    return fromBytes(bytes.data(), size_t(have), path);
}

Result<IdxFile> IdxFile::fromBytes(const void *data, size_t size, const std::string &path)
{
    ByteStream f(static_cast<const uint8_t *>(data), size);
    const auto badStream = [&] { return Status::corruption(path + ": bad gzip stream: " + f.error()); };

    uint8_t magic[4];
    int64_t n = readFully(f, magic, 4);
    if (!f.error().empty())
        return badStream();
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
    uint8_t dimBytes[255 * 4];
    const int64_t dimSize = int64_t(ndims) * 4;
    n = readFully(f, dimBytes, dimSize);
    if (!f.error().empty())
        return badStream();
    if (n < dimSize)
        return Status::invalid(path + ": truncated: the header declares " + std::to_string(ndims) +
                               " dimensions but ends early");
    // The item size (product of dims[1..]) and the total are both bounded: with zero items
    // the total is 0 whatever the item size, and an unbounded item size overflows 64 bits
    // in itemSize() (both found by tests/fuzz/fuzz_idxfile). Checked before multiplying.
    int64_t itemBytes = 1;
    for (int d = 0; d < ndims; ++d) {
        const uint8_t *b = &dimBytes[size_t(d) * 4];
        const uint32_t v = (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
        if (v > uint32_t(INT_MAX))
            return Status::invalid(path + ": dimension " + std::to_string(d) + " is out of range");
        if (v == 0 && d > 0)
            return Status::invalid(path + ": dimension " + std::to_string(d) + " is zero");
        file.m_dims.push_back(int(v));
        if (d > 0) {
            if (itemBytes > kMaxDataBytes / int64_t(v))
                return Status::invalid(path + ": dimensions declare items of more than 16 GiB each");
            itemBytes *= int64_t(v);
        }
    }
    const int64_t count = file.m_dims[0];
    if (count != 0 && itemBytes > kMaxDataBytes / count)
        return Status::invalid(path + ": dimensions declare more than 16 GiB of data");
    const int64_t total = count * itemBytes;

    // The buffer grows with the data actually decoded (doubling, from 64 KiB), so a few-byte
    // input whose header claims gigabytes costs at most twice its real size, not the
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
        if (!f.error().empty())
            return badStream();
        have += n;
        if (n < want)
            return Status::corruption(path + ": truncated: expected " + std::to_string(total) +
                                      " bytes of data, found " + std::to_string(have));
    }

    // Trailing bytes are refused: they mean the header's dimensions do not describe the
    // data, and reading such a file would hand out misaligned images without a word.
    // Decoding to the end also checks a gzip stream's trailer (CRC and length), so a file
    // whose data is complete but whose trailer is cut or wrong is refused here.
    int64_t trailing = 0;
    uint8_t scratch[4096];
    for (;;) {
        const int64_t m = f.read(scratch, sizeof scratch);
        if (m < 0)
            return badStream();
        if (m == 0)
            break;
        trailing += m;
    }
    if (trailing > 0)
        return Status::corruption(path + ": " + std::to_string(trailing) +
                                  " bytes of trailing data after the " + std::to_string(total) +
                                  " bytes the header declares");
    return file;
}

} // namespace traclens
