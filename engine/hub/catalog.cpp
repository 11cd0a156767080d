#include "engine/hub/catalog.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <set>

#include "engine/hub/endpoint.h"
#include "engine/util/json.h"

namespace hearth::hub {
namespace {

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// Reads one entry's fields; every failure names the entry (by id once it is known) and the field.
class EntryReader {
public:
    EntryReader(const json::Value& v, std::string where) : v_(v), where_(std::move(where)) {}

    Status error(const std::string& field, const std::string& why) const {
        return make_error(where_ + ": field '" + field + "' " + why);
    }
    void name_it(const std::string& id) { where_ += " ('" + id + "')"; }

    Result<std::string> string(const json::Value& obj, const std::string& field) const {
        const json::Value* f = obj.find(field);
        if (!f) return error(field, "is missing");
        if (!f->is_string()) return error(field, "must be a string");
        if (f->as_string().empty()) return error(field, "is empty");
        return f->as_string();
    }
    Result<uint64_t> positive(const json::Value& obj, const std::string& field, uint64_t max) const {
        const json::Value* f = obj.find(field);
        if (!f) return error(field, "is missing");
        if (!f->is_int()) return error(field, "must be a whole number");
        if (f->as_int() <= 0 || uint64_t(f->as_int()) > max) return error(field, "is out of range (1.." + std::to_string(max) + ")");
        return uint64_t(f->as_int());
    }
    Result<bool> boolean(const json::Value& obj, const std::string& field) const {
        const json::Value* f = obj.find(field);
        if (!f) return error(field, "is missing");
        if (!f->is_bool()) return error(field, "must be true or false");
        return f->as_bool();
    }
    const json::Value& v() const { return v_; }
    const std::string& where() const { return where_; }

private:
    const json::Value& v_;
    std::string where_;
};

// An id is what a person types: lower-case letters, digits, '.', '-'; starts with a letter or digit.
bool valid_id(const std::string& id) {
    if (id.empty() || id.size() > 80 || !std::isalnum(static_cast<unsigned char>(id[0]))) return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    });
}

// A file glob: a relative repository path pattern with at least one '*' (an exact name would go
// stale when the publisher renames), ending in ".gguf", naming the quantization it stands for.
Status check_glob(const std::string& glob, const std::string& quant) {
    auto bad = [&](const std::string& why) { return make_error("glob '" + glob + "' " + why); };
    if (glob.find('*') == std::string::npos) return bad("has no '*': name files by pattern, not by exact name");
    if (glob.size() < 6 || glob.compare(glob.size() - 5, 5, ".gguf") != 0) return bad("does not end in .gguf");
    if (glob.find(quant) == std::string::npos) return bad("does not contain the quantization's name " + quant);
    for (unsigned char c : glob)
        if (!(std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == '*' || c == '?' || c == '/'))
            return bad("has a character other than letters, digits, . - _ * ? /");
    // With the wildcards read as letters, it must be a repository path the client would accept.
    std::string as_path = glob;
    std::replace(as_path.begin(), as_path.end(), '*', 'x');
    std::replace(as_path.begin(), as_path.end(), '?', 'x');
    if (auto st = check_repo_path(as_path); !st.ok()) return bad("is not a relative repository path");
    return {};
}

Result<CatalogEntry> read_entry(const json::Value& v, size_t index) {
    EntryReader r(v, "model #" + std::to_string(index + 1));
    if (!v.is_object()) return make_error(r.where() + ": must be an object");
    CatalogEntry e;
    auto id = r.string(v, "id");
    if (!id.ok()) return id.status();
    e.id = *id;
    r.name_it(e.id);
    if (!valid_id(e.id)) return r.error("id", "must be lower-case letters, digits, '.' and '-'");

    auto name = r.string(v, "name");
    if (!name.ok()) return name.status();
    e.name = *name;

    const json::Value* desc = v.find("description");
    if (!desc || !desc->is_object()) return r.error("description", "must be an object with \"en\" and \"zh-CN\"");
    auto en = r.string(*desc, "en");
    if (!en.ok()) return r.error("description.en", "must be a non-empty string");
    auto zh = r.string(*desc, "zh-CN");
    if (!zh.ok()) return r.error("description.zh-CN", "must be a non-empty string");
    e.description_en = *en;
    e.description_zh = *zh;

    auto arch = r.string(v, "architecture");
    if (!arch.ok()) return arch.status();
    const auto& archs = catalog_architectures();
    if (std::find(archs.begin(), archs.end(), *arch) == archs.end())
        return r.error("architecture", "'" + *arch + "' is not one the engine runs");
    e.architecture = *arch;

    auto params = r.positive(v, "parameters", uint64_t(1) << 42);
    if (!params.ok()) return params.status();
    e.parameters = *params;
    auto ctx = r.positive(v, "context_length", uint64_t(1) << 24);
    if (!ctx.ok()) return ctx.status();
    e.context_length = uint32_t(*ctx);

    const json::Value* lic = v.find("license");
    if (!lic || !lic->is_object()) return r.error("license", "must be an object with id, name and gated");
    auto lid = r.string(*lic, "id");
    if (!lid.ok()) return r.error("license.id", "must be a non-empty string");
    auto lname = r.string(*lic, "name");
    if (!lname.ok()) return r.error("license.name", "must be a non-empty string");
    auto gated = r.boolean(*lic, "gated");
    if (!gated.ok()) return r.error("license.gated", "must be true or false");
    e.license_id = *lid;
    e.license_name = *lname;
    e.gated = *gated;

    for (const char* field : {"gguf_repo", "source_repo"}) {
        auto repo = r.string(v, field);
        if (!repo.ok()) return repo.status();
        if (repo->find('/') == std::string::npos) return r.error(field, "must be ORG/NAME");
        if (auto st = check_repo_id(*repo); !st.ok()) return r.error(field, st.message());
        (std::string_view(field) == "gguf_repo" ? e.gguf_repo : e.source_repo) = *repo;
    }

    const json::Value* quants = v.find("quantizations");
    if (!quants || !quants->is_object()) return r.error("quantizations", "must be an object keyed by quantization");
    for (const auto& [qname, qv] : quants->as_object()) {
        const std::string field = "quantizations." + qname;
        const auto& known = catalog_quant_names();
        if (std::find(known.begin(), known.end(), qname) == known.end())
            return r.error(field, "is not one of Q4_K_M, Q5_K_M, Q6_K, Q8_0");
        if (!qv.is_object()) return r.error(field, "must be an object with files and size_bytes");
        CatalogQuant q;
        q.name = qname;
        const json::Value* files = qv.find("files");
        if (!files || !files->is_array() || files->as_array().empty())
            return r.error(field + ".files", "must be a non-empty array of globs");
        for (const auto& f : files->as_array()) {
            if (!f.is_string()) return r.error(field + ".files", "must hold strings");
            if (auto st = check_glob(f.as_string(), qname); !st.ok()) return r.error(field + ".files", st.message());
            q.files.push_back(f.as_string());
        }
        auto size = r.positive(qv, "size_bytes", uint64_t(1) << 45);
        if (!size.ok()) return r.error(field + ".size_bytes", "must be a positive whole number of bytes");
        q.size_bytes = *size;
        e.quants.push_back(std::move(q));
    }
    // Every entry offers the same choices, so the wizard's quantization list never has holes.
    for (const auto& want : catalog_quant_names())
        if (!e.find_quant(want)) return r.error("quantizations", "lacks " + want);
    std::sort(e.quants.begin(), e.quants.end(), [](const CatalogQuant& a, const CatalogQuant& b) {
        const auto& order = catalog_quant_names();
        return std::find(order.begin(), order.end(), a.name) < std::find(order.begin(), order.end(), b.name);
    });
    return e;
}

}  // namespace

const CatalogQuant* CatalogEntry::find_quant(std::string_view q) const {
    for (const auto& x : quants)
        if (iequal(x.name, q)) return &x;
    return nullptr;
}

const CatalogEntry* Catalog::find(std::string_view id) const {
    for (const auto& m : models)
        if (iequal(m.id, id)) return &m;
    return nullptr;
}

const std::vector<std::string>& catalog_quant_names() {
    static const std::vector<std::string> names = {"Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0"};
    return names;
}

const std::vector<std::string>& catalog_architectures() {
    static const std::vector<std::string> archs = {"llama", "qwen2", "qwen3", "phi3", "gemma3", "qwen3moe"};
    return archs;
}

Result<Catalog> parse_catalog(std::string_view text, const std::string& origin) {
    auto root = json::parse(text);
    if (!root.ok()) return make_error(origin + ": not valid JSON: " + root.message());
    if (!root->is_object()) return make_error(origin + ": the top level must be an object");
    const json::Value* version = root->find("version");
    if (!version || !version->is_int() || version->as_int() != 1)
        return make_error(origin + ": 'version' must be 1 (a newer Hearth may be needed)");
    const json::Value* models = root->find("models");
    if (!models || !models->is_array()) return make_error(origin + ": 'models' must be an array");
    Catalog c;
    std::set<std::string> ids;
    for (size_t i = 0; i < models->as_array().size(); ++i) {
        auto e = read_entry(models->as_array()[i], i);
        if (!e.ok()) return make_error(origin + ": " + e.message());
        if (!ids.insert(e->id).second) return make_error(origin + ": model #" + std::to_string(i + 1) + ": id '" + e->id + "' is used twice");
        c.models.push_back(std::move(*e));
    }
    if (c.models.empty()) return make_error(origin + ": 'models' is empty");
    return c;
}

Result<Catalog> load_catalog_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return make_error(path + ": cannot open the catalog");
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (f.bad()) return make_error(path + ": read error");
    return parse_catalog(text, path);
}

Result<Catalog> builtin_catalog() { return parse_catalog(builtin_catalog_json(), "built-in catalog"); }

}  // namespace hearth::hub
