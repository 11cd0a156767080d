// Recognizing, a byte at a time, the JSON texts a compiled schema admits (json_schema.h): after
// each byte it is known whether the text so far can still become such a value, so constrained
// sampling (json_constraint.h) lets through only the tokens whose bytes keep it so. Every state
// it allows has a way to finish (no key, enum value or bound can lead nowhere), whitespace runs
// are at most kMaxJsonWhitespace bytes and numbers at most kMaxJsonNumber (within a double's
// range), so a model cannot be held forever between two values. Strings must be well-formed UTF-8 and may not escape to a
// surrogate (\uD800-\uDFFF), so what it admits Hearth's own strict JSON parser reads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/sampling/json_schema.h"

namespace hearth {

constexpr int kMaxJsonWhitespace = 40;  // pretty-printed JSON ten levels deep still fits
constexpr int kMaxJsonNumber = 48;      // bytes of one number
constexpr int kMaxJsonExponent = 2;     // digits of its exponent (48 digits × 10^±99 stay within a double)

class JsonMatcher {
public:
    explicit JsonMatcher(const JsonSchema& schema);  // `schema` outlives the matcher
    // Takes the next byte; false when no admitted text continues this way (the matcher is then
    // left in an unspecified state: probe on a copy).
    bool feed(unsigned char b);
    bool feed(std::string_view bytes);
    bool can_end() const;    // the text so far is a whole admitted value
    bool finished() const;   // ... and nothing may follow it (the value is closed)
    // Objects and arrays open. The only state with no byte to take is an object or array a schema
    // requires at the depth bound (a schema that requires itself inside itself admits no text).
    int depth() const;

private:
    enum class Kind : uint8_t { Value, Object, Array, String, Key, Number, Literal };
    struct Frame {
        Kind kind = Kind::Value;
        uint8_t state = 0;
        bool is_key = false;           // String: an object key (collected into key_)
        bool integer = false;          // Number
        const SchemaNode* node = nullptr;
        const std::vector<std::string>* literals = nullptr;  // Literal, Key: the candidates
        uint64_t mask = 0;             // Object: declared keys used; Key, Literal: candidates still matching
        int64_t n = 0;                 // Array: items; Key, Literal, Number: bytes; String: code points
        int cur = -1;                  // Object: the declared key whose value comes next (-1: an undeclared one);
                                       // Number: digits of the exponent
        uint8_t need = 0, lo = 0x80, hi = 0xBF;  // String: UTF-8 continuation bytes expected and the next one's range
    };
    bool take_whitespace();
    bool start_value(Frame& f, unsigned char b);
    bool start_key(Frame& object);
    bool more_keys(const Frame& object) const;
    int string_byte(Frame& f, unsigned char b);    // 1 taken, 0 refused
    int number_byte(Frame& f, unsigned char b);    // 1 taken, 0 refused, 2 ended before b
    int literal_byte(Frame& f, unsigned char b);   // the same
    bool literal_complete(const Frame& f) const;
    bool literal_extends(const Frame& f) const;
    void end_key(int declared);                    // the key frame on top ended; its object goes on

    std::vector<Frame> frames_;
    std::string key_;   // the undeclared-or-not key being read in an object that admits other keys
    int ws_run_ = 0;
};

}  // namespace hearth
