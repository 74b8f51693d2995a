#pragma once
// A test whose prerequisite (an optional package, an installed data set) is missing skips
// on a developer's machine but FAILS when the environment variable CI is set: CI installs
// every prerequisite, so a skip there would be a test that silently stopped testing.
//
// Usage, inside a test function (it returns from it like QSKIP / QFAIL):
//     REQUIRE_OR_SKIP(QFileInfo(dir).isDir(), "Fashion-MNIST is not installed at " + dir);
// `what` is anything QString can be built from; it says what is missing.

#include <QString>
#include <QtTest>

#define REQUIRE_OR_SKIP(ok, what)                                                                                  \
    do {                                                                                                           \
        if (!(ok)) {                                                                                               \
            const QString requireOrSkipWhat_ = QString(what);                                                     \
            if (qEnvironmentVariableIsSet("CI"))                                                                   \
                QFAIL(qPrintable(requireOrSkipWhat_ + QStringLiteral(" (CI is set: a missing prerequisite fails)"))); \
            QSKIP(qPrintable(requireOrSkipWhat_));                                                                 \
        }                                                                                                          \
    } while (false)
