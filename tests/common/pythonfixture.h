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

// How a script ended and what it printed (stdout and stderr merged). exitCode is -1 when it
// crashed or did not finish; when it did not finish in time, `output` says so.
struct ScriptRun {
    bool finished = false;
    int exitCode = -1;
    QString output;
};

// Runs <source dir>/<script> with `args` under Debian's interpreter, waiting at most
// `timeoutMs` (the script is killed after that).
inline ScriptRun runPythonScript(const QString &script, const QStringList &args, int timeoutMs = 120000)
{
    QProcess process;
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(pythonPath(), QStringList{QStringLiteral(TRACLENS_SOURCE_DIR) + "/" + script} + args);
    if (!process.waitForFinished(timeoutMs)) {
        process.kill();
        process.waitForFinished();
        return {false, -1, script + " did not finish in " + QString::number(timeoutMs / 1000) + " s"};
    }
    return {true, process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1,
            QString::fromLocal8Bit(process.readAll())};
}

// Runs a fixture script that must succeed. Empty on success; otherwise what went wrong,
// with the script's merged output, for QVERIFY2.
inline QString runPythonFixture(const QString &script, const QStringList &args, int timeoutMs = 120000)
{
    const ScriptRun run = runPythonScript(script, args, timeoutMs);
    if (!run.finished)
        return run.output;
    if (run.exitCode == 0)
        return {};
    return script + " failed:\n" + run.output;
}

} // namespace traclens::testing
