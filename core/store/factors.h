#pragma once
// TracIn last-layer factors for one example at one checkpoint.
//
// With logits z = fc(h), p = softmax(z), e = p − onehot(y), the cross-entropy gradient
// on fc.weight is e ⊗ h and on fc.bias is e, so for two examples
//   ∇ℓ·∇ℓ′ = (e·e′)(h·h′ + 1)        and        ‖∇ℓ‖² = ‖e‖²(‖h‖² + 1).
// TracIn(z, z′) = Σᵢ ηᵢ (eᵢ·e′ᵢ)(hᵢ·h′ᵢ + 1); self-influence(z) = Σᵢ ηᵢ ‖eᵢ‖²(‖hᵢ‖² + 1).
//
// Thread safety: pure functions.

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace traclens {

// From one row of logits (k values) and a label, computes probabilities p (softmax,
// numerically stable), the error vector e = p − onehot(label), the cross-entropy loss
// −log p[label] and the arg-max class. `probs` and `error` hold k floats each.
// Returns the predicted class.
inline int computeFactorRow(const float *logits, int k, int label, float *probs, float *error,
                            float *loss)
{
    float maxLogit = logits[0];
    int pred = 0;
    for (int j = 1; j < k; ++j) {
        if (logits[j] > maxLogit) {
            maxLogit = logits[j];
            pred = j;
        }
    }
    double sum = 0.0;
    for (int j = 0; j < k; ++j)
        sum += std::exp(double(logits[j]) - maxLogit);
    const double logSum = std::log(sum);
    for (int j = 0; j < k; ++j) {
        probs[j] = float(std::exp(double(logits[j]) - maxLogit - logSum));
        error[j] = probs[j] - (j == label ? 1.0f : 0.0f);
    }
    *loss = float(logSum - (double(logits[label]) - maxLogit));
    return pred;
}

// The factors of a stored row formed again with another label: e = p − onehot(label)
// and the loss −log p[label], from the probabilities alone (no inference). e is exactly
// what computeFactorRow() gives for that label (the same float subtraction). The loss is
// taken as −log1p(−Σ_{j≠label} p_j) when p[label] > ½, which keeps its relative error
// near float rounding (≈ 1e-7) even for a loss close to 0, and as −log p[label]
// otherwise; a probability that underflowed float (a loss beyond about 103) is held at
// the smallest positive float.
inline void relabelFactorRow(const float *probs, int k, int label, float *error, float *loss)
{
    double others = 0.0;
    for (int j = 0; j < k; ++j) {
        error[j] = probs[j] - (j == label ? 1.0f : 0.0f);
        if (j != label)
            others += double(probs[j]);
    }
    const double p = double(probs[label]);
    if (p > 0.5)
        *loss = float(-std::log1p(-others));
    else
        *loss = float(-std::log(std::max(p, 1.401298464324817e-45)));
}

inline double dot(const float *a, const float *b, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; ++i)
        s += double(a[i]) * b[i];
    return s;
}

// (e·e′)(h·h′ + 1) for one checkpoint.
inline double gradientDot(const float *e1, const float *h1, const float *e2, const float *h2, int k, int d)
{
    return dot(e1, e2, k) * (dot(h1, h2, d) + 1.0);
}

} // namespace traclens
