// The fuzz set's own driver (the default; libFuzzer replaces it under -DHEARTH_LIBFUZZER=ON): runs a
// target on its seeds, then on deterministic mutations of them — bit flips, interesting integers
// over 1/2/4/8 bytes, cut, repeated and inserted ranges, truncation, splices of two seeds, and words
// taken from the seeds (so text formats stay near their syntax). Without coverage feedback it finds
// less than libFuzzer in an hour, but the same mutations every run, in every sanitizer build.
//
//   fuzz_X [--runs N] [--seconds S] [--max-len BYTES] [--rng K] [--timeout S] [PATH…]
//   fuzz_X --write-seeds DIR     (a starting corpus for libFuzzer)
// PATHs are more seeds (files, or folders of files); `fuzz_X --runs 0 crash.bin` replays one input.
// An input that crashes, trips a sanitizer or runs past --timeout is written to
// fuzz-crash-<target>-<n>.bin (in $HEARTH_FUZZ_ARTIFACTS, else the working folder) before the end.
#include <algorithm>
#include <chrono>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

#include "tests/fuzz/fuzz_target.h"

extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace fs = std::filesystem;
using namespace hearth::fuzz;

namespace {

const char* g_target = "target";
const std::string* g_current = nullptr;  // the input being run, written out if it kills us
char g_artifact[4096];

void write_current() {
    if (!g_current) return;
    const std::string& in = *g_current;
    FILE* f = std::fopen(g_artifact, "wb");
    if (!f) return;
    std::fwrite(in.data(), 1, in.size(), f);
    std::fclose(f);
    std::fprintf(stderr, "fuzz: the input that failed (%zu bytes) is in %s\n", in.size(), g_artifact);
}

void on_signal(int sig) {
    if (sig == SIGALRM) std::fprintf(stderr, "fuzz: one input ran past the timeout (a hang)\n");
    write_current();
    std::signal(sig, SIG_DFL);
    std::raise(sig == SIGALRM ? SIGABRT : sig);
}

struct Options {
    long runs = 2000;
    double seconds = 30;
    size_t max_len = 64 << 10;
    uint64_t rng = 1;
    unsigned timeout = 20;
    std::string write_seeds;
    std::vector<std::string> paths;
};

Options parse_args(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "fuzz: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--runs") o.runs = std::stol(next());
        else if (a == "--seconds") o.seconds = std::stod(next());
        else if (a == "--max-len") o.max_len = std::stoul(next());
        else if (a == "--rng") o.rng = std::stoull(next());
        else if (a == "--timeout") o.timeout = unsigned(std::stoul(next()));
        else if (a == "--write-seeds") o.write_seeds = next();
        else if (a.rfind("--", 0) == 0) {
            std::fprintf(stderr, "fuzz: unknown option %s\n", a.c_str());
            std::exit(2);
        } else o.paths.push_back(a);
    }
    return o;
}

// Words of the seeds (runs of letters/digits/_ and runs of punctuation, 2–16 bytes): inserted and
// swapped in, they keep a mutated JSON or template near its grammar.
std::vector<std::string> words_of(const std::vector<std::string>& seeds) {
    std::set<std::string> words;
    for (const std::string& s : seeds) {
        size_t i = 0;
        while (i < s.size() && words.size() < 4096) {
            const bool alnum = std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_';
            size_t j = i + 1;
            while (j < s.size() && j - i < 16 &&
                   (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_') == alnum &&
                   static_cast<unsigned char>(s[j]) >= 0x20 && static_cast<unsigned char>(s[j]) < 0x7f)
                ++j;
            if (j - i >= 2) words.insert(s.substr(i, j - i));
            i = j;
        }
    }
    return {words.begin(), words.end()};
}

class Mutator {
public:
    Mutator(uint64_t seed, const std::vector<std::string>& pool, size_t max_len)
        : rng_(seed), pool_(pool), words_(words_of(pool)), max_len_(max_len) {}

    std::string mutate(std::string s) {
        const int n = 1 + int(pick(4));
        for (int i = 0; i < n; ++i) once(s);
        if (s.size() > max_len_) s.resize(max_len_);
        return s;
    }

private:
    uint64_t pick(uint64_t n) { return n ? std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_) : 0; }

    void once(std::string& s) {
        static const uint64_t kInteresting[] = {0, 1, 2, 7, 16, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff,
                                                0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull,
                                                0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull};
        switch (pick(s.empty() ? 2 : 11)) {
            case 0: {  // insert random bytes
                std::string ins(1 + pick(8), '\0');
                for (char& c : ins) c = char(pick(256));
                s.insert(pick(s.size() + 1), ins);
                break;
            }
            case 1:  // insert a word of the seeds
                if (!words_.empty()) s.insert(pick(s.size() + 1), words_[pick(words_.size())]);
                break;
            case 2: s[pick(s.size())] ^= char(1u << pick(8)); break;
            case 3: s[pick(s.size())] = char(pick(256)); break;
            case 4: {  // an interesting integer, 1/2/4/8 bytes little-endian, maybe negated
                const size_t w = size_t(1) << pick(4);
                if (s.size() < w) break;
                uint64_t v = kInteresting[pick(std::size(kInteresting))];
                if (pick(4) == 0) v = ~v + 1;
                std::memcpy(&s[pick(s.size() - w + 1)], &v, w);
                break;
            }
            case 5: {  // cut a range
                const size_t at = pick(s.size()), len = 1 + pick(std::min<size_t>(s.size() - at, 64));
                s.erase(at, len);
                break;
            }
            case 6: {  // repeat a range somewhere
                const size_t at = pick(s.size()), len = 1 + pick(std::min<size_t>(s.size() - at, 64));
                s.insert(pick(s.size() + 1), s.substr(at, len));
                break;
            }
            case 7: s.resize(pick(s.size())); break;  // truncate
            case 8: {  // splice: this one's head, another seed's tail
                const std::string& o = pool_[pick(pool_.size())];
                s = s.substr(0, pick(s.size() + 1)) + o.substr(pick(o.size() + 1));
                break;
            }
            case 9: {  // a range of another seed over this one
                const std::string& o = pool_[pick(pool_.size())];
                if (o.empty()) break;
                const size_t from = pick(o.size()), len = 1 + pick(std::min<size_t>(o.size() - from, 64));
                const size_t at = pick(s.size());
                s.replace(at, std::min(len, s.size() - at), o.substr(from, len));
                break;
            }
            default: {  // a word of the seeds in place of another word
                if (words_.empty()) break;
                const std::string& w = words_[pick(words_.size())];
                const size_t at = pick(s.size());
                s.replace(at, std::min(w.size(), s.size() - at), w);
                break;
            }
        }
    }

    std::mt19937_64 rng_;
    const std::vector<std::string>& pool_;
    std::vector<std::string> words_;
    size_t max_len_;
};

void add_path(const std::string& p, std::vector<std::string>* seeds) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
        std::vector<std::string> files;
        for (const auto& e : fs::directory_iterator(p, ec))
            if (e.is_regular_file()) files.push_back(e.path().string());
        std::sort(files.begin(), files.end());
        for (const std::string& f : files) seeds->push_back(read_file(f));
    } else if (fs::is_regular_file(p, ec)) {
        seeds->push_back(read_file(p));
    } else {
        std::fprintf(stderr, "fuzz: %s is not a file or a folder\n", p.c_str());
        std::exit(2);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse_args(argc, argv);
    g_target = std::strrchr(argv[0], '/') ? std::strrchr(argv[0], '/') + 1 : argv[0];
    if (!o.write_seeds.empty()) {
        std::printf("fuzz: %zu seeds written to %s\n", write_seeds(o.write_seeds), o.write_seeds.c_str());
        return 0;
    }
    std::vector<std::string> seeds = hearth::fuzz::seeds();
    const size_t n_builtin = seeds.size();
    for (const std::string& p : o.paths) add_path(p, &seeds);
    for (std::string& s : seeds)
        if (s.size() > o.max_len) {
            std::fprintf(stderr, "fuzz: a seed of %zu bytes is longer than --max-len %zu\n", s.size(), o.max_len);
            return 2;
        }
    if (seeds.empty()) seeds.emplace_back();

    const char* dir = std::getenv("HEARTH_FUZZ_ARTIFACTS");
    std::snprintf(g_artifact, sizeof g_artifact, "%s/fuzz-crash-%s-%d.bin", dir && *dir ? dir : ".", g_target, int(::getpid()));
    if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(write_current);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGALRM}) std::signal(sig, on_signal);

    const auto start = std::chrono::steady_clock::now();
    auto run = [&](const std::string& in) {
        g_current = &in;
        alarm(o.timeout);
        const int r = LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(in.data()), in.size());
        alarm(0);
        g_current = nullptr;
        return r == 0;
    };
    for (size_t i = 0; i < seeds.size(); ++i)
        if (!run(seeds[i]) && i < n_builtin && o.runs > 0) {
            std::fprintf(stderr, "fuzz %s: built-in seed %zu (%zu bytes) is refused: the mutants would not reach past "
                         "the first check\n", g_target, i, seeds[i].size());
            return 1;
        }

    // Mutants of the seeds, and now and then of a recent mutant, so that changes can stack up.
    Mutator m(o.rng, seeds, o.max_len);
    std::vector<std::string> recent;
    std::mt19937_64 choose(o.rng ^ 0x9e3779b97f4a7c15ull);
    long done = 0, accepted = 0;
    for (; done < o.runs; ++done) {
        if ((done & 15) == 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > o.seconds)
            break;
        const bool deeper = !recent.empty() && choose() % 3 == 0;
        std::string in = m.mutate(deeper ? recent[choose() % recent.size()] : seeds[choose() % seeds.size()]);
        accepted += run(in);
        if (recent.size() < 64) recent.push_back(std::move(in));
        else recent[choose() % recent.size()] = std::move(in);
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("fuzz %s: %zu seeds (the built-in ones all accepted) and %ld mutants (%ld accepted, %ld refused with an error) in %.1f s "
                "(rng %llu): no crash, no sanitizer report, no hang\n",
                g_target, seeds.size(), done, accepted, done - accepted, secs, static_cast<unsigned long long>(o.rng));
    return 0;
}
