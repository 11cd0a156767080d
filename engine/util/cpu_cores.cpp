#include "engine/util/cpu_cores.h"

#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>

namespace hearth {

int cpu_physical_cores() {
    // Distinct (physical id, core id) pairs; SMT siblings share a core and its caches/FMA units.
    std::ifstream f("/proc/cpuinfo");
    std::set<std::pair<int, int>> cores;
    std::string line;
    int phys = 0;
    while (std::getline(f, line)) {
        auto val = [&]() { return std::atoi(line.c_str() + line.find(':') + 1); };
        if (line.rfind("physical id", 0) == 0) phys = val();
        else if (line.rfind("core id", 0) == 0) cores.insert({phys, val()});
    }
    const int hw = int(std::thread::hardware_concurrency());
    if (!cores.empty()) return int(cores.size());
    return hw > 0 ? hw : 1;
}

}  // namespace hearth
