// Tiny random-weight llama models for the app tests, written by the project's GGUF writer
// (engine/testmodels/random_model.h). They produce nonsense text, but through the real engine: loading,
// chat template, tokenizer, KV cache, context shift and streaming are all exercised.
#pragma once

#include <QDir>
#include <QString>

#include <QFile>

#include "engine/gguf/gguf.h"
#include "engine/testmodels/random_model.h"

namespace hearth::app::test {

struct TinyModelSpec {
    int nEmbd = 64;
    int nLayer = 2;
    int nHead = 4;
    int nKvHead = 2;
    int nFf = 160;
    int nVocab = 512;
    int nCtxTrain = 4096;
    const char* name = "Tiny Test Model";
    // A mixture of experts (qwen3moe) when nExpert > 0: nExpertUsed of them per token.
    int nExpert = 0, nExpertUsed = 0;
};

// Big enough that a token takes about 10 ms on one thread: answers stream for seconds, as real ones
// do, so a test can watch text arrive and stop it (the tiny default may reach end-of-text at once).
inline TinyModelSpec slowSpec() {
    TinyModelSpec s;
    s.nEmbd = 256;
    s.nLayer = 4;
    s.nHead = 8;
    s.nKvHead = 4;
    s.nFf = 704;
    s.nVocab = 2048;
    return s;
}

// Writes `<dir>/<file>` and returns its path, or an empty string (and a message in *error).
inline QString writeTinyModel(const QString& dir, const QString& file, const TinyModelSpec& spec = {},
                              QString* error = nullptr) {
    QDir().mkpath(dir);
    const QString path = QDir(dir).filePath(file);
    RandomModelShape shape;
    shape.name = spec.name;
    shape.n_embd = spec.nEmbd;
    shape.n_layer = spec.nLayer;
    shape.n_head = spec.nHead;
    shape.n_kv_head = spec.nKvHead;
    shape.n_ff = spec.nFf;
    shape.n_vocab = spec.nVocab;
    shape.n_ctx_train = spec.nCtxTrain;
    if (spec.nExpert > 0) {
        shape.arch = "qwen3moe";
        shape.n_expert = spec.nExpert;
        shape.n_expert_used = spec.nExpertUsed;
    }
    const Status st = write_random_llama_model(path.toStdString(), shape, GgmlType::F32, 1234);
    if (!st.ok()) {
        if (error) *error = QString::fromStdString(st.message());
        return {};
    }
    return path;
}

// A file of the shared reference data: $HEARTH_TESTDATA, else the build's default (../shared/testdata
// beside the source tree), as the engine tests find it.
// Cleaned (no "..") because the app stores the paths it is given cleaned, and the default
// testdata folder is "<source>/../shared/testdata".
inline QString testdataFile(const QString& relative) {
    return QDir::cleanPath(
        QDir(qEnvironmentVariable("HEARTH_TESTDATA", QStringLiteral(HEARTH_DEFAULT_TESTDATA))).filePath(relative));
}

// A model the engine cannot use: GPT-2's BPE vocabulary (from `gpt2VocabGguf`, e.g.
// HEARTH_TESTDATA/vocab/ggml-vocab-gpt-2.gguf) with a tokenizer.ggml.pre nobody knows, in an
// otherwise good random model. Returns its path, or an empty string (and a message in *error).
inline QString writeUnknownPreModel(const QString& dir, const QString& file, const QString& gpt2VocabGguf,
                                    QString* error = nullptr) {
    auto fail = [&](const std::string& m) {
        if (error) *error = QString::fromStdString(m);
        return QString();
    };
    auto vocab = gguf::File::open(gpt2VocabGguf.toStdString());
    if (!vocab.ok()) return fail(vocab.message());
    gguf::Writer w;
    w.copy_metadata_from(**vocab);
    w.set_string("tokenizer.ggml.pre", "nobody-knows-this-one");
    QDir().mkpath(dir);
    const QString badVocab = QDir(dir).filePath(file + QStringLiteral(".vocab.tmp"));
    Status st = w.write(badVocab.toStdString());
    if (!st.ok()) return fail(st.message());
    RandomModelShape shape;
    shape.name = "Unknown Pre";
    shape.vocab_from = badVocab.toStdString();
    const QString path = QDir(dir).filePath(file);
    st = write_random_llama_model(path.toStdString(), shape, GgmlType::F32, 7);
    QFile::remove(badVocab);
    if (!st.ok()) return fail(st.message());
    return path;
}

}  // namespace hearth::app::test
