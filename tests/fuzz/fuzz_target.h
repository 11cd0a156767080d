// The fuzz set: one program per parser of files or network input. Each target defines libFuzzer's
// entry point, LLVMFuzzerTestOneInput, and its built-in seeds (written with the project's own
// writers, so the set runs without the shared test data). Two ways to run a target:
//  - with our own driver (fuzz_driver.cpp, the default): the seeds, then a fixed number of
//    deterministic mutations of them, in the sanitizer build's `ctest -L engine` (label fuzz);
//  - with libFuzzer's coverage-guided engine (clang, -DHEARTH_LIBFUZZER=ON), for long runs.
// A target must take every input: an error Status is the right answer to garbage, a crash, a
// sanitizer report, a hang or unbounded memory is a bug. It returns 0 when the parser accepted the
// input and went all the way (a model loaded and ran, a vocabulary built and encoded), -1 when it
// refused it (libFuzzer then keeps it out of the corpus). Every built-in seed must be accepted: a
// set whose seeds stop at the first check would fuzz nothing deeper.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace hearth::fuzz {

// The target's built-in seeds; it may add files of the shared test data when they are there.
std::vector<std::string> seeds();

// -1, the answer to an input the parser refused; with HEARTH_FUZZ_VERBOSE set, says why on stderr
// (to see why a seed is refused).
int refused(const std::string& why);

// Writes the built-in seeds to `dir` as seed-0, seed-1, … (a starting corpus); returns how many.
size_t write_seeds(const std::string& dir);

// The shared test data folder (HEARTH_TESTDATA, else the build's default), "" when absent.
std::string testdata_dir();
// A whole file, "" when it cannot be read.
std::string read_file(const std::string& path);

// An input that stands for several files: the parts between kPartSeparator lines (missing parts
// are empty). join_parts makes a seed of that form.
inline constexpr std::string_view kPartSeparator = "\n#--next-file--#\n";
std::vector<std::string_view> split_parts(const uint8_t* data, size_t size, size_t n);
std::string join_parts(const std::vector<std::string>& parts);

// A scratch folder of this process (removed at exit), for parsers that read paths:
// write(name, bytes) replaces the file and returns its path.
class Scratch {
public:
    static Scratch& get();
    const std::string& dir() const { return dir_; }
    std::string write(const std::string& name, std::string_view bytes);
    void remove(const std::string& name);
    // A folder's files from the parts of an input (split_parts): names[i] holds parts[i], and an
    // empty part is a file that is not there.
    void write_parts(const std::vector<const char*>& names, const std::vector<std::string_view>& parts);

private:
    Scratch();
    ~Scratch();
    std::string dir_;
};

}  // namespace hearth::fuzz
