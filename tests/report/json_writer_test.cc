// JsonWriter: every string and number it writes parses back (nlohmann::json)
// to what was given, on the plain fast path and on the escaping path alike.
#include "report/json_writer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

namespace gms {
namespace {

// Writes one array with the given strings and returns the JSON text.
std::string jsonOf(const std::vector<std::string>& items) {
  Out out(nullptr);  // nothing is flushed anywhere: the text stays in the buffer
  out.hold(true);
  JsonWriter w(out);
  w.beginArray();
  for (const auto& s : items) w.string(s);
  w.endArray();
  return std::string(out.buffer().data(), out.buffer().size());
}

TEST(JsonWriter, StringsRoundTrip) {
  std::vector<std::string> in = {
      "",
      "key-123456",
      std::string(5000, 'x'),                       // longer than any inline buffer
      "say \"hi\"\\now",                            // quote and backslash
      "tab\there\nnewline\r\x01\x1f",               // control characters
      "prefix then \"quote\"",                      // a plain prefix, then an escape
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",  // valid UTF-8: kept as is
  };
  std::string text = jsonOf(in);
  auto j = nlohmann::json::parse(text);
  ASSERT_EQ(j.size(), in.size());
  for (size_t i = 0; i < in.size(); i++) EXPECT_EQ(j[i].get<std::string>(), in[i]) << i;
  EXPECT_NE(text.find("\\u0001"), std::string::npos) << text;
}

TEST(JsonWriter, InvalidUtf8BecomesReplacementCharacter) {
  std::string text = jsonOf({"ok\xff\xfe end", "\xc0\xaf", "tail \xe2\x82"});
  auto j = nlohmann::json::parse(text);  // must be valid JSON
  EXPECT_EQ(j[0].get<std::string>(), "ok\xef\xbf\xbd\xef\xbf\xbd end");
  EXPECT_EQ(j[1].get<std::string>(), "\xef\xbf\xbd\xef\xbf\xbd");  // overlong: 2 bytes rejected
  EXPECT_EQ(j[2].get<std::string>(), "tail \xef\xbf\xbd\xef\xbf\xbd");
}

TEST(JsonWriter, IntegersRoundTrip) {
  Out out(nullptr);
  out.hold(true);
  JsonWriter w(out);
  w.beginArray();
  for (int64_t v : {int64_t(0), int64_t(-1), int64_t(42), std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max()})
    w.integer(v);
  w.uinteger(std::numeric_limits<uint64_t>::max());
  w.endArray();
  auto j = nlohmann::json::parse(std::string(out.buffer().data(), out.buffer().size()));
  ASSERT_EQ(j.size(), 6u);
  EXPECT_EQ(j[0].get<int64_t>(), 0);
  EXPECT_EQ(j[1].get<int64_t>(), -1);
  EXPECT_EQ(j[2].get<int64_t>(), 42);
  EXPECT_EQ(j[3].get<int64_t>(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(j[4].get<int64_t>(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(j[5].get<uint64_t>(), std::numeric_limits<uint64_t>::max());
}

}  // namespace
}  // namespace gms
