#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "app/cli/command.h"

namespace hearth::cli {

std::vector<Command>& registry() {
    static std::vector<Command> commands;
    return commands;
}

std::optional<std::string> Args::take(std::initializer_list<const char*> names) {
    for (size_t i = 0; i + 1 < args_.size(); ++i) {
        if (used_[i]) continue;
        for (const char* n : names) {
            if (args_[i] == n) {
                used_[i] = used_[i + 1] = true;
                return args_[i + 1];
            }
        }
    }
    return std::nullopt;
}

bool Args::flag(std::initializer_list<const char*> names) {
    for (size_t i = 0; i < args_.size(); ++i) {
        if (used_[i]) continue;
        for (const char* n : names) {
            if (args_[i] == n) { used_[i] = true; return true; }
        }
    }
    return false;
}

std::vector<std::string> Args::positionals() const {
    std::vector<std::string> out;
    for (size_t i = 0; i < args_.size(); ++i) if (!used_[i]) out.push_back(args_[i]);
    return out;
}

std::string Args::unknown_option() const {
    for (size_t i = 0; i < args_.size(); ++i) {
        const std::string& a = args_[i];
        if (!used_[i] && a.size() > 1 && a[0] == '-' && !(a[1] >= '0' && a[1] <= '9')) return a;
    }
    return {};
}

int fail(const std::string& message) {
    std::fprintf(stderr, "hearth-cli: %s\n", message.c_str());
    return 1;
}

}  // namespace hearth::cli

static void print_help(FILE* out) {
    auto cmds = hearth::cli::registry();
    std::sort(cmds.begin(), cmds.end(), [](auto& a, auto& b) { return a.name < b.name; });
    std::fprintf(out, "hearth-cli — Hearth's engine from the command line (private, offline AI)\n\n"
                      "usage: hearth-cli COMMAND [OPTIONS]\n\ncommands:\n");
    for (const auto& c : cmds) std::fprintf(out, "  %-10s %s\n             %s %s\n", c.name.c_str(), c.summary.c_str(),
                                           c.name.c_str(), c.usage.c_str());
}

int main(int argc, char** argv) {
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" || std::string(argv[1]) == "help") {
        print_help(stdout);
        return argc < 2 ? 1 : 0;
    }
    const std::string name = argv[1];
    for (const auto& c : hearth::cli::registry()) {
        if (c.name == name) return c.run(std::vector<std::string>(argv + 2, argv + argc));
    }
    std::fprintf(stderr, "hearth-cli: unknown command '%s'\n\n", name.c_str());
    print_help(stderr);
    return 2;
}
