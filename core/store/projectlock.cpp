#include "store/projectlock.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace traclens {

namespace {

// Locks this process holds, by canonical project path, with their handle counts. Counting
// and unlocking happen under one mutex, so a release and a new acquire cannot race.
struct Held {
    int fd = -1;
    int handles = 0;
};
std::mutex &registryMutex()
{
    static std::mutex m;
    return m;
}
std::map<std::string, Held> &registry()
{
    static std::map<std::string, Held> r;
    return r;
}

std::string holderPid(int fd)
{
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string pid = n > 0 ? std::string(buf, size_t(n)) : std::string();
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
        pid.pop_back();
    return pid.empty() ? std::string("unknown") : pid;
}

} // namespace

std::string ProjectLock::lockPathFor(const std::string &projectPath)
{
    return projectPath + ".lock";
}

Result<std::shared_ptr<ProjectLock>> ProjectLock::acquire(const std::string &projectPath)
{
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(fs::absolute(projectPath, ec), ec);
    const std::string key = ec ? projectPath : canonical.string();

    std::lock_guard<std::mutex> guard(registryMutex());
    auto &reg = registry();
    if (auto it = reg.find(key); it != reg.end()) {
        ++it->second.handles;
        std::shared_ptr<ProjectLock> lock(new ProjectLock);
        lock->m_key = key;
        lock->m_fd = it->second.fd;
        return lock;
    }

    const std::string lockPath = lockPathFor(key);
    const int fd = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (errno == EACCES || errno == EROFS || errno == EPERM) {
            // Nobody can write here; there is nothing to protect (see the header).
            return std::shared_ptr<ProjectLock>(new ProjectLock);
        }
        return Status::ioError(lockPath + ": cannot create the project lock file: " + std::strerror(errno));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        std::string pid = holderPid(fd);
        ::close(fd);
        if (err == EWOULDBLOCK)
            return Status::busy(projectPath + ": the project is open in another TracLens (pid " + pid
                                + "); open it read-only or close the other one");
        return Status::ioError(lockPath + ": cannot lock: " + std::strerror(err));
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0) {
        [[maybe_unused]] ssize_t w = ::pwrite(fd, pid.data(), pid.size(), 0);
    }
    std::shared_ptr<ProjectLock> lock(new ProjectLock);
    lock->m_key = key;
    lock->m_fd = fd;
    reg[key] = Held{fd, 1};
    return lock;
}

ProjectLock::~ProjectLock()
{
    if (m_fd < 0)
        return;
    std::lock_guard<std::mutex> guard(registryMutex());
    auto &reg = registry();
    auto it = reg.find(m_key);
    if (it == reg.end() || --it->second.handles > 0)
        return;
    // Empty the pid first so a stale file never names a process that has moved on.
    [[maybe_unused]] int t = ::ftruncate(m_fd, 0);
    ::flock(m_fd, LOCK_UN);
    ::close(m_fd);
    reg.erase(it);
}

} // namespace traclens
