#include "engine/util/process_memory.h"

#include <fstream>
#include <string>

namespace hearth {

ProcessMemory read_process_memory() {
    ProcessMemory r;
    std::ifstream f("/proc/self/status");
    std::string key, unit;
    double kb = 0;
    while (f >> key) {
        if (key == "VmRSS:" || key == "RssAnon:" || key == "RssFile:" || key == "VmHWM:") {
            f >> kb >> unit;
            if (key == "VmRSS:") r.total_mb = kb / 1024;
            else if (key == "RssAnon:") r.anon_mb = kb / 1024;
            else if (key == "RssFile:") r.file_mb = kb / 1024;
            else r.hwm_mb = kb / 1024;
        } else {
            f.ignore(1 << 20, '\n');
        }
    }
    return r;
}

}  // namespace hearth
