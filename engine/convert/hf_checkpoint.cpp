#include "engine/convert/hf_checkpoint.h"

#include <filesystem>
#include <set>

#include "engine/util/json.h"

namespace hearth::convert {

namespace fs = std::filesystem;

Result<std::unique_ptr<HfCheckpoint>> HfCheckpoint::open(const std::string& dir) {
    auto ck = std::make_unique<HfCheckpoint>();
    std::error_code ec;
    const fs::path index_path = fs::path(dir) / "model.safetensors.index.json";
    const fs::path single_path = fs::path(dir) / "model.safetensors";
    std::vector<std::string> shard_names;
    std::map<std::string, std::string> listed;  // tensor -> shard, from the index
    if (fs::is_regular_file(index_path, ec)) {
        auto idx = json::parse_file(index_path.string());
        if (!idx.ok()) return make_error(index_path.string() + ": " + idx.message());
        const json::Value& wm = (*idx)["weight_map"];
        if (!wm.is_object() || wm.size() == 0) return make_error(index_path.string() + ": no \"weight_map\" object");
        std::set<std::string> seen;
        for (const auto& [tensor, shard] : wm.as_object()) {
            const std::string& s = shard.as_string();
            // A shard is a file in this folder: no path separators, no "..".
            if (!shard.is_string() || s.empty() || s.find('/') != std::string::npos || s.find('\\') != std::string::npos || s == "..")
                return make_error(index_path.string() + ": weight_map['" + tensor + "'] is not a file name in this folder");
            listed[tensor] = s;
            if (seen.insert(s).second) shard_names.push_back(s);
        }
    } else if (fs::is_regular_file(single_path, ec)) {
        shard_names.push_back("model.safetensors");
    } else {
        return make_error(dir + ": no model.safetensors or model.safetensors.index.json");
    }

    std::map<std::string, std::string> shard_of;
    for (const std::string& name : shard_names) {
        const std::string path = (fs::path(dir) / name).string();
        auto f = safetensors::File::open(path);
        if (!f.ok()) return f.status();  // the reader's message names the file
        for (const auto& t : (*f)->tensors()) {
            if (auto it = shard_of.find(t.name); it != shard_of.end())
                return make_error("tensor '" + t.name + "' is in both " + it->second + " and " + name);
            shard_of[t.name] = name;
            ck->tensors_[t.name] = Entry{f->get(), &t};
        }
        ck->files_.push_back(std::move(*f));
    }
    for (const auto& [tensor, shard] : listed) {
        auto it = shard_of.find(tensor);
        if (it == shard_of.end() || it->second != shard)
            return make_error(index_path.string() + ": lists '" + tensor + "' in " + shard + ", which does not hold it");
    }
    return ck;
}

const HfCheckpoint::Entry* HfCheckpoint::find(std::string_view name) const {
    auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : &it->second;
}

}  // namespace hearth::convert
