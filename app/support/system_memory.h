// The machine's memory as /proc/meminfo tells it (MemAvailable counts reclaimable page cache, which
// is what an mmapped model competes for). 0 when unknown (non-Linux), which callers treat as
// "cannot tell" rather than "does not fit".
#pragma once

#include <cstdint>

namespace hearth::app {

struct SystemMemory {
    uint64_t totalBytes = 0;
    uint64_t availableBytes = 0;
};

SystemMemory readSystemMemory();

}  // namespace hearth::app
