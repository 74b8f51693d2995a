#pragma once
// Internal to core: number lists to and from JSON arrays, as the evaluation report and
// the calibration record store them.

#include <QJsonArray>
#include <QJsonValue>

#include <vector>

namespace traclens {

inline QJsonArray doublesJson(const std::vector<double> &v)
{
    QJsonArray a;
    for (double x : v)
        a.append(x);
    return a;
}

// A non-array gives an empty list; non-numbers read as 0.
inline std::vector<double> doublesFrom(const QJsonValue &v)
{
    std::vector<double> out;
    for (const auto &x : v.toArray())
        out.push_back(x.toDouble());
    return out;
}

} // namespace traclens
