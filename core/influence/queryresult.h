#pragma once
// What a TracIn / embedding query answers (InfluenceIndex::query), and how it was found.
//
//   TracIn(z, z′)        = Σᵢ ηᵢ (eᵢ·e′ᵢ)(hᵢ·h′ᵢ + 1)
//   normalised TracIn    = TracIn / √(self(z)·self(z′))  (a cosine)
//   embedding similarity = cos(h, h′) at the last checkpoint
//
// Proponents are the k training examples of highest score, opponents the k lowest;
// nearest / farthest the k most / least similar embeddings. A training example is left
// out of its own lists unless the caller asks for it (SelfMatch::Include); `selfExcluded`
// says whether that happened, so every front end can state it. Every listed score is exact (double precision over the stored
// factors); `fromIndex` says whether the candidates came from an index (which may miss a
// true neighbour) or from a scan of every training example, `factorPrecision` in which
// precision the factors are held.
//
// Thread safety: plain values.

#include <cstdint>
#include <vector>

namespace traclens {

enum class Scoring { Raw, Normalised };

// Whether a training example queried by id may appear in its own lists. Excluded by
// default: it would top its proponents and nearest neighbours and tell nothing new.
enum class SelfMatch { Exclude, Include };

struct Neighbour {
    int64_t exampleId = 0;
    double score = 0.0;
};

struct QueryResult {
    int64_t queryId = -1;        // −1 for an image outside the project
    int labelUsed = 0;           // the label the query's e was formed with
    bool labelPredicted = false; // true when the query had no label and its prediction was used
    int predicted = 0;           // predicted class at the last checkpoint
    double selfInfluence = 0.0;
    Scoring scoring = Scoring::Raw;
    bool fromIndex = false;      // candidates from the index rather than a full scan
    bool float16Factors = false; // factors held in float16 (the user's choice), else float32
    bool selfExcluded = false;   // the query is a training example and was left out of its own lists
    std::vector<Neighbour> proponents, opponents, nearest, farthest;
};

// "exact search, float32 factors" / "index search (cells), float32 factors": what every
// front end prints beside a list, so the precision and the search are never implied.
inline const char *searchKindName(const QueryResult &r) { return r.fromIndex ? "index" : "exact"; }
inline const char *precisionName(const QueryResult &r) { return r.float16Factors ? "float16" : "float32"; }

} // namespace traclens
