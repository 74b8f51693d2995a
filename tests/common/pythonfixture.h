#pragma once
// Python fixtures for tests: Debian's interpreter (python3-torch and friends) makes
// TorchScript checkpoints, image files and autograd references at test time.
// Header-only; needs TRACLENS_PYTHON and TRACLENS_SOURCE_DIR (tests/CMakeLists.txt).

#include <QProcess>
#include <QString>
#include <QStringList>

namespace traclens::testing {

inline QString pythonPath()
{
    return QStringLiteral(TRACLENS_PYTHON);
}

// Whether the interpreter can run `import <modules>` ("torch, torchvision").
inline bool pythonImports(const QString &modules)
{
    QProcess probe;
    probe.start(pythonPath(), {"-c", "import " + modules});
    return probe.waitForFinished(60000) && probe.exitStatus() == QProcess::NormalExit && probe.exitCode() == 0;
}

// Runs <source dir>/<script> with `args`. Empty on success; otherwise what went wrong,
// with the script's merged output, for QVERIFY2.
inline QString runPythonFixture(const QString &script, const QStringList &args, int timeoutMs = 120000)
{
    QProcess fixture;
    fixture.setProcessChannelMode(QProcess::MergedChannels);
    fixture.start(pythonPath(), QStringList{QStringLiteral(TRACLENS_SOURCE_DIR) + "/" + script} + args);
    if (!fixture.waitForFinished(timeoutMs)) {
        fixture.kill();
        fixture.waitForFinished();
        return script + " did not finish in " + QString::number(timeoutMs / 1000) + " s";
    }
    if (fixture.exitStatus() != QProcess::NormalExit || fixture.exitCode() != 0)
        return script + " failed:\n" + QString::fromLocal8Bit(fixture.readAll());
    return {};
}

} // namespace traclens::testing
