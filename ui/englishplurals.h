#pragma once
// English plural forms for the UI's "%n file(s)" strings. Qt picks a plural form for %n only
// through an installed translator; with none (the app ships in English only) "(s)" would be
// shown as it is, e.g. "1 file(s) skipped". This translator answers only strings that carry
// %n and "(s)": "(s)" becomes "" for n = 1 and "s" otherwise, and Qt then puts the number in.
// Every other string falls through to the source text or a later-installed translator.
//
// Ownership: the caller owns it and installs it with QCoreApplication::installTranslator();
// it must outlive its installation (its destructor removes it). Thread safety: as
// QCoreApplication::translate(), which may be called from any thread.

#include <QTranslator>

namespace traclens {

class EnglishPlurals : public QTranslator {
    Q_OBJECT
public:
    using QTranslator::QTranslator;

    QString translate(const char *context, const char *sourceText, const char *disambiguation = nullptr,
                      int n = -1) const override;
    bool isEmpty() const override { return false; }
};

} // namespace traclens
