// Writes a single-file SD checkpoint (original CompVis/LDM key names) from one of the shared tiny
// diffusers pipelines, under the names and shapes diffusers' own conversion gives each tensor
// (tests/engine/data/diffusion/single_file_names*.tsv, made by tools/fixtures/make_single_file_names.py).
// Shared by the engine's single-file tests and the app's (no test framework here: errors are returned).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tests/engine/safetensors_image.h"

namespace hearth::test {

struct SingleFileRow {
    std::string component, diffusers, original;
    std::vector<int64_t> shape;
    int part = 0, parts = 1;  // the block of the original tensor's rows (SD 2.x's fused q|k|v)
};

struct SingleFileFamily {
    const char* pipeline;  // under testdata/diffusion
    const char* names;     // under tests/engine/data/diffusion
    bool sd2;
};
constexpr SingleFileFamily kSd15File{"tiny-sd15", "single_file_names.tsv", false};
constexpr SingleFileFamily kSd2File{"tiny-sd-turbo", "single_file_names_sd2.tsv", true};

// The rows of fam's names file (empty when it cannot be read).
std::vector<SingleFileRow> read_single_file_names(const SingleFileFamily& fam);

// The pipeline folder `dir`'s tensors under the original names, written to `path`: each row's data
// in the row's shape, the blocks of one fused tensor concatenated in their order. `edit` may change,
// add or drop tensors before they are written. Empty on success, else what went wrong.
using SingleFileEdit = std::function<void(std::vector<StTensor>&)>;
std::string write_single_file_checkpoint(const SingleFileFamily& fam, const std::string& dir, const std::string& path,
                                         const SingleFileEdit& edit = {});

}  // namespace hearth::test
