#pragma once
// An advisory, per-process writer lock on a project file: `<project>.lock` beside it,
// held with flock(LOCK_EX | LOCK_NB) while any ProjectDb of this process has the
// project open for writing. A second *process* that tries to open the project for
// writing gets Status::busy naming the holder's pid; read-only opens never take it.
//
// Why per process and not per connection: the GUI opens one connection on its main
// thread and another on its worker thread (one SQLite connection per thread), and both
// must be allowed to write. flock() locks belong to an open file description, so the
// process keeps exactly one descriptor per project and counts its holders.
//
// Why a separate file: closing any descriptor of the database file would drop SQLite's
// own POSIX locks on it. The lock file is left behind on release (deleting it would
// race with a process that has just opened it); a stale file holds no lock.
//
// When the lock file cannot be created (a read-only folder or file system), no lock is
// taken: such a project cannot be written by anyone, and the open goes on.
//
// Thread safety: acquire() and releasing a handle are safe from any thread.

#include "util/status.h"

#include <memory>
#include <string>

namespace traclens {

class ProjectLock {
public:
    // Takes (or shares, within this process) the writer lock of `projectPath`.
    // Busy: another process holds it. The lock is released when the last handle of
    // this process goes away.
    static Result<std::shared_ptr<ProjectLock>> acquire(const std::string &projectPath);

    // "<projectPath>.lock"
    static std::string lockPathFor(const std::string &projectPath);

    ~ProjectLock();
    ProjectLock(const ProjectLock &) = delete;
    ProjectLock &operator=(const ProjectLock &) = delete;

private:
    ProjectLock() = default;
    std::string m_key;
    int m_fd = -1;
};

} // namespace traclens
