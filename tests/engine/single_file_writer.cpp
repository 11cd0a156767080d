#include "tests/engine/single_file_writer.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "engine/safetensors/safetensors.h"
#include "tests/engine/fixture_path.h"

namespace hearth::test {

namespace {
const char* component_file(const std::string& c) {
    return c == "unet" ? "unet/diffusion_pytorch_model.safetensors"
           : c == "vae" ? "vae/diffusion_pytorch_model.safetensors" : "text_encoder/model.safetensors";
}
}  // namespace

std::vector<SingleFileRow> read_single_file_names(const SingleFileFamily& fam) {
    std::ifstream f(fixture_path((std::string("diffusion/") + fam.names).c_str()));
    std::vector<SingleFileRow> rows;
    std::string line;
    while (std::getline(f, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream in(line);
        SingleFileRow r;
        std::string shape;
        std::getline(in, r.component, '\t');
        std::getline(in, r.diffusers, '\t');
        std::getline(in, r.original, '\t');
        std::getline(in, shape, '\t');
        std::istringstream s(shape);
        for (std::string d; std::getline(s, d, ',');) r.shape.push_back(std::stoll(d));
        std::string block;
        if (std::getline(in, block) && !block.empty()) std::sscanf(block.c_str(), "%d/%d", &r.part, &r.parts);
        rows.push_back(r);
    }
    return rows;
}

std::string write_single_file_checkpoint(const SingleFileFamily& fam, const std::string& dir, const std::string& path,
                                         const SingleFileEdit& edit) {
    std::map<std::pair<std::string, std::string>, const SingleFileRow*> by_name;
    const std::vector<SingleFileRow> rows = read_single_file_names(fam);
    if (rows.empty()) return std::string("cannot read the names file ") + fam.names;
    for (const SingleFileRow& r : rows) by_name[{r.component, r.diffusers}] = &r;
    std::vector<StTensor> tensors;
    std::map<std::string, std::map<int, std::string>> blocks;  // fused name → part → bytes
    std::map<std::string, std::pair<std::string, std::vector<int64_t>>> fused_type;
    for (const char* comp : {"unet", "vae", "text_encoder"}) {
        auto f = safetensors::File::open(dir + "/" + component_file(comp));
        if (!f.ok()) return f.message();
        for (const safetensors::TensorInfo& t : (*f)->tensors()) {
            auto it = by_name.find({comp, t.name});
            if (it == by_name.end()) return std::string(comp) + " " + t.name + " has no name in diffusers' conversion";
            const SingleFileRow& r = *it->second;
            std::string bytes(reinterpret_cast<const char*>(t.data), t.n_bytes);
            if (r.parts == 1) {
                tensors.push_back({r.original, safetensors::dtype_name(t.dtype), r.shape, std::move(bytes)});
            } else {
                blocks[r.original][r.part] = std::move(bytes);
                fused_type[r.original] = {safetensors::dtype_name(t.dtype), r.shape};
            }
        }
    }
    for (auto& [name, parts] : blocks) {
        std::string bytes;
        for (auto& [part, b] : parts) bytes += b;  // std::map: in part order
        tensors.push_back({name, fused_type[name].first, fused_type[name].second, std::move(bytes)});
    }
    if (edit) edit(tensors);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    const std::string image = safetensors_image(tensors);
    out.write(image.data(), std::streamsize(image.size()));
    return out.good() ? std::string() : "cannot write " + path;
}

}  // namespace hearth::test
