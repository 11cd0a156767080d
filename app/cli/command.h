// Subcommand registry for hearth-cli. A command file defines
//   static const hearth::cli::Registrar reg{"info", "MODEL", "print a model's metadata", run_info};
// and main() dispatches on argv[1]. Commands print errors to stderr and return non-zero.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace hearth::cli {

using CommandFn = std::function<int(const std::vector<std::string>& args)>;  // args after the command name

struct Command {
    std::string name, usage, summary;
    CommandFn run;
};

std::vector<Command>& registry();

struct Registrar {
    Registrar(std::string name, std::string usage, std::string summary, CommandFn fn) {
        registry().push_back({std::move(name), std::move(usage), std::move(summary), std::move(fn)});
    }
};

// Minimal option parsing shared by the commands: "-m X", "--temp 0.5", flags, positionals.
class Args {
public:
    explicit Args(const std::vector<std::string>& args) : args_(args) {}
    // Value of an option given by any of `names` (e.g. {"-m", "--model"}); consumes it.
    std::optional<std::string> take(std::initializer_list<const char*> names);
    bool flag(std::initializer_list<const char*> names);  // present? consumes it
    std::vector<std::string> positionals() const;         // what remains, in order
    // The first unconsumed argument that looks like an option, or "" (report it as an error).
    std::string unknown_option() const;

private:
    std::vector<std::string> args_;
    std::vector<bool> used_ = std::vector<bool>(args_.size(), false);
};

int fail(const std::string& message);  // prints "hearth-cli: message" to stderr, returns 1

}  // namespace hearth::cli
