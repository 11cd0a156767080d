// hearth-cli devices: every compute device of every backend built into this binary (CPU, reference,
// Vulkan, CUDA), with the index to pass as --backend B --device N, and a note for each backend that
// is present but unusable (no driver, too old …).
#include <cstdio>

#include "app/cli/command.h"
#include "engine/backend/backend.h"

namespace hearth::cli {
namespace {

std::string gib(uint64_t b) {
    char s[32];
    std::snprintf(s, sizeof s, "%.1f GiB", double(b) / double(1ull << 30));
    return s;
}

int run_devices(const std::vector<std::string>& argv) {
    Args args(argv);
    if (!args.unknown_option().empty()) return fail("devices: unknown option " + args.unknown_option());
    if (!args.positionals().empty()) return fail("devices: takes no arguments");
    const DeviceList list = list_devices();
    std::printf("%-10s %3s  %-18s %-40s %s\n", "BACKEND", "N", "TYPE", "NAME", "MEMORY");
    for (const auto& d : list.devices) {
        std::string mem = "-";
        if (d.memory_total) mem = gib(d.memory_total) + " (" + gib(d.memory_free) + " free)";
        std::printf("%-10s %3d  %-18s %-40s %s\n", d.backend.c_str(), d.index, d.type.c_str(), d.name.c_str(), mem.c_str());
        if (!d.driver.empty()) std::printf("%16s driver: %s\n", "", d.driver.c_str());
        if (!d.details.empty()) std::printf("%16s %s\n", "", d.details.c_str());
    }
    for (const auto& n : list.notes) std::printf("note: %s\n", n.c_str());
    std::printf("\nuse: --backend BACKEND --device N (auto picks CUDA, then a Vulkan GPU, then the CPU)\n");
    return 0;
}

const Registrar reg{"devices", "", "list compute devices of every backend (CPU, Vulkan, CUDA)", run_devices};

}  // namespace
}  // namespace hearth::cli
