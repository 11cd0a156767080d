// hearth-cli tokenize: text to token ids with a model's vocabulary (a GGUF file) or a Hugging Face
// tokenizer folder. Prints the ids space-separated on one line, or one "id<TAB>piece" per line.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "app/cli/command.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/unicode.h"

namespace {

int run_tokenize(const std::vector<std::string>& argv) {
    using hearth::cli::fail;
    hearth::cli::Args args(argv);
    const auto model = args.take({"-m", "--model"});
    const auto file = args.take({"-f", "--file"});
    const bool no_bos = args.flag({"--no-bos"});
    const bool no_special = args.flag({"--no-parse-special"});
    const bool pieces = args.flag({"--pieces"});
    if (const std::string bad = args.unknown_option(); !bad.empty()) return fail("tokenize: unknown option " + bad);
    if (!model) return fail("tokenize: -m MODEL_OR_TOKENIZER_DIR is required");
    const std::vector<std::string> pos = args.positionals();

    std::string text;
    if (file) {
        if (!pos.empty()) return fail("tokenize: give the text either as an argument or with -f, not both");
        std::ifstream in(*file, std::ios::binary);
        if (!in) return fail("tokenize: cannot read " + *file);
        std::ostringstream ss;
        ss << in.rdbuf();
        text = ss.str();
    } else {
        if (pos.size() != 1) return fail("tokenize: expected exactly one TEXT argument (quote it), or -f FILE");
        text = pos[0];
    }

    auto tok = hearth::tokenizer::Tokenizer::from_path(*model);
    if (!tok.ok()) return fail(tok.message());
    const auto& t = **tok;
    std::vector<int32_t> ids = t.encode(text, /*add_special=*/false, /*parse_special=*/!no_special);
    if (!no_bos && t.add_bos()) ids.insert(ids.begin(), t.bos_id());
    if (t.add_eos()) ids.push_back(t.eos_id());

    if (pieces) {
        for (int32_t id : ids) {
            // A piece that is part of a UTF-8 character (byte token) is shown as its vocabulary text.
            const std::string p = t.token_to_piece(id, true);
            std::printf("%d\t%s\n", id, hearth::tokenizer::is_valid_utf8(p) ? p.c_str() : t.token_text(id).c_str());
        }
        return 0;
    }
    std::string line;
    for (size_t i = 0; i < ids.size(); ++i) {
        if (i) line += ' ';
        line += std::to_string(ids[i]);
    }
    std::printf("%s\n", line.c_str());
    return 0;
}

const hearth::cli::Registrar reg{
    "tokenize", "-m MODEL_OR_TOKENIZER_DIR [--no-bos] [--no-parse-special] [--pieces] (TEXT | -f FILE)",
    "token ids of a text (special tokens in the text are parsed unless --no-parse-special)", run_tokenize};

}  // namespace
