// Single-file SD 1.x checkpoints (engine/diffusion/single_file, Pipeline::open_single_file)
// against diffusers' own conversion: tests/engine/data/diffusion/single_file_names.tsv holds the
// name and shape diffusers' scripts/convert_diffusers_to_original_stable_diffusion.py gives every
// tensor of the shared tiny SD 1.5 pipeline (made by tools/fixtures/make_single_file_names.py).
//   1. Hearth's name maps give the same original name for every tensor the components read.
//   2. A checkpoint written here from the pipeline's files under those names (and shapes: the
//      VAE's attention projections become 1×1 convolutions) opens through Pipeline::open and
//      draws exactly the folder's picture (same weights, same arithmetic: bitwise).
// A file converted by the script itself gave the same PNG bytes as the folder (closing note of #15).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/diffusion/pipeline.h"
#include "engine/diffusion/single_file.h"
#include "engine/safetensors/safetensors.h"
#include "tests/engine/fixture_path.h"
#include "tests/engine/safetensors_image.h"
#include "tests/engine/testdata.h"

using namespace hearth;
namespace fs = std::filesystem;

namespace {

struct Row { std::string component, diffusers, original; std::vector<int64_t> shape; };

std::vector<Row> read_names() {
    std::ifstream f(test::fixture_path("diffusion/single_file_names.tsv"));
    std::vector<Row> rows;
    std::string line;
    while (std::getline(f, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream in(line);
        Row r;
        std::string shape;
        std::getline(in, r.component, '\t');
        std::getline(in, r.diffusers, '\t');
        std::getline(in, r.original, '\t');
        std::getline(in, shape);
        std::istringstream s(shape);
        for (std::string d; std::getline(s, d, ',');) r.shape.push_back(std::stoll(d));
        rows.push_back(r);
    }
    return rows;
}

const char* kComponentFile(const std::string& c) {
    return c == "unet" ? "unet/diffusion_pytorch_model.safetensors"
           : c == "vae" ? "vae/diffusion_pytorch_model.safetensors" : "text_encoder/model.safetensors";
}

TEST(SingleFile, NameMapsAgreeWithDiffusersConversion) {
    HEARTH_REQUIRE_TESTDATA(root);
    const std::string dir = root + "/diffusion/tiny-sd15";
    const std::vector<Row> rows = read_names();
    ASSERT_GT(rows.size(), 900u);
    auto ucfg = diffusion::read_unet_config(dir + "/unet/config.json");
    auto vcfg = diffusion::read_vae_config(dir + "/vae/config.json");
    ASSERT_TRUE(ucfg.ok() && vcfg.ok());
    const diffusion::NameMap unet = diffusion::ldm_unet_names(*ucfg), vae = diffusion::ldm_vae_names(*vcfg),
                             text = diffusion::ldm_text_names();
    int checked = 0;
    for (const Row& r : rows) {
        const diffusion::NameMap& m = r.component == "unet" ? unet : r.component == "vae" ? vae : text;
        EXPECT_EQ(m(r.diffusers), r.original) << r.component << " " << r.diffusers;
        ++checked;
    }
    std::printf("%d names checked against diffusers' conversion\n", checked);
    EXPECT_EQ(checked, int(rows.size()));
}

TEST(SingleFile, CheckpointWrittenWithDiffusersNamesDrawsTheFoldersPicture) {
    HEARTH_REQUIRE_TESTDATA(root);
    const std::string dir = root + "/diffusion/tiny-sd15";
    std::map<std::pair<std::string, std::string>, const Row*> by_name;
    const std::vector<Row> rows = read_names();
    for (const Row& r : rows) by_name[{r.component, r.diffusers}] = &r;

    std::vector<test::StTensor> tensors;
    for (const char* comp : {"unet", "vae", "text_encoder"}) {
        auto f = safetensors::File::open(dir + "/" + kComponentFile(comp));
        ASSERT_TRUE(f.ok()) << f.message();
        for (const safetensors::TensorInfo& t : (*f)->tensors()) {
            auto it = by_name.find({comp, t.name});
            ASSERT_NE(it, by_name.end()) << comp << " " << t.name << " has no name in diffusers' conversion";
            tensors.push_back({it->second->original, safetensors::dtype_name(t.dtype), it->second->shape,
                               std::string(reinterpret_cast<const char*>(t.data), t.n_bytes)});
        }
    }
    const std::string path = (fs::temp_directory_path() / ("hearth-single-file-" + std::to_string(::getpid()) + ".safetensors")).string();
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        const std::string image = test::safetensors_image(tensors);
        out.write(image.data(), std::streamsize(image.size()));
        ASSERT_TRUE(out.good());
    }
    auto be = create_backend("cpu", 0, BackendOptions{2});
    ASSERT_TRUE(be.ok());
    auto folder = diffusion::Pipeline::open(dir, **be);
    ASSERT_TRUE(folder.ok()) << folder.message();
    auto single = diffusion::Pipeline::open(path, **be, dir);
    ASSERT_TRUE(single.ok()) << single.message();
    diffusion::DiffuseOptions o;
    o.prompt = "a red fox in the snow";
    o.negative = "blurry";
    o.width = o.height = 64;
    o.steps = 3;
    o.seed = 3;
    auto a = (*folder)->generate(o);
    auto b = (*single)->generate(o);
    ASSERT_TRUE(a.ok() && b.ok()) << a.message() << b.message();
    EXPECT_EQ(a->rgb, b->rgb);

    // Without a configs folder: SD 1.5's shapes, which the tiny checkpoint does not have; the
    // message names the first tensor that differs. Without a tokenizer beside it: said first.
    auto no_tok = diffusion::Pipeline::open(path, **be);
    EXPECT_NE(no_tok.message().find("carries no tokenizer"), std::string::npos) << no_tok.message();
    fs::remove(path);
}

TEST(SingleFile, OtherCheckpointsAreClearErrors) {
    HEARTH_REQUIRE_TESTDATA(root);
    auto be = create_backend("cpu", 0, BackendOptions{1});
    ASSERT_TRUE(be.ok());
    const std::string tmp = (fs::temp_directory_path() / ("hearth-sf-" + std::to_string(::getpid()))).string();
    fs::create_directories(tmp);
    auto write = [&](const std::string& name, const std::vector<test::StTensor>& t) {
        std::ofstream(tmp + "/" + name, std::ios::binary) << test::safetensors_image(t);
        return tmp + "/" + name;
    };
    const std::string f32_4(16, '\0');
    EXPECT_NE(diffusion::Pipeline::open(write("m.ckpt", {}), **be).message().find("never unpickles"), std::string::npos);
    EXPECT_NE(diffusion::Pipeline::open(write("lm.safetensors", {{"model.embed_tokens.weight", "F32", {2, 2}, f32_4}}), **be)
                  .message().find("original key names"), std::string::npos);
    const test::StTensor conv_in{"model.diffusion_model.input_blocks.0.0.weight", "F32", {1, 4, 1, 1}, f32_4};
    EXPECT_NE(diffusion::Pipeline::open(write("sd2.safetensors", {conv_in, {"cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight", "F32", {2, 2}, f32_4}}), **be)
                  .message().find("SD 2.x"), std::string::npos);
    const test::StTensor inpaint{"model.diffusion_model.input_blocks.0.0.weight", "F32", {1, 9, 1, 1}, std::string(36, '\0')};
    EXPECT_NE(diffusion::Pipeline::open(write("inpaint.safetensors", {inpaint}), **be).message().find("9 input channels"), std::string::npos);
    fs::remove_all(tmp);
}

}  // namespace
