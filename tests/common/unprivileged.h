#pragma once
// Runs part of a test as an unprivileged user (nobody, 65534) when the test runs as root,
// as CI does: root ignores file permissions, so a test of what happens on an unreadable
// file would otherwise test nothing. Both the real and the effective uid change — access()
// checks the real one — and the saved uid stays root, so the uids go back to root when the
// scope ends, even when a QVERIFY returns early. Not root: does nothing.
//
// Files the scope must reach need to be reachable by "nobody" (e.g. chmod 0755 the
// QTemporaryDir, which is created 0700); set permissions before entering, as root.

#include <sys/types.h>
#include <unistd.h>

namespace traclens::testing {

class UnprivilegedScope {
public:
    static constexpr uid_t kNobody = 65534;

    UnprivilegedScope() : m_wasRoot(::geteuid() == 0) { m_ok = !m_wasRoot || ::setresuid(kNobody, kNobody, 0) == 0; }
    ~UnprivilegedScope()
    {
        if (m_wasRoot && m_ok)
            [[maybe_unused]] const int r = ::setresuid(0, 0, 0);
    }
    UnprivilegedScope(const UnprivilegedScope &) = delete;
    UnprivilegedScope &operator=(const UnprivilegedScope &) = delete;

    // False when dropping the uid failed (the test then checks nothing and should fail).
    bool ok() const { return m_ok; }

private:
    bool m_wasRoot;
    bool m_ok = true;
};

} // namespace traclens::testing
