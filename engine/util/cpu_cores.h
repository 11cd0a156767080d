// How many threads compute-bound work should use on this machine: the physical cores. The CPU
// backend's default thread count and the random-model generator both size their pools from it.
#pragma once

namespace hearth {

// Distinct physical cores (SMT siblings counted once); the logical CPU count when /proc/cpuinfo
// says nothing about cores; at least 1.
int cpu_physical_cores();

}  // namespace hearth
