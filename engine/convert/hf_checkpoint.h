// The weights of a Hugging Face checkpoint folder: one model.safetensors, or the shards that
// model.safetensors.index.json lists (its weight_map says which shard holds each tensor). Every
// shard is opened through the validating safetensors reader (mapped, never copied), and a tensor
// named in two shards, or listed in the index but absent from its shard, is an error naming both.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/safetensors/safetensors.h"
#include "engine/util/status.h"

namespace hearth::convert {

class HfCheckpoint {
public:
    static Result<std::unique_ptr<HfCheckpoint>> open(const std::string& dir);

    struct Entry {
        const safetensors::File* file;
        const safetensors::TensorInfo* info;
    };
    const Entry* find(std::string_view name) const;  // nullptr when absent
    const std::map<std::string, Entry, std::less<>>& tensors() const { return tensors_; }
    size_t shard_count() const { return files_.size(); }

private:
    std::vector<std::unique_ptr<safetensors::File>> files_;
    std::map<std::string, Entry, std::less<>> tensors_;
};

}  // namespace hearth::convert
