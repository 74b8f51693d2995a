#pragma once
// The bytes a distributed compute sends: the plan (without its chunks), one chunk's
// examples, and one chunk's factor rows. Raw little-endian values, floats bit for bit, so
// the coordinator commits exactly the numbers the worker computed. Every node must share
// the byte order and float format (all x86-64 and ARM64 machines do).
//
// Thread safety: pure functions. Failure: decoding checks every length against the bytes
// left and returns Corruption instead of reading past the end.

#include "influence/computejob.h"

#include <cstdint>
#include <vector>

namespace traclens::wire {

using Bytes = std::vector<uint8_t>;

// The plan's fields except `chunks`; `chunkCount` is sent with it.
Bytes encodePlanHeader(const ComputePlan &plan);
Result<ComputePlan> decodePlanHeader(const Bytes &bytes, int64_t *chunkCount);

Bytes encodeChunk(const ComputeChunk &chunk);
Result<ComputeChunk> decodeChunk(const Bytes &bytes);

// `chunkIndex` is the chunk's position in the plan.
Bytes encodeFactors(int64_t chunkIndex, const ChunkFactors &rows);
Result<ChunkFactors> decodeFactors(const uint8_t *data, size_t size, int64_t *chunkIndex);

} // namespace traclens::wire
