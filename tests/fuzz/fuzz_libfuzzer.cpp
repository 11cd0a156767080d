// libFuzzer's start (-DHEARTH_LIBFUZZER=ON): with HEARTH_FUZZ_WRITE_SEEDS=DIR set, the built-in seeds
// are written to DIR first, so `fuzz_X CORPUS` can start from them:
//   HEARTH_FUZZ_WRITE_SEEDS=corpus fuzz_json corpus -max_total_time=600
#include <cstdlib>

#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    const char* dir = std::getenv("HEARTH_FUZZ_WRITE_SEEDS");
    if (!dir || !*dir) return 0;
    hearth::fuzz::write_seeds(dir);
    return 0;
}
