#include <gtest/gtest.h>

#include "engine/util/json.h"

using hearth::json::Value;
using hearth::json::parse;

TEST(Json, ParsesNestedDocument) {
    auto r = parse(R"({"a": [1, 2.5, "x\u00e9\ud83d\ude00", true, null], "b": {"c": -3}})");
    ASSERT_TRUE(r.ok()) << r.message();
    const Value& v = *r;
    ASSERT_EQ(v["a"].size(), 5u);
    EXPECT_EQ(v["a"].as_array()[0].as_int(), 1);
    EXPECT_DOUBLE_EQ(v["a"].as_array()[1].as_double(), 2.5);
    EXPECT_EQ(v["a"].as_array()[2].as_string(), "x\xc3\xa9\xf0\x9f\x98\x80");
    EXPECT_TRUE(v["a"].as_array()[3].as_bool());
    EXPECT_TRUE(v["a"].as_array()[4].is_null());
    EXPECT_EQ(v["b"]["c"].as_int(), -3);
    EXPECT_TRUE(v["missing"].is_null());
}

TEST(Json, DumpsLikePythonJsonDumps) {
    // Expected strings are what Python 3.11's json.dumps(x, ensure_ascii=False) prints.
    auto r = parse(R"({"k": [1, 0.5, 1e-05, 1e+16, 100.0, "a\"b\n", "中文"], "e": {}, "f": []})");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->dump(), R"({"k": [1, 0.5, 1e-05, 1e+16, 100.0, "a\"b\n", "中文"], "e": {}, "f": []})");
    EXPECT_EQ(Value("中").dump(-1, true), R"("\u4e2d")");
    EXPECT_EQ(Value("\xf0\x9f\x98\x80").dump(-1, true), R"("\ud83d\ude00")");
    EXPECT_EQ(Value(0.1).dump(), "0.1");
    EXPECT_EQ(Value(123456789.0).dump(), "123456789.0");
    EXPECT_EQ(Value(1.5e300).dump(), "1.5e+300");
    auto o = parse(R"({"a": [1, {"b": 2}]})");
    EXPECT_EQ(o->dump(2), "{\n  \"a\": [\n    1,\n    {\n      \"b\": 2\n    }\n  ]\n}");
}

TEST(Json, RejectsBadInputWithPosition) {
    for (const char* bad : {"", "{", "[1,", "{\"a\" 1}", "\"abc", "[1 2]", "tru", "{\"a\":1}x", "\"\\x\"", "\"\\u12\""}) {
        auto r = parse(bad);
        EXPECT_FALSE(r.ok()) << bad;
        if (!r.ok()) EXPECT_NE(r.message().find("line"), std::string::npos) << r.message();
    }
    // hostile nesting is an error, not a stack overflow
    std::string deep(100000, '[');
    EXPECT_FALSE(parse(deep).ok());
}

// JSON text is UTF-8 (RFC 8259): a string with bytes that are not well-formed UTF-8 is an error,
// so an API client's stop string or a hostile tokenizer.json cannot carry them further (a stop
// string starting inside a character cut the streamed answer mid-character). What Hearth writes is
// UTF-8 whatever a Value holds: a byte that starts no well-formed sequence becomes U+FFFD.
TEST(Json, StringsMustBeUtf8AndDumpsAlwaysAre) {
    for (const char* bad : {"\"\x80\"", "\"a\xC3\"", "\"\xC0\xAF\"", "\"\xE0\x80\xAF\"", "\"\xED\xA0\x80\"",
                            "\"\xF4\x90\x80\x80\"", "\"\xF8\x88\x80\x80\x80\"", "{\"\xFF\": 1}", "[\"ok\", \"\xE4\xB8\"]"}) {
        auto r = parse(bad);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_NE(r.message().find("invalid UTF-8"), std::string::npos) << r.message();
    }
    for (const char* good : {"\"\xC3\xA9\"", "\"\xE4\xB8\x96\xE7\x95\x8C\"", "\"\xF0\x9F\x98\x80\"", "\"\xEF\xBF\xBF\"",
                             "\"\xF4\x8F\xBF\xBF\""}) {
        auto r = parse(good);
        ASSERT_TRUE(r.ok()) << good << ": " << r.message();
        EXPECT_EQ(r->dump(), good);
    }
    EXPECT_EQ(Value(std::string("a\x80" "b\xE4\xB8")).dump(), "\"a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD\"");
    EXPECT_EQ(Value(std::string("a\x80")).dump(-1, true), "\"a\\ufffd\"");
}
