// The local API's request bodies (engine/serve/openai_request): anything a program on this machine
// POSTs to /v1/chat/completions, /v1/completions, /v1/embeddings, /tokenize or /detokenize. The
// first byte picks the endpoint (bit 2: embeddings; else bit 1: the tokenizer's; bit 0: chat or
// detokenize).
#include "engine/serve/openai_request.h"
#include "tests/fuzz/fuzz_target.h"

using namespace hearth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return -1;
    const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::optional<ApiError> e;
    if (data[0] & 4) {
        EmbeddingRequest r;
        e = parse_embedding_request(body, &r);
    } else if (data[0] & 2) {
        TokenizeRequest t;
        std::vector<int32_t> ids;
        e = data[0] & 1 ? parse_detokenize_request(body, &ids) : parse_tokenize_request(body, &t);
    } else {
        ApiRequest r;
        e = parse_api_request(body, data[0] & 1, &r);
    }
    return e ? fuzz::refused(e->message) : 0;
}

std::vector<std::string> hearth::fuzz::seeds() {
    const std::string chat(1, '\x01'), completion(1, '\x00'), tokenize(1, '\x02'), detokenize(1, '\x03'),
                      embeddings(1, '\x04');
    return {
        chat + R"({"model": "m", "messages": [{"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "!"}]}],
            "stream": true, "stream_options": {"include_usage": true}, "temperature": 0.2, "top_p": 0.9,
            "max_completion_tokens": 16, "stop": ["\n", "END"], "seed": 7, "presence_penalty": 0.5,
            "frequency_penalty": -0.5, "n": 1, "logprobs": false})",
        completion + R"({"prompt": "Once upon a time", "max_tokens": 8, "stop": "x", "seed": 9223372036854775807})",
        chat + R"({"messages": [{"role": "user", "content": ""}]})",
        chat + R"({"messages": [{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": null,
            "tool_calls": [{"id": "a1B2c3D4e", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "a1B2c3D4e", "content": "18 C"}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}], "tool_choice": {"type": "function", "function": {"name": "get_weather"}}})",
        chat + R"({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema", "json_schema":
            {"name": "p", "schema": {"type": "object", "properties": {"a": {"enum": [1, "b"]}, "c": {"type": ["string", "null"]}},
            "required": ["a"], "$defs": {"n": {"type": "integer"}}}}}})",
        completion + R"({"prompt": "", "stream": false, "temperature": 0})",
        chat + R"({"messages": [{"role": "user", "content": "x"}], "logprobs": true, "top_logprobs": 5,
            "logit_bias": {"13": -100, "50256": 2.5}, "top_k": 20, "min_p": 0.1, "repetition_penalty": 1.1})",
        completion + R"({"prompt": [[1, 450, 4996, 17354]], "echo": true, "logprobs": 1, "max_tokens": 0, "suffix": null,
            "best_of": 1, "repeat_penalty": 1.0})",
        tokenize + R"({"prompt": "Hello <|im_end|> 世界", "add_special_tokens": false})",
        tokenize + R"({"content": "x", "add_special": true, "with_pieces": true})",
        detokenize + R"({"tokens": [1, 15043, 3186, 0]})",
        embeddings + R"({"model": "m", "input": ["A ship", [1, 2, 3]], "encoding_format": "base64", "dimensions": 64})",
        embeddings + R"({"input": "x", "encoding_format": "float"})",
    };
}
