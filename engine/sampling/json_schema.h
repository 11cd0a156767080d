// A JSON Schema compiled for constrained decoding (the API's `response_format`): the subset that
// decides, byte by byte, what may come next in a JSON text (json_grammar.h walks it). Supported:
// type (one or a list), properties, required, additionalProperties (false or a schema; absent
// means no other keys, as llama.cpp's json-schema-to-grammar chooses, since a model left free to
// add keys adds them), items, minItems, maxItems, minLength, maxLength, enum, const, nullable,
// anyOf / oneOf whose branches begin differently (an object or null, a string or a number: the
// first byte of the value picks the branch), allOf of one schema, $ref to "#", "#/$defs/…" or
// "#/definitions/…" (recursion allowed). Annotations (title, description, default, examples,
// format, …) are ignored, as the standard asks. Any other keyword constrains what the model may
// write in a way this walk cannot, so it is an error naming the keyword and where it is: a
// client then knows its schema would not be honoured, rather than getting text that breaks it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/util/json.h"
#include "engine/util/status.h"

namespace hearth {

// The kinds of JSON value a schema node admits (bits).
enum JsonKind : uint8_t {
    kJsonObject = 1, kJsonArray = 2, kJsonString = 4, kJsonNumber = 8, kJsonInteger = 16, kJsonBool = 32, kJsonNull = 64,
    kJsonAnyKind = 127,
};

struct SchemaNode {
    uint8_t kinds = 0;                  // JsonKind bits; kJsonNumber admits integers too
    std::vector<std::string> literals;  // enum/const values as compact JSON text (admitted besides `kinds`)
    // Object: declared keys (their JSON-escaped text, without quotes) and their schemas, in order.
    std::vector<std::string> keys;
    std::vector<const SchemaNode*> props;
    uint64_t required = 0;              // bit i: keys[i] is required
    const SchemaNode* additional = nullptr;  // schema of undeclared keys; null: none allowed
    // Array
    const SchemaNode* items = nullptr;  // never null once compiled
    int64_t min_items = 0, max_items = -1;
    // String: length in code points
    int64_t min_length = 0, max_length = -1;
};

constexpr size_t kMaxSchemaKeys = 64;      // declared properties of one object, values of one enum
constexpr int kMaxJsonDepth = 64;          // nesting the walk allows

struct JsonSchema {
    std::vector<std::unique_ptr<SchemaNode>> nodes;  // owns every node
    const SchemaNode* root = nullptr;
};

// Compiles `schema` (a JSON Schema document). Errors name the keyword and its JSON pointer.
Result<std::shared_ptr<const JsonSchema>> compile_json_schema(const json::Value& schema);
// response_format {"type": "json_object"}: any JSON object.
std::shared_ptr<const JsonSchema> any_json_object_schema();

}  // namespace hearth
