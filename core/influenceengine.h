#pragma once
// Exact TracIn and embedding queries over the training split, from factors held in
// memory (loaded once from the project).
//
//   TracIn(z, z′)       = Σᵢ ηᵢ (eᵢ·e′ᵢ)(hᵢ·h′ᵢ + 1)
//   self-influence(z)   = Σᵢ ηᵢ ‖eᵢ‖²(‖hᵢ‖² + 1)
//   normalised TracIn   = TracIn / √(self(z)·self(z′))  (a cosine)
//   embedding similarity = cos(h, h′) at the last checkpoint
//
// Proponents are the k training examples of highest score, opponents the k lowest;
// nearest / farthest the k most / least similar embeddings. The query example itself is
// excluded from its own lists.
//
// Ownership: the engine owns copies of the factors.
// Thread safety: after load(), all const methods are safe to call concurrently.
// Failure: load() fails when the model has no complete factors.

#include "computejob.h"
#include "projectdb.h"

#include <memory>

namespace traclens {

enum class Scoring { Raw, Normalised };

struct Neighbour {
    int64_t exampleId = 0;
    double score = 0.0;
};

struct QueryResult {
    int64_t queryId = -1;        // −1 for an image outside the project
    int labelUsed = 0;
    bool labelPredicted = false; // true when the query had no label and its prediction was used
    int predicted = 0;           // predicted class at the last checkpoint
    double selfInfluence = 0.0;
    Scoring scoring = Scoring::Raw;
    std::vector<Neighbour> proponents, opponents, nearest, farthest;
};

class InfluenceEngine {
public:
    ~InfluenceEngine();
    static Result<std::unique_ptr<InfluenceEngine>> load(ProjectDb &db, int64_t modelId,
                                                         const ProgressFn &progress = {});

    int64_t modelId() const;
    int numClasses() const;
    int embeddingDim() const;
    int numCheckpoints() const;
    // Training examples in the order the engine scores them.
    const std::vector<int64_t> &trainIds() const;
    // Row of an example (train or test) in the engine, or −1.
    int64_t rowOf(int64_t exampleId) const;

    // Any example of the project (train or test) with its stored factors.
    Result<QueryResult> query(int64_t exampleId, int k, Scoring scoring = Scoring::Raw) const;
    Result<QueryResult> query(const QueryFactors &factors, int k, Scoring scoring = Scoring::Raw) const;

    // TracIn of every training example against the query example, in trainIds() order.
    Result<std::vector<float>> scores(int64_t exampleId, Scoring scoring = Scoring::Raw) const;

    // Self-influence and last-checkpoint prediction / probability for any loaded example.
    double selfInfluence(int64_t exampleId) const;
    int predicted(int64_t exampleId) const;
    float predictedProbability(int64_t exampleId) const;
    float lossAtLast(int64_t exampleId) const;

private:
    InfluenceEngine();
    struct Impl;
    std::unique_ptr<Impl> d;
};

} // namespace traclens
