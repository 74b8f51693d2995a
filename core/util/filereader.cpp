#include "util/filereader.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include <sys/stat.h>

namespace traclens {

namespace {

std::string sizeText(size_t bytes)
{
    if (bytes >= (size_t(1) << 20) && bytes % (size_t(1) << 20) == 0)
        return std::to_string(bytes >> 20) + " MiB";
    return std::to_string(bytes) + " bytes";
}

Status tooLarge(const std::string &path, const std::string &size, size_t maxBytes, const char *what)
{
    return Status::invalid(path + ": too large for " + what + " (" + size + "; the limit is " + sizeText(maxBytes)
                           + ")");
}

} // namespace

Result<std::string> readFileCapped(const std::string &path, size_t maxBytes, const char *what)
{
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT)
            return Status::notFound(path + ": file not found");
        return Status::ioError(path + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        return Status::invalid(path + ": not a regular file");
    if (uint64_t(st.st_size) > maxBytes)
        return tooLarge(path, std::to_string(st.st_size) + " bytes", maxBytes, what);

    std::FILE *f = std::fopen(path.c_str(), "rb");
    if (!f)
        return Status::ioError(path + ": cannot open: " + std::strerror(errno));
    std::string bytes;
    try {
        bytes.resize(size_t(st.st_size));
        size_t have = std::fread(bytes.data(), 1, bytes.size(), f);
        // The file may have grown since stat(): read on, up to one byte past the cap.
        char chunk[65536];
        while (!std::ferror(f) && !std::feof(f) && have <= maxBytes) {
            const size_t n = std::fread(chunk, 1, sizeof chunk, f);
            bytes.append(chunk, n);
            have += n;
        }
        bytes.resize(have);
    } catch (const std::bad_alloc &) {
        std::fclose(f);
        return Status::ioError(path + ": out of memory reading " + std::to_string(st.st_size) + " bytes");
    }
    const bool readError = std::ferror(f);
    std::fclose(f);
    if (readError)
        return Status::ioError(path + ": read error");
    if (bytes.size() > maxBytes)
        return tooLarge(path, "more than " + sizeText(maxBytes), maxBytes, what);
    return bytes;
}

} // namespace traclens
