// hearth-cli catalog [--json] [--catalog FILE]: the curated models (engine/hub/catalog.h) with their
// GGUF and original repositories, licences and approximate sizes per quantization. `--json` prints
// the same as one JSON document for scripts. Any id shown is accepted by `hearth-cli download ID`.
#include <cstdio>
#include <string>

#include "app/cli/command.h"
#include "engine/hub/catalog.h"
#include "engine/util/json.h"

namespace {

using namespace hearth::hub;

std::string approx(uint64_t bytes) {
    char buf[32];
    if (bytes >= 1000000000ull) std::snprintf(buf, sizeof buf, "%.1f GB", double(bytes) / 1e9);
    else std::snprintf(buf, sizeof buf, "%.0f MB", double(bytes) / 1e6);
    return buf;
}

std::string params(uint64_t n) {
    char buf[32];
    if (n >= 1000000000ull) std::snprintf(buf, sizeof buf, "%.1fB", double(n) / 1e9);
    else std::snprintf(buf, sizeof buf, "%.0fM", double(n) / 1e6);
    return buf;
}

hearth::json::Value to_json(const Catalog& c) {
    using hearth::json::Value;
    Value models = Value::array();
    for (const auto& m : c.models) {
        Value e = Value::object();
        e.set("id", m.id);
        e.set("name", m.name);
        Value d = Value::object();
        d.set("en", m.description_en);
        d.set("zh-CN", m.description_zh);
        e.set("description", d);
        e.set("architecture", m.architecture);
        e.set("parameters", int64_t(m.parameters));
        e.set("context_length", int64_t(m.context_length));
        Value l = Value::object();
        l.set("id", m.license_id);
        l.set("name", m.license_name);
        l.set("gated", m.gated);
        e.set("license", l);
        e.set("gguf_repo", m.gguf_repo);
        e.set("source_repo", m.source_repo);
        Value qs = Value::object();
        for (const auto& q : m.quants) {
            Value qv = Value::object();
            Value files = Value::array();
            for (const auto& f : q.files) files.push_back(f);
            qv.set("files", files);
            qv.set("size_bytes", int64_t(q.size_bytes));
            qs.set(q.name, qv);
        }
        e.set("quantizations", qs);
        models.push_back(e);
    }
    Value root = Value::object();
    root.set("version", 1);
    root.set("models", models);
    return root;
}

int run_catalog(const std::vector<std::string>& argv) {
    hearth::cli::Args args(argv);
    const bool as_json = args.flag({"--json"});
    auto file = args.take({"--catalog"});
    if (!args.unknown_option().empty()) return hearth::cli::fail("catalog: unknown option " + args.unknown_option());
    if (!args.positionals().empty()) return hearth::cli::fail("catalog: unexpected argument " + args.positionals()[0]);
    auto cat = file ? load_catalog_file(*file) : builtin_catalog();
    if (!cat.ok()) return hearth::cli::fail("catalog: " + cat.message());
    if (as_json) {
        std::printf("%s\n", to_json(*cat).dump(2).c_str());
        return 0;
    }
    std::printf("%-30s %-7s %6s %8s  %-10s %s\n", "ID", "ARCH", "PARAMS", "CONTEXT", "LICENCE", "Q4_K_M / Q5_K_M / Q6_K / Q8_0");
    for (const auto& m : cat->models) {
        std::string sizes;
        for (const auto& q : m.quants) sizes += (sizes.empty() ? "" : " / ") + approx(q.size_bytes);
        std::string lic = m.license_id + (m.gated ? "*" : "");
        std::printf("%-30s %-7s %6s %8u  %-10s %s\n", m.id.c_str(), m.architecture.c_str(), params(m.parameters).c_str(),
                    m.context_length, lic.c_str(), sizes.c_str());
        std::printf("    %s — %s (GGUF: %s, original: %s)\n", m.name.c_str(), m.description_en.c_str(), m.gguf_repo.c_str(),
                    m.source_repo.c_str());
    }
    std::printf("\nSizes are approximate; exact sizes and checksums come from the hub when downloading.\n"
                "* the original repository is gated: accept its licence on the hub and set HF_TOKEN to convert from it.\n"
                "Download with: hearth-cli download ID [--quant Q4_K_M|Q5_K_M|Q6_K|Q8_0]\n");
    return 0;
}

const hearth::cli::Registrar reg{"catalog", "[--json] [--catalog FILE]",
                                 "list the curated models that `download ID` accepts (sizes approximate)", run_catalog};

}  // namespace
