#include "englishplurals.h"

#include <cstring>

namespace traclens {

QString EnglishPlurals::translate(const char *, const char *sourceText, const char *, int n) const
{
    // A null string tells Qt "not translated here": the source text (or another translator)
    // is used.
    if (n < 0 || !sourceText || !std::strstr(sourceText, "(s)"))
        return {};
    return QString::fromUtf8(sourceText).replace(QStringLiteral("(s)"), n == 1 ? QString() : QStringLiteral("s"));
}

} // namespace traclens
