#pragma once
// Internal to core (never included by a public header): the row-range loop that the
// exact scans, the index and k-means split over threads.

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace traclens {

// Runs fn(begin, end) over [0, n) split into `threads` contiguous ranges, one per thread
// (the caller's thread takes the first). Fewer than `minRows` rows, or one thread, run on
// the caller only: starting threads costs more than it saves there. fn must be safe to
// call concurrently on disjoint ranges.
template<typename Fn>
void parallelRows(int64_t n, int threads, int64_t minRows, Fn fn)
{
    if (n < minRows || threads < 2) {
        fn(int64_t(0), n);
        return;
    }
    std::vector<std::thread> pool;
    const int64_t step = (n + threads - 1) / threads;
    for (int p = 1; p < threads; ++p) {
        const int64_t b = p * step, e = std::min(n, b + step);
        if (b < e)
            pool.emplace_back([=] { fn(b, e); });
    }
    fn(int64_t(0), std::min(n, step));
    for (auto &t : pool)
        t.join();
}

} // namespace traclens
