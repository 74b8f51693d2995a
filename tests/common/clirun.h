#pragma once
// Runs traclens-cli to completion for tests that drive the command line: exit code,
// stdout and stderr. The test target defines TRACLENS_CLI (the executable's path).

#include <QByteArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStringList>

#ifndef TRACLENS_CLI
#error "define TRACLENS_CLI (the traclens-cli path) for this test target"
#endif

namespace traclens::testing {

struct CliRun {
    int exitCode = -1;
    QByteArray out, err;
    // stdout parsed as a JSON object (commands run with --json).
    QJsonObject json() const { return QJsonDocument::fromJson(out).object(); }
};

inline CliRun runCli(const QStringList &args, int timeoutMs = 240000)
{
    QProcess p;
    p.start(QStringLiteral(TRACLENS_CLI), args);
    p.waitForFinished(timeoutMs);
    return {p.exitCode(), p.readAllStandardOutput(), p.readAllStandardError()};
}

} // namespace traclens::testing
