#include "evaluation/detectionmetrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace traclens {

int64_t reviewCount(int64_t n, double fraction)
{
    if (!(fraction > 0.0) || n <= 0)
        return 0;
    // A tiny epsilon so that 0.1 · 30 (2.9999…) reviews 3, as a person would count.
    const auto k = int64_t(std::floor(fraction * double(n) + 0.5 + 1e-9));
    return std::clamp<int64_t>(k, 0, n);
}

double recallAtFraction(const std::vector<char> &positiveInOrder, double fraction)
{
    const int64_t total = std::count_if(positiveInOrder.begin(), positiveInOrder.end(), [](char c) { return c != 0; });
    if (total == 0)
        return 0.0;
    const int64_t k = reviewCount(int64_t(positiveInOrder.size()), fraction);
    const int64_t found = std::count_if(positiveInOrder.begin(), positiveInOrder.begin() + k,
                                        [](char c) { return c != 0; });
    return double(found) / double(total);
}

std::vector<std::pair<double, double>> recallCurve(const std::vector<char> &positiveInOrder, int points)
{
    const auto n = int64_t(positiveInOrder.size());
    std::vector<int64_t> cumulative(size_t(n) + 1, 0);
    for (int64_t i = 0; i < n; ++i)
        cumulative[size_t(i) + 1] = cumulative[size_t(i)] + (positiveInOrder[size_t(i)] ? 1 : 0);
    const int64_t total = cumulative.back();
    std::vector<std::pair<double, double>> out;
    points = std::max(1, points);
    for (int p = 0; p <= points; ++p) {
        const int64_t k = n * p / points;
        out.emplace_back(n > 0 ? double(k) / double(n) : 0.0,
                         total > 0 ? double(cumulative[size_t(k)]) / double(total) : 0.0);
    }
    return out;
}

double rocAuc(const std::vector<double> &scores, const std::vector<char> &positive)
{
    const size_t n = std::min(scores.size(), positive.size());
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t(0));
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
    // Ranks 1..n ascending; a run of equal scores shares the mean of its ranks.
    double positiveRankSum = 0.0;
    int64_t positives = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && scores[order[j]] == scores[order[i]])
            ++j;
        const double midRank = (double(i + 1) + double(j)) / 2.0;
        for (size_t r = i; r < j; ++r) {
            if (positive[order[r]]) {
                positiveRankSum += midRank;
                ++positives;
            }
        }
        i = j;
    }
    const int64_t negatives = int64_t(n) - positives;
    if (positives == 0 || negatives == 0)
        return 0.5;
    const double u = positiveRankSum - double(positives) * double(positives + 1) / 2.0;
    return u / (double(positives) * double(negatives));
}

} // namespace traclens
