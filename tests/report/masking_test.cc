// Secret masking policy (report/masking.h) and its use by the sinks: pure, no
// target needed.
#include "report/masking.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "report/json_writer.h"
#include "report/out.h"
#include "report/sinks.h"

namespace gms {
namespace {

TEST(Masking, SecretNames) {
  MaskPolicy p;
  for (const char* n :
       {"password", "Password", "passwd", "DBPass", "secret", "ClientSecret", "Token",
        "accessToken", "api_key", "APIKey", "api-key", "private_key", "PrivateKey", "Authorization",
        "auth", "Credentials", "session_id", "SessionID"})
    EXPECT_TRUE(p.secretName(n)) << n;
  for (const char* n :
       {"Name", "user", "ID", "Host", "Limits", "key", "value", "session", "private"})
    EXPECT_FALSE(p.secretName(n)) << n;
}

TEST(Masking, SecretValues) {
  MaskPolicy p;
  for (const char* v :
       {"Bearer abc.def", "Authorization: Bearer x", "bearer\tqwerty",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE...", "-----BEGIN PRIVATE KEY-----",
        "-----BEGIN OPENSSH PRIVATE KEY-----", "id=AKIAIOSFODNN7EXAMPLE",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        "0123456789abcdef0123456789abcdef",  // 32 hex
        "token=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "dGhpcyBpcyBhIHNlY3JldCBrZXkgZm9yIHRlc3Rpbmc9Qx7"})  // base64, mixed case + digits
    EXPECT_TRUE(p.secretValue(v)) << v;
  for (const char* v :
       {"", "hello, world", "Bearer", "Bearer ", "user:224", "AKIA1234",
        "-----BEGIN CERTIFICATE-----", "eyJhbGciOiJIUzI1NiJ9", "eyJ.a", "/usr/lib/go-1.19/bin/go",
        "0123456789abcdef0123456789abcde",           // 31 hex
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",  // long, no entropy
        "ThisIsAVeryLongCamelCaseIdentifierName", "github.com/some/module/path/v2/internal/pkg"})
    EXPECT_FALSE(p.secretValue(v)) << v;
}

TEST(Masking, UserPatterns) {
  MaskPolicy p;
  EXPECT_FALSE(p.secretValue("customer-4242"));
  EXPECT_FALSE(p.secretName("ssn"));
  p.addPattern("customer-[0-9]+");
  p.addPattern("(?i)^SSN$");
  EXPECT_TRUE(p.secretValue("customer-4242"));
  EXPECT_TRUE(p.secretName("ssn"));
  EXPECT_TRUE(p.secretName("SSN"));
  EXPECT_FALSE(p.secretName("ssn2"));
  EXPECT_THROW(p.addPattern("(unclosed"), Error);
}

TEST(Masking, MaskedText) { EXPECT_EQ(maskedText(23), "<masked: 23 bytes>"); }

// A Masker sees the stream a sink sees.
TEST(Masking, MaskerFollowsNames) {
  MaskPolicy p;
  Masker m(p);
  // struct {Name: "x", Token: "y", Auth: {User: "u", Pass: "p"}, Tags: ["a"]}
  m.begin();
  m.field("Name");
  EXPECT_FALSE(m.string("x", 1));
  m.field("Token");
  EXPECT_TRUE(m.string("y", 1));
  m.field("Auth");
  m.begin();
  m.field("User");
  EXPECT_TRUE(m.string("u", 1));  // everything under a secret name
  m.field("N");
  m.scalar();
  m.end();
  m.field("Tags");
  m.begin();
  EXPECT_FALSE(m.string("a", 1));  // the secret region ended with Auth
  m.end();
  m.end();
  // map[string]string{"password": "hunter2", "user": "bob"}
  m.begin();
  m.entryKey();
  EXPECT_FALSE(m.string("password", 8));  // the key itself is shown
  m.entryValue();
  EXPECT_TRUE(m.string("hunter2", 7));
  m.entryKey();
  EXPECT_FALSE(m.string("user", 4));
  m.entryValue();
  EXPECT_FALSE(m.string("bob", 3));
  m.end();
}

TEST(Masking, RevealShowsEverything) {
  MaskPolicy p;
  p.reveal = true;
  Masker m(p);
  m.field("Password");
  EXPECT_FALSE(m.string("hunter2", 7));
  EXPECT_FALSE(m.string("Bearer abc", 10));
}

TEST(Masking, SinksApplyThePolicy) {
  activeMaskPolicy() = MaskPolicy{};
  Out o(nullptr);
  {
    TextValueSink t(o);
    t.beginStruct(nullptr);
    t.field("Name");
    t.string("bob", 3);
    t.field("Password");
    t.string("hunter2", 7);
    t.endStruct();
  }
  EXPECT_EQ(std::string(o.buffer().data(), o.buffer().size()),
            "{Name: \"bob\", Password: <masked: 7 bytes>}");
  o.buffer().clear();
  {
    JsonWriter w(o);
    JsonValueSink j(w);
    j.beginMap(1);
    j.entryKey();
    j.string("api_key", 7);
    j.entryValue();
    j.string("abc", 40);  // truncated: the full length is what is reported
    j.endEntry();
    j.endMap(0);
  }
  EXPECT_EQ(std::string(o.buffer().data(), o.buffer().size()),
            R"([{"key":"api_key","value":"<masked: 40 bytes>"}])");
}

}  // namespace
}  // namespace gms
