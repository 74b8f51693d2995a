#include "model/machineinfo.h"

#include <ATen/Parallel.h>

#include <cstdio>
#include <fstream>
#include <thread>

namespace traclens {

namespace {

std::string trimmed(const std::string &s)
{
    const size_t a = s.find_first_not_of(" \t\r\n");
    if (a == std::string::npos)
        return {};
    const size_t b = s.find_last_not_of(" \t\r\n");
    return s.substr(a, b - a + 1);
}

std::string cpuModelName()
{
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        // x86 says "model name"; some ARM kernels only give "Hardware" or "Processor".
        if (line.rfind("model name", 0) == 0 || line.rfind("Hardware", 0) == 0) {
            const size_t colon = line.find(':');
            if (colon != std::string::npos)
                return trimmed(line.substr(colon + 1));
        }
    }
    return {};
}

std::string load(double v)
{
    char s[32];
    std::snprintf(s, sizeof s, "%.2f", v);
    return s;
}

} // namespace

std::array<double, 3> loadAverages()
{
    std::array<double, 3> out{-1.0, -1.0, -1.0};
    std::ifstream in("/proc/loadavg");
    double a, b, c;
    if (in >> a >> b >> c)
        out = {a, b, c};
    return out;
}

MachineInfo currentMachine()
{
    MachineInfo m;
    m.cpuModel = cpuModelName();
    m.logicalCores = int(std::thread::hardware_concurrency());
    m.torchThreads = at::get_num_threads();
    m.loadStart = loadAverages();
    return m;
}

std::string describeMachine(const MachineInfo &m)
{
    std::string s = m.cpuModel.empty() ? std::string("unknown CPU") : m.cpuModel;
    s += " (" + (m.logicalCores > 0 ? std::to_string(m.logicalCores) : std::string("unknown number of"))
         + " logical cores), ";
    s += (m.torchThreads > 0 ? std::to_string(m.torchThreads) : std::string("unknown")) + " LibTorch threads";
    if (m.loadStart[0] >= 0) {
        s += "; load average (1-minute) " + load(m.loadStart[0]) + " at the start";
        if (m.loadEnd[0] >= 0)
            s += ", " + load(m.loadEnd[0]) + " at the end";
    }
    return s;
}

} // namespace traclens
