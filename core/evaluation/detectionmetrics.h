#pragma once
// The arithmetic of mislabel detection: how many of the wrong labels a person finds
// after reviewing a ranking's top fraction, and how well a score separates wrong labels
// from right ones.
//
// Conventions (the tests check exact values):
// - Reviewing a fraction f of n examples means the first reviewCount(n, f) =
//   ⌊f·n + ½⌋ (clamped to [0, n]) entries of the ranking.
// - Recall at f = (positives among those) / (all positives); 0 when there are none.
// - ROC AUC = P(score of a random positive > score of a random negative), ties counting
//   ½ (the Mann–Whitney statistic from mid-ranks); 0.5 when either class is empty.
//
// Thread safety: pure functions.

#include <cstdint>
#include <utility>
#include <vector>

namespace traclens {

int64_t reviewCount(int64_t n, double fraction);

// `positiveInOrder[r]` is non-zero when the example ranked r (0 = first reviewed) is a
// positive (a wrong label).
double recallAtFraction(const std::vector<char> &positiveInOrder, double fraction);

// (fraction reviewed, recall) at points+1 evenly spaced review counts from 0 to n,
// for plots.
std::vector<std::pair<double, double>> recallCurve(const std::vector<char> &positiveInOrder, int points);

// `scores[i]` and `positive[i]` describe example i; higher scores should mean positive.
double rocAuc(const std::vector<double> &scores, const std::vector<char> &positive);

} // namespace traclens
