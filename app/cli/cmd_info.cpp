// hearth-cli info: what a GGUF model is, from its header alone (metadata and tensor infos; no
// weights are read, so it is instant even for a 40 GB file): architecture, parameter count, tensor
// types, context length, vocabulary, chat template. --all also lists every metadata key.
#include <cinttypes>
#include <cstdio>
#include <map>
#include <string>

#include "app/cli/command.h"
#include "engine/gguf/gguf.h"

namespace {

using hearth::gguf::File;
using hearth::gguf::Value;
using hearth::gguf::ValueType;

// llama.cpp's llama_ftype values, as stored in general.file_type.
const char* file_type_name(int64_t ft) {
    switch (ft) {
        case 0: return "all F32";
        case 1: return "mostly F16";
        case 2: return "mostly Q4_0";
        case 3: return "mostly Q4_1";
        case 7: return "mostly Q8_0";
        case 8: return "mostly Q5_0";
        case 9: return "mostly Q5_1";
        case 10: return "mostly Q2_K";
        case 11: return "Q3_K - Small";
        case 12: return "Q3_K - Medium";
        case 13: return "Q3_K - Large";
        case 14: return "Q4_K - Small";
        case 15: return "Q4_K - Medium";
        case 16: return "Q5_K - Small";
        case 17: return "Q5_K - Medium";
        case 18: return "mostly Q6_K";
        case 32: return "mostly BF16";
        default: return nullptr;
    }
}

std::string human_bytes(uint64_t n) {
    char buf[64];
    if (n >= (uint64_t(1) << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", double(n) / double(uint64_t(1) << 30));
    else if (n >= (uint64_t(1) << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", double(n) / double(1 << 20));
    else std::snprintf(buf, sizeof buf, "%.1f KiB", double(n) / 1024.0);
    return buf;
}

std::string human_count(int64_t n) {
    char buf[64];
    if (n >= 1000000000) std::snprintf(buf, sizeof buf, "%.2f B", double(n) / 1e9);
    else if (n >= 1000000) std::snprintf(buf, sizeof buf, "%.2f M", double(n) / 1e6);
    else if (n >= 1000) std::snprintf(buf, sizeof buf, "%.1f K", double(n) / 1e3);
    else std::snprintf(buf, sizeof buf, "%" PRId64, n);
    return buf;
}

// A short rendering of a metadata value for --all (arrays show their length and first elements).
std::string show(const Value& v, int depth = 0) {
    switch (v.type) {
        case ValueType::STRING: {
            std::string s = v.str.size() > 60 ? v.str.substr(0, 60) + "..." : v.str;
            for (char& c : s) if (c == '\n' || c == '\r' || c == '\t') c = ' ';
            return "\"" + s + "\"" + (v.str.size() > 60 ? " (" + std::to_string(v.str.size()) + " bytes)" : "");
        }
        case ValueType::F32: case ValueType::F64: {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%g", v.f);
            return buf;
        }
        case ValueType::BOOL: return v.u ? "true" : "false";
        case ValueType::U64: return std::to_string(v.u);
        case ValueType::ARRAY: {
            std::string s = "[" + std::to_string(v.arr.size()) + " items";
            if (depth < 2 && !v.arr.empty()) {
                s += ": ";
                for (size_t k = 0; k < v.arr.size() && k < 4; ++k) s += (k ? ", " : "") + show(v.arr[k], depth + 1);
                if (v.arr.size() > 4) s += ", ...";
            }
            return s + "]";
        }
        default: return std::to_string(v.i);
    }
}

int run_info(const std::vector<std::string>& argv) {
    using hearth::cli::fail;
    hearth::cli::Args args(argv);
    const bool all = args.flag({"--all", "-a"});
    if (const std::string bad = args.unknown_option(); !bad.empty()) return fail("info: unknown option " + bad);
    const auto pos = args.positionals();
    if (pos.size() != 1) return fail("info: expected one MODEL.gguf argument");

    auto r = File::open(pos[0]);
    if (!r.ok()) return fail(r.message());
    const File& f = **r;

    auto str = [&](const std::string& key) { auto v = f.get_string(key); return v.ok() ? *v : std::string(); };
    auto num = [&](const std::string& key) { auto v = f.get_int(key, -1); return v.ok() ? *v : int64_t(-1); };

    const std::string arch = str("general.architecture");
    std::printf("file:           %s (%s)\n", f.path().c_str(), human_bytes(f.file_size()).c_str());
    std::printf("format:         GGUF v%u, %zu metadata keys, alignment %zu\n", f.version(), f.metadata().size(), f.alignment());
    if (const std::string name = str("general.name"); !name.empty()) std::printf("name:           %s\n", name.c_str());
    std::printf("architecture:   %s\n", arch.empty() ? "(none: vocabulary-only or unknown)" : arch.c_str());

    int64_t params = 0;
    std::map<std::string, int> type_counts;
    for (const auto& t : f.tensors()) {
        params += t.n_elements();
        ++type_counts[std::string(hearth::type_name(t.type))];
    }
    std::printf("parameters:     %s (%" PRId64 ")\n", human_count(params).c_str(), params);
    if (const int64_t ft = num("general.file_type"); ft >= 0) {
        const char* n = file_type_name(ft);
        std::printf("file type:      %s (general.file_type %" PRId64 ")\n", n ? n : "unknown", ft);
    }
    std::string types;
    for (const auto& [name, count] : type_counts) types += (types.empty() ? "" : ", ") + name + ": " + std::to_string(count);
    std::printf("tensors:        %zu%s%s%s\n", f.tensors().size(), types.empty() ? "" : " (", types.c_str(), types.empty() ? "" : ")");

    if (!arch.empty()) {
        const int64_t ctx = num(arch + ".context_length");
        if (ctx >= 0) std::printf("context length: %" PRId64 "\n", ctx);
        else std::printf("context length: (not set)\n");
        const int64_t embd = num(arch + ".embedding_length"), layers = num(arch + ".block_count");
        const int64_t heads = num(arch + ".attention.head_count"), kv_heads = num(arch + ".attention.head_count_kv");
        if (embd >= 0) std::printf("embedding:      %" PRId64 "\n", embd);
        if (layers >= 0) std::printf("layers:         %" PRId64 "\n", layers);
        if (heads >= 0) std::printf("heads:          %" PRId64 " (KV heads: %" PRId64 ")\n", heads, kv_heads >= 0 ? kv_heads : heads);
        if (const int64_t experts = num(arch + ".expert_count"); experts > 0) {
            const int64_t used = num(arch + ".expert_used_count"), width = num(arch + ".expert_feed_forward_length");
            std::printf("experts:        %" PRId64 ", %" PRId64 " per token", experts, used);
            if (width > 0) std::printf(", each %" PRId64 " wide", width);
            std::printf("\n");
        }
    }

    // Vocabulary: the token list's length; else <arch>.vocab_size.
    int64_t vocab = -1;
    if (const Value* tokens = f.find("tokenizer.ggml.tokens"); tokens && tokens->type == ValueType::ARRAY) vocab = int64_t(tokens->arr.size());
    else if (!arch.empty()) vocab = num(arch + ".vocab_size");
    const std::string tok_model = str("tokenizer.ggml.model"), tok_pre = str("tokenizer.ggml.pre");
    if (vocab >= 0) {
        std::printf("vocabulary:     %" PRId64 " tokens", vocab);
        if (!tok_model.empty()) std::printf(" (%s%s%s)", tok_model.c_str(), tok_pre.empty() ? "" : ", pre-tokenizer ", tok_pre.c_str());
        std::printf("\n");
    } else {
        std::printf("vocabulary:     (none)\n");
    }
    const std::string tmpl = str("tokenizer.chat_template");
    if (tmpl.empty()) std::printf("chat template:  no (ChatML will be used)\n");
    else std::printf("chat template:  yes (%zu bytes)\n", tmpl.size());

    if (all) {
        std::printf("\nmetadata:\n");
        for (const auto& [key, value] : f.metadata()) std::printf("  %-40s %s\n", key.c_str(), show(value).c_str());
        std::printf("\ntensors:\n");
        for (const auto& t : f.tensors()) {
            std::string dims;
            for (size_t k = 0; k < t.dims.size(); ++k) dims += (k ? ", " : "") + std::to_string(t.dims[k]);
            std::printf("  %-40s %-5s [%s] %s\n", t.name.c_str(), std::string(hearth::type_name(t.type)).c_str(), dims.c_str(),
                        human_bytes(t.n_bytes).c_str());
        }
    }
    return 0;
}

const hearth::cli::Registrar reg{"info", "MODEL.gguf [--all]",
                                 "architecture, parameters, tensor types, context, vocabulary and template of a model",
                                 run_info};

}  // namespace
