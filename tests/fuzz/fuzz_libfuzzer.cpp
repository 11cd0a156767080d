// libFuzzer's start (-DHEARTH_LIBFUZZER=ON): with HEARTH_FUZZ_WRITE_SEEDS=DIR set, the built-in seeds
// are written to DIR first, so `fuzz_X CORPUS` can start from them:
//   HEARTH_FUZZ_WRITE_SEEDS=corpus fuzz_json corpus -max_total_time=600
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    const char* dir = std::getenv("HEARTH_FUZZ_WRITE_SEEDS");
    if (!dir || !*dir) return 0;
    std::filesystem::create_directories(dir);
    const std::vector<std::string> seeds = hearth::fuzz::seeds();
    for (size_t i = 0; i < seeds.size(); ++i)
        std::ofstream(std::string(dir) + "/seed-" + std::to_string(i), std::ios::binary) << seeds[i];
    return 0;
}
