// hearth-cli download REPO_ID|URL|CATALOG_ID [FILE_OR_GLOB...] [--quant Q|--source] [--revision REV] [--endpoint URL]
// [-o DIR]: files of a hub repository (engine/hub), verified, under their repository paths in DIR.
// Without FILE arguments the whole repository. A catalog id (hearth-cli catalog) names its GGUF
// repository and the files of one quantization (--quant, default Q4_K_M); a pasted hub or mirror URL
// (engine/hub/repo_ref.h) may carry the endpoint, revision and file. `ID --source` fetches the
// catalog model's original safetensors checkpoint instead (for hearth-cli convert). A progress line
// on a terminal; Ctrl-C cancels and keeps the partial files, so running the same command again
// resumes them. Exit status 0 only when every
// file is complete and verified; each failure is one line on stderr.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "app/cli/command.h"
#include "engine/hub/catalog.h"
#include "engine/hub/download.h"
#include "engine/hub/listing.h"
#include "engine/hub/repo_ref.h"

namespace {

using namespace hearth::hub;

DownloadJob* g_job = nullptr;  // for the SIGINT handler: cancel() is a lock-free atomic store

void on_sigint(int) {
    if (g_job) g_job->cancel();
}

std::string human(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) bytes /= 1024, ++u;
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
    return buf;
}

std::string duration(double s) {
    if (s < 0) return "--:--";
    long t = long(s + 0.5);
    char buf[32];
    if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
    return buf;
}

int run_download(const std::vector<std::string>& argv) {
    hearth::cli::Args args(argv);
    HubOptions o = options_from_environment();
    auto revision = args.take({"--revision"});
    if (revision) o.revision = *revision;
    auto endpoint = args.take({"--endpoint"});
    if (endpoint) {
        o.endpoint = *endpoint;
        while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
    }
    auto quant = args.take({"--quant"});
    const bool source = args.flag({"--source"});
    auto out_dir = args.take({"-o", "--output"});
    if (!args.unknown_option().empty()) return hearth::cli::fail("download: unknown option " + args.unknown_option());
    std::vector<std::string> pos = args.positionals();
    if (pos.empty()) return hearth::cli::fail("download: give a repository id, e.g. hearth-cli download HuggingFaceTB/SmolLM2-135M-Instruct");
    std::string repo;
    std::vector<std::string> patterns(pos.begin() + 1, pos.end());

    // A catalog id first (ids are lower-case names without '/', so they rarely shadow a bare repository id).
    auto catalog = builtin_catalog();
    if (!catalog.ok() && pos[0].find('/') == std::string::npos) return hearth::cli::fail("download: " + catalog.message());
    if (const CatalogEntry* entry = catalog.ok() ? catalog->find(pos[0]) : nullptr) {
        if (!patterns.empty()) return hearth::cli::fail("download: " + entry->id + " is a catalog id: choose its files with --quant, not file names");
        if (source && quant) return hearth::cli::fail("download: --source fetches the original checkpoint; --quant picks a GGUF file: give one");
        if (source) {
            // The original checkpoint for `hearth-cli convert`: top-level configs, tokenizer and
            // safetensors shards only ('*' does not cross '/', so e.g. Meta's original/*.pth stay out).
            repo = entry->source_repo;
            patterns = {"*.json", "*.safetensors", "*.jinja", "1_Pooling/config.json"};  // + a sentence-transformers model's pooling
        } else {
            const std::string q = quant ? *quant : "Q4_K_M";
            const CatalogQuant* cq = entry->find_quant(q);
            if (!cq) return hearth::cli::fail("download: " + entry->id + " has no quantization '" + q + "' (Q4_K_M, Q5_K_M, Q6_K, Q8_0)");
            repo = entry->gguf_repo;
            patterns = cq->files;
        }
    } else {
        if (quant || source)
            return hearth::cli::fail(std::string("download: ") + (quant ? "--quant" : "--source") + " needs a catalog id ('" + pos[0] +
                                     "' is not one; see hearth-cli catalog)");
        auto ref = parse_repo_ref(pos[0]);
        if (!ref.ok()) return hearth::cli::fail("download: " + ref.message() + " (nor a catalog id; see hearth-cli catalog)");
        repo = ref->repo;
        // The command line's own --endpoint and --revision win over what a pasted URL carries.
        if (!ref->endpoint.empty() && !endpoint) o.endpoint = ref->endpoint;
        if (!ref->revision.empty() && !revision) o.revision = ref->revision;
        if (!ref->path.empty()) patterns.push_back(ref->folder ? ref->path + "/**" : ref->path);
    }
    // Default folder: the repository's name, as `git clone` does.
    const std::string dir = out_dir ? *out_dir : repo.substr(repo.find('/') == std::string::npos ? 0 : repo.find('/') + 1);

    if (auto st = check_repo_id(repo); !st.ok()) return hearth::cli::fail("download: " + st.message());
    if (auto st = check_endpoint(o.endpoint); !st.ok()) return hearth::cli::fail("download: " + st.message());
    auto listing = list_repo_files(o, repo);
    if (!listing.ok()) return hearth::cli::fail("download: " + listing.message());

    std::vector<RepoFile> chosen;
    if (patterns.empty()) {
        chosen = *listing;
    } else {
        std::vector<bool> taken(listing->size(), false);
        for (const auto& p : patterns) {
            bool any = false;
            for (size_t i = 0; i < listing->size(); ++i)
                if (glob_match(p, (*listing)[i].path)) {
                    any = true;
                    if (!taken[i]) chosen.push_back((*listing)[i]);
                    taken[i] = true;
                }
            // --source's patterns are a superset of what any one checkpoint has (not all ship a .jinja).
            if (!any && !source) return hearth::cli::fail("download: no file of " + repo + " at revision '" + o.revision + "' matches '" + p + "'");
        }
    }
    if (chosen.empty()) return hearth::cli::fail("download: " + repo + " has no files");

    DownloadJob job(o, repo, chosen, dir);
    const bool tty = ::isatty(STDERR_FILENO);
    size_t last_len = 0;
    if (tty) {
        job.on_progress = [&](const JobProgress& p) {
            double pct = p.total_bytes ? 100.0 * double(p.done_bytes) / double(p.total_bytes) : 100.0;
            char line[512];
            int n = std::snprintf(line, sizeof line, "\r%5.1f%%  %s / %s  %s/s  %s left  [%zu/%zu] %s", pct,
                                  human(double(p.done_bytes)).c_str(), human(double(p.total_bytes)).c_str(),
                                  human(p.bytes_per_s).c_str(), duration(p.eta_s).c_str(), p.files_done,
                                  p.files_total, p.current.c_str());
            size_t len = size_t(std::max(n, 0));
            std::fputs(line, stderr);
            for (size_t i = len; i < last_len; ++i) std::fputc(' ', stderr);  // erase the longer last line
            last_len = len;
            std::fflush(stderr);
        };
    }
    g_job = &job;
    auto old = std::signal(SIGINT, on_sigint);
    hearth::Status st = job.run();
    std::signal(SIGINT, old);
    g_job = nullptr;
    if (tty && last_len > 0) std::fputc('\n', stderr);
    if (!st.ok()) return hearth::cli::fail("download: " + st.message());

    int failed = 0;
    for (const auto& r : job.outcomes()) {
        if (r.ok) {
            std::printf("%s/%s\n", dir.c_str(), r.path.c_str());
        } else {
            ++failed;
            std::fprintf(stderr, "hearth-cli: download: %s\n", r.error.c_str());
        }
    }
    return failed == 0 ? 0 : 1;
}

const hearth::cli::Registrar reg{
    "download", "REPO_ID|URL|CATALOG_ID [FILE_OR_GLOB...] [--quant Q | --source] [--revision REV] [--endpoint URL] [-o DIR]",
    "download files of a Hugging Face hub repository (HF_ENDPOINT, HF_TOKEN) or a catalog model into DIR (default: the repository's name), verified, resumable",
    run_download};

}  // namespace
