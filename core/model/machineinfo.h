#pragma once
// Which machine a measurement was taken on, for reports and benchmarks: the CPU model
// (/proc/cpuinfo "model name"), the logical cores, LibTorch's intra-op thread count in
// force, and the 1/5/15-minute load averages (/proc/loadavg) — a measurement on a busy
// machine reads differently from one on an idle machine.
//
// Thread safety: the functions read /proc and LibTorch's thread setting; call them from
// any thread. Failure: never fails; what cannot be read stays empty or −1 and
// describeMachine() says "unknown".

#include <array>
#include <string>

namespace traclens {

struct MachineInfo {
    std::string cpuModel;                 // "" when /proc/cpuinfo has no model name
    int logicalCores = 0;                 // std::thread::hardware_concurrency(); 0 when unknown
    int torchThreads = 0;                 // LibTorch's intra-op threads at the time of the call
    std::array<double, 3> loadStart{-1.0, -1.0, -1.0}; // 1, 5, 15 min; −1 when unknown
    std::array<double, 3> loadEnd{-1.0, -1.0, -1.0};
};

// The machine now: CPU model, cores, LibTorch threads, and the load averages as loadStart.
MachineInfo currentMachine();

// The 1, 5 and 15-minute load averages now; −1 each when unknown.
std::array<double, 3> loadAverages();

// One line for a report: "Intel(R) Xeon(R) … (2 logical cores), 2 LibTorch threads; load
// average 1.52 at the start, 3.10 at the end (1-minute)". The end is left out when unknown.
std::string describeMachine(const MachineInfo &machine);

} // namespace traclens
