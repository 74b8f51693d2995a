#pragma once
// Progress reporting and cooperative cancellation for long engine work.
// Every long call takes a ProgressFn (may be empty) and a cancel flag (may be null);
// it checks the flag between chunks and returns Status::cancelled() when set, with
// all finished chunks already committed.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace traclens {

struct Progress {
    std::string stage;   // "import", "train", "compute", ... shown to people
    std::string detail;  // e.g. "checkpoint 2 of 3", "epoch 1: loss 0.412"
    int64_t done = 0;
    int64_t total = 0;   // 0 when unknown
};

using ProgressFn = std::function<void(const Progress &)>;
using CancelFlag = std::atomic<bool>;

inline bool isCancelled(const CancelFlag *cancel)
{
    return cancel && cancel->load(std::memory_order_relaxed);
}

} // namespace traclens
