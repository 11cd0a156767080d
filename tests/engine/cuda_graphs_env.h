// HEARTH_CUDA_GRAPHS set for the CUDA backends created in a scope (the backend reads it when it is
// created), the old value restored after: the CUDA tests compare graph replay with direct launches.
#pragma once

#include <cstdlib>
#include <string>

namespace hearth::test {

class CudaGraphsEnv {
public:
    explicit CudaGraphsEnv(bool on) {
        if (const char* v = std::getenv("HEARTH_CUDA_GRAPHS")) old_ = v, had_ = true;
        setenv("HEARTH_CUDA_GRAPHS", on ? "1" : "0", 1);
    }
    ~CudaGraphsEnv() {
        if (had_) setenv("HEARTH_CUDA_GRAPHS", old_.c_str(), 1);
        else unsetenv("HEARTH_CUDA_GRAPHS");
    }
    CudaGraphsEnv(const CudaGraphsEnv&) = delete;
    CudaGraphsEnv& operator=(const CudaGraphsEnv&) = delete;

private:
    std::string old_;
    bool had_ = false;
};

}  // namespace hearth::test
