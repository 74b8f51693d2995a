#pragma once
// How a class is named where its number is shown too (relabel buttons and menus, the
// browser's class choices): "3 · Dress". A class whose name is its own number, as in an
// image folder of digits ("0" … "9"), is named once: "3", not "3 · 3".
//
// Thread safety: pure functions.

#include <QString>

namespace traclens {

// `index`, `separator` and `name` ("3 · Dress"); `name` alone when it is the number itself.
inline QString numberedClassName(int index, const QString &name, const QString &separator = QStringLiteral(" · "))
{
    const QString number = QString::number(index);
    return name == number ? name : number + separator + name;
}

// The text of class `classIndex`'s relabel button: its number key, then its name, for the
// first ten classes (keys 0–9); from the eleventh on, the name alone (no key).
inline QString relabelButtonText(int classIndex, const QString &name)
{
    return classIndex < 10 ? numberedClassName(classIndex, name, QStringLiteral("  ")) : name;
}

} // namespace traclens
