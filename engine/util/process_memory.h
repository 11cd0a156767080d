// The process's resident memory as Linux reports it in /proc/self/status: total (VmRSS), anonymous
// (RssAnon: heap and other memory the process wrote; what a conversion or a model load really
// costs), file-backed (RssFile: mapped model pages, which the kernel can drop and re-read) and the
// peak total (VmHWM, which counts mapped pages too). All zero where /proc is absent.
#pragma once

namespace hearth {

struct ProcessMemory {
    double total_mb = 0, anon_mb = 0, file_mb = 0, hwm_mb = 0;
};

ProcessMemory read_process_memory();

}  // namespace hearth
