// Single-file SD 1.x and 2.x checkpoints (engine/diffusion/single_file, Pipeline::open_single_file)
// against diffusers' own conversion: tests/engine/data/diffusion/single_file_names.tsv (tiny SD 1.5)
// and single_file_names_sd2.tsv (tiny SD-Turbo, OpenCLIP text encoder) hold the name and shape
// diffusers' scripts/convert_diffusers_to_original_stable_diffusion.py gives every tensor of the
// shared tiny pipelines, and for SD 2.x which third of the fused in_proj rows q, k and v become
// (made by tools/fixtures/make_single_file_names.py).
//   1. Hearth's name maps give the same original name (and row block) for every tensor.
//   2. A checkpoint written here from the pipeline's files under those names (and shapes: the
//      VAE's attention projections become 1×1 convolutions, q|k|v are concatenated) opens through
//      Pipeline::open and draws exactly the folder's picture (same weights, same arithmetic: bitwise).
// Files converted by the script itself gave the same raw output as the folders (closing notes of #15).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/diffusion/clip_text_encoder.h"
#include "engine/diffusion/diffusion_weights.h"
#include "engine/diffusion/pipeline.h"
#include "engine/diffusion/single_file.h"
#include "engine/quant/fp16.h"
#include "engine/safetensors/safetensors.h"
#include "tests/engine/fixture_path.h"
#include "tests/engine/safetensors_image.h"
#include "tests/engine/single_file_writer.h"
#include "tests/engine/testdata.h"

using namespace hearth;
namespace fs = std::filesystem;

namespace {

using Row = test::SingleFileRow;
using Family = test::SingleFileFamily;
constexpr Family kSd15 = test::kSd15File;
constexpr Family kSd2 = test::kSd2File;

std::vector<Row> read_names(const Family& fam) { return test::read_single_file_names(fam); }

std::string temp_path(const std::string& stem) {
    return (fs::temp_directory_path() / ("hearth-" + stem + "-" + std::to_string(::getpid()) + ".safetensors")).string();
}

void check_names(const Family& fam) {
    HEARTH_REQUIRE_TESTDATA(root);
    const std::string dir = root + "/diffusion/" + fam.pipeline;
    const std::vector<Row> rows = read_names(fam);
    ASSERT_GT(rows.size(), 900u);
    auto ucfg = diffusion::read_unet_config(dir + "/unet/config.json");
    auto vcfg = diffusion::read_vae_config(dir + "/vae/config.json");
    ASSERT_TRUE(ucfg.ok() && vcfg.ok());
    const diffusion::NameMap unet = diffusion::ldm_unet_names(*ucfg), vae = diffusion::ldm_vae_names(*vcfg),
                             text = fam.sd2 ? diffusion::open_clip_text_names() : diffusion::ldm_text_names();
    int checked = 0, fused = 0;
    for (const Row& r : rows) {
        const diffusion::NameMap& m = r.component == "unet" ? unet : r.component == "vae" ? vae : text;
        const diffusion::SourceName got = m(r.diffusers);
        EXPECT_EQ(got.name, r.original) << r.component << " " << r.diffusers;
        EXPECT_EQ(got.part, r.part) << r.diffusers;
        EXPECT_EQ(got.parts, r.parts) << r.diffusers;
        ++checked;
        fused += r.parts > 1;
    }
    std::printf("%s: %d names checked against diffusers' conversion (%d blocks of fused q|k|v)\n", fam.pipeline, checked, fused);
    EXPECT_EQ(checked, int(rows.size()));
    if (fam.sd2) EXPECT_GT(fused, 0);
}

TEST(SingleFile, NameMapsAgreeWithDiffusersConversion) { check_names(kSd15); }
TEST(SingleFile, OpenClipNameMapsAgreeWithDiffusersConversion) { check_names(kSd2); }

// The pipeline's tensors under the original names in a temporary file (single_file_writer.h); `edit`
// may change, add or drop tensors before they are written. Empty when it failed (reported).
using Edit = test::SingleFileEdit;
std::string write_checkpoint(const Family& fam, const std::string& dir, const std::string& stem, const Edit& edit = {}) {
    const std::string path = temp_path(stem);
    const std::string error = test::write_single_file_checkpoint(fam, dir, path, edit);
    EXPECT_EQ(error, "");
    return error.empty() ? path : "";
}

void expect_same_picture(const std::string& dir, const std::string& path, diffusion::DiffuseOptions o) {
    auto be = create_backend("cpu", 0, BackendOptions{2});
    ASSERT_TRUE(be.ok());
    auto folder = diffusion::Pipeline::open(dir, **be);
    ASSERT_TRUE(folder.ok()) << folder.message();
    auto single = diffusion::Pipeline::open(path, **be, dir);
    ASSERT_TRUE(single.ok()) << single.message();
    auto a = (*folder)->generate(o);
    auto b = (*single)->generate(o);
    ASSERT_TRUE(a.ok() && b.ok()) << a.message() << b.message();
    ASSERT_FALSE(a->rgb.empty());
    EXPECT_EQ(a->rgb, b->rgb);
    EXPECT_EQ(a->warnings, b->warnings);  // with --config nothing is assumed
}

TEST(SingleFile, CheckpointWrittenWithDiffusersNamesDrawsTheFoldersPicture) {
    HEARTH_REQUIRE_TESTDATA(root);
    const std::string dir = root + "/diffusion/tiny-sd15";
    const std::string path = write_checkpoint(kSd15, dir, "single-file");
    ASSERT_FALSE(path.empty());
    diffusion::DiffuseOptions o;
    o.prompt = "a red fox in the snow";
    o.negative = "blurry";
    o.width = o.height = 64;
    o.steps = 3;
    o.seed = 3;
    expect_same_picture(dir, path, o);

    // Without a configs folder: SD 1.5's shapes, which the tiny checkpoint does not have; the
    // message names the first tensor that differs. Without a tokenizer beside it: said first.
    auto be = create_backend("cpu", 0, BackendOptions{1});
    ASSERT_TRUE(be.ok());
    auto no_tok = diffusion::Pipeline::open(path, **be);
    EXPECT_NE(no_tok.message().find("carries no tokenizer"), std::string::npos) << no_tok.message();
    // SD 2.x configs (tiny SD-Turbo's, the same shapes) for an SD 1.x checkpoint.
    const std::string other = diffusion::Pipeline::open(path, **be, root + "/diffusion/tiny-sd-turbo").message();
    EXPECT_NE(other.find("an SD 1.x checkpoint (OpenAI CLIP text encoder, quick-GELU), but"), std::string::npos) << other;
    fs::remove(path);
}

// SD 2.x as Stability ships it: OpenCLIP's names with q|k|v fused, one resblock more than the
// config reads (SD 2.x stores 24 layers and conditions on the 23rd: diffusers ignores resblocks.23;
// here the tiny encoder's 3 of 4), and text_projection / logit_scale, which CLIPTextModel lacks.
void add_open_clip_extras(std::vector<test::StTensor>& tensors) {
    const std::string last = "cond_stage_model.model.transformer.resblocks.2.";
    std::vector<test::StTensor> extra;
    for (const test::StTensor& t : tensors)
        if (t.name.rfind(last, 0) == 0) {
            extra.push_back(t);
            extra.back().name.replace(last.size() - 2, 1, "3");  // the last layer again, as resblocks.3
        }
    EXPECT_EQ(extra.size(), 12u);  // ln_1, ln_2, in_proj, out_proj, c_fc, c_proj: weight and bias each
    extra.push_back({"cond_stage_model.model.text_projection", "F32", {64, 64}, std::string(64 * 64 * 4, '\0')});
    extra.push_back({"cond_stage_model.model.logit_scale", "F32", {}, std::string(4, '\0')});
    tensors.insert(tensors.end(), extra.begin(), extra.end());
}

TEST(SingleFile, OpenClipCheckpointDrawsTheFoldersPicture) {
    HEARTH_REQUIRE_TESTDATA(root);
    const std::string dir = root + "/diffusion/tiny-sd-turbo";
    const std::string path = write_checkpoint(kSd2, dir, "single-file-sd2", add_open_clip_extras);
    ASSERT_FALSE(path.empty());
    diffusion::DiffuseOptions o;
    o.prompt = "a red fox in the snow";
    o.width = 64;
    o.height = 48;
    o.steps = 1;
    o.guidance = 0.0f;  // SD-Turbo's way: one step, no unconditional pass
    o.seed = 5;
    expect_same_picture(dir, path, o);
    // Guided, with a negative prompt: the text encoder runs on both prompts.
    o.negative = "blurry, dark";
    o.guidance = 5.0f;
    o.steps = 3;
    o.width = o.height = 64;
    expect_same_picture(dir, path, o);
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
    EXPECT_NE(diffusion::Pipeline::open(write("notext.safetensors", {conv_in, {"cond_stage_model.foo.weight", "F32", {2, 2}, f32_4}}), **be)
                  .message().find("no text encoder Hearth knows"), std::string::npos);
    const test::StTensor inpaint{"model.diffusion_model.input_blocks.0.0.weight", "F32", {1, 9, 1, 1}, std::string(36, '\0')};
    EXPECT_NE(diffusion::Pipeline::open(write("inpaint.safetensors", {inpaint}), **be).message().find("9 input channels"), std::string::npos);
    fs::remove_all(tmp);
}

// The fused q|k|v rows read as three blocks in place, in each stored type: q, k, v of an
// in_proj_weight [3·2, 2] and in_proj_bias [6] holding 0..11 and 0..5.
TEST(SingleFile, FusedInProjSplitsIntoQkvInEveryDtype) {
    auto be = create_backend("cpu", 0, BackendOptions{1});
    ASSERT_TRUE(be.ok());
    for (const char* dtype : {"F32", "F16", "BF16"}) {
        auto bytes = [&](int n) {
            std::string b;
            for (int i = 0; i < n; ++i) {
                const float f = float(i);
                if (std::string(dtype) == "F32") b.append(reinterpret_cast<const char*>(&f), 4);
                else {
                    const uint16_t h = std::string(dtype) == "F16" ? f32_to_f16(f).bits : f32_to_bf16(f).bits;
                    b.append(reinterpret_cast<const char*>(&h), 2);
                }
            }
            return b;
        };
        const std::string path = temp_path(std::string("fused-") + dtype);
        std::ofstream(path, std::ios::binary)
            << test::safetensors_image({{"cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight", dtype, {6, 2}, bytes(12)},
                                        {"cond_stage_model.model.transformer.resblocks.0.attn.in_proj_bias", dtype, {6}, bytes(6)}});
        auto w = diffusion::DiffusionWeights::open_renamed(path, **be, diffusion::ClipTextEncoder::kOps, "text encoder",
                                                           diffusion::open_clip_text_names(), "text_model.");
        ASSERT_TRUE(w.ok()) << w.message();
        for (int part = 0; part < 3; ++part) {
            const std::string p = std::string("encoder.layers.0.self_attn.") + "qkv"[part] + "_proj.";
            Tensor m, b;
            ASSERT_TRUE((*w)->matrix(p + "weight", 2, 2, &m).ok()) << dtype << " " << p;
            ASSERT_TRUE((*w)->vector(p + "bias", 2, &b).ok()) << dtype << " " << p;
            std::vector<float> mv(4), bv(2);
            if (m.type == GgmlType::F16) {
                std::vector<f16_t> h(4);
                ASSERT_TRUE((*be)->download(m, h.data()).ok());
                for (int i = 0; i < 4; ++i) mv[size_t(i)] = f16_to_f32(h[size_t(i)]);
            } else {
                ASSERT_TRUE((*be)->download(m, mv.data()).ok());
            }
            ASSERT_TRUE((*be)->download(b, bv.data()).ok());
            for (int i = 0; i < 4; ++i) EXPECT_EQ(mv[size_t(i)], float(part * 4 + i)) << dtype << " " << p << i;  // small integers: exact in every type
            for (int i = 0; i < 2; ++i) EXPECT_EQ(bv[size_t(i)], float(part * 2 + i)) << dtype << " " << p << i;
        }
        // A fused tensor that is not three blocks of the width's rows: named, with both shapes.
        Tensor bad;
        const std::string msg = (*w)->matrix("encoder.layers.0.self_attn.q_proj.weight", 3, 2, &bad).message();
        EXPECT_NE(msg.find("in_proj_weight has shape [6, 2], the config says [9, 2] (3 fused blocks of rows)"), std::string::npos) << msg;
        fs::remove(path);
    }
}

// Without --config, a wrong config, a hostile fused tensor, truncations and flipped header bytes:
// each an error that says what is wrong, never a crash.
TEST(SingleFile, OpenClipCheckpointErrors) {
    HEARTH_REQUIRE_TESTDATA(root);
    const std::string dir = root + "/diffusion/tiny-sd-turbo";
    auto be = create_backend("cpu", 0, BackendOptions{1});
    ASSERT_TRUE(be.ok());
    const std::string path = write_checkpoint(kSd2, dir, "sd2-errors");
    ASSERT_FALSE(path.empty());

    // No --config: SD 2.1's configs are assumed, which the tiny checkpoint does not match; the
    // message says both. (Its tokenizer beside it, as the SD 1.x fallback reads it.)
    const fs::path alone = fs::temp_directory_path() / ("hearth-sd2-alone-" + std::to_string(::getpid()));
    fs::create_directories(alone);
    fs::copy(dir + "/tokenizer", alone / "tokenizer");
    fs::copy_file(path, alone / "model.safetensors");
    const std::string no_cfg = diffusion::Pipeline::open((alone / "model.safetensors").string(), **be).message();
    EXPECT_NE(no_cfg.find("the config says [49408, 1024]"), std::string::npos) << no_cfg;
    EXPECT_NE(no_cfg.find("read with SD 2.1's configs"), std::string::npos) << no_cfg;
    fs::remove_all(alone);

    // The configs of another model (tiny SD 1.5's, whose shapes are all the same).
    const std::string other = diffusion::Pipeline::open(path, **be, root + "/diffusion/tiny-sd15").message();
    EXPECT_NE(other.find("an SD 2.x checkpoint (OpenCLIP text encoder, GELU), but"), std::string::npos) << other;
    EXPECT_NE(other.find("says hidden_act quick_gelu: does"), std::string::npos) << other;

    // A fused in_proj with rows missing.
    const std::string hostile = write_checkpoint(kSd2, dir, "sd2-hostile", [](std::vector<test::StTensor>& tensors) {
        for (test::StTensor& t : tensors)
            if (t.name == "cond_stage_model.model.transformer.resblocks.1.attn.in_proj_weight") {
                t.shape = {190, 64};
                t.bytes.resize(190 * 64 * 4);
            }
    });
    const std::string h = diffusion::Pipeline::open(hostile, **be, dir).message();
    EXPECT_NE(h.find("resblocks.1.attn.in_proj_weight has shape [190, 64], the config says [192, 64] (3 fused blocks of rows)"),
              std::string::npos) << h;
    fs::remove(hostile);

    // Truncated anywhere: header length, header, data.
    const std::string image = test::read_file(path);
    ASSERT_GT(image.size(), 1000u);
    uint64_t header = 0;
    for (int i = 0; i < 8; ++i) header |= uint64_t(uint8_t(image[size_t(i)])) << (8 * i);
    const std::string cut = temp_path("sd2-cut");
    for (size_t n : {size_t(0), size_t(5), size_t(8), size_t(8 + header / 2), size_t(8 + header), image.size() / 2, image.size() - 1}) {
        { std::ofstream(cut, std::ios::binary | std::ios::trunc).write(image.data(), std::streamsize(n)); }
        auto p = diffusion::Pipeline::open(cut, **be, dir);
        EXPECT_FALSE(p.ok()) << "cut at " << n;
        EXPECT_FALSE(p.message().empty()) << "cut at " << n;
    }
    fs::remove(cut);

    // One byte of the header changed at a time (not a fuzzer, cheap insurance): opens or says why.
    std::string flipped = image;
    int refused = 0, opened = 0;
    for (size_t i = 8; i < 8 + header; i += std::max<size_t>(1, header / 41)) {
        const char keep = flipped[i];
        flipped[i] = char(keep ^ 0x5a);
        { std::ofstream(cut, std::ios::binary | std::ios::trunc).write(flipped.data(), std::streamsize(flipped.size())); }
        auto p = diffusion::Pipeline::open(cut, **be, dir);
        if (p.ok()) ++opened;
        else {
            ++refused;
            EXPECT_FALSE(p.message().empty());
        }
        flipped[i] = keep;
    }
    std::printf("flipped header bytes: %d refused, %d still opened\n", refused, opened);
    EXPECT_GT(refused, 0);
    fs::remove(cut);
    fs::remove(path);
}

}  // namespace
