#pragma once
// TracIn gradient vectors and their seeded random projection.
//
// An example's gradient vector is the concatenation over checkpoints i of
// √ηᵢ · (eᵢ ⊗ [hᵢ, 1]), of dimension F = C·K·(D+1); the dot product of two of them is
// exactly TracIn. For an index F is too long (1950 floats for Fashion-MNIST: 7.8 GB at
// a million examples), so it is projected to m dimensions with a random matrix P whose
// entries are N(0, 1)/√m (Gaussian) or ±√3/√m with probability 1/6 each and 0 otherwise
// (Achlioptas): E[⟨Px, Py⟩] = ⟨x, y⟩.
//
// Factored form. Row j of P restricted to checkpoint i is a K × (D+1) matrix Pᵢⱼ and
// (P g)ⱼ = Σᵢ √ηᵢ eᵢᵀ Pᵢⱼ [hᵢ, 1]; e ⊗ h is never formed. For a dense P no exact order of
// evaluation has fewer than m·K·(D+1) multiply-adds per checkpoint (every entry of P
// meets one product eₐh_b), so the cheapest exact way is to make those multiply-adds
// fast: contract h first, for a whole batch at once, as one matrix product
// [hᵢ, 1] (N × (D+1)) · Wᵢ ((D+1) × m·K) with √ηᵢ folded into Wᵢ, whose inner loop runs
// over m·K contiguous floats; then contract e (m·K per example). Projecting a batch
// costs N·C·m·K·(D+1) multiply-adds and N·m·K floats of scratch. A sparse (Achlioptas)
// P changes the distribution, not this cost, in this dense layout.
//
// m = 0 (or m ≥ F) means no projection: the exact gradient vector (dimension F).
//
// Thread safety: immutable after construction; project() is safe to call concurrently.

#include <cstdint>
#include <string>
#include <vector>

namespace traclens {

// Pca: the top principal directions of a sample of the project's gradient vectors
// (see principalDirections() in pcaprojection.h), given to the matrix constructor.
enum class ProjectionKind { Gaussian, Achlioptas, Pca };

const char *projectionKindName(ProjectionKind kind);

class TracInProjection {
public:
    // k classes, d embedding size, eta per checkpoint, target dimension m (0 = exact).
    TracInProjection(int k, int d, std::vector<double> eta, int m, ProjectionKind kind, uint64_t seed);
    // A given matrix: `rows` holds m × inputDim() floats, row j acting on the gradient
    // vector (√η already inside the vector, as above).
    TracInProjection(int k, int d, std::vector<double> eta, int m, const std::vector<float> &rows);

    int inputDim() const { return int(m_eta.size()) * m_k * (m_d + 1); }
    int outputDim() const { return m_out; }
    bool isExact() const { return m_exact; }

    // Projects one example: e[c] (K floats), h[c] (D floats) per checkpoint → out (m).
    void project(const float *const *e, const float *const *h, float *out) const;
    // Projects a batch of n examples whose factors are laid out per checkpoint as
    // n × K (eBatch[c]) and n × D (hBatch[c]); out is n × outputDim().
    void projectBatch(int n, const float *const *eBatch, const float *const *hBatch, float *out) const;

    // The dense matrix row j restricted to checkpoint c as K × (D+1) (tests).
    std::vector<float> denseRow(int j, int c) const;

private:
    int m_k, m_d, m_out;
    bool m_exact;
    std::vector<double> m_eta;
    // Per checkpoint: (D+1) × (m·K), W[b][j·K + a] = √η · P[j][a][b].
    std::vector<std::vector<float>> m_w;
};

} // namespace traclens
