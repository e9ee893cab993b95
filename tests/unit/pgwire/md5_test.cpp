#include "pgwire/md5.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace pgwarden::pgwire::md5 {
namespace {

using namespace std::string_literals;

TEST(Md5, HexDigestKnownVectors) {
    struct Case {
        std::string_view data;
        std::string_view hex;
    };
    // RFC 1321 appendix A.5, and `echo -n secretpostgres | md5sum`.
    const Case cases[] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"a", "0cc175b9c0f1b6a831c399e269772661"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"secretpostgres", "53f48b7c4b76a86ce72276c5755f217d"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(hex_digest(c.data), c.hex) << c.data;
    }
}

TEST(Md5, PasswordHash) {
    EXPECT_EQ(password_hash("secret", "postgres"), "md553f48b7c4b76a86ce72276c5755f217d");
    // What a PostgreSQL 15 server stored for CREATE ROLE alice PASSWORD 'pencil' with
    // password_encryption = md5.
    EXPECT_EQ(password_hash("pencil", "alice"), "md5ee69efad287c7423caf0b3229d71f567");
}

TEST(Md5, IsMd5Secret) {
    struct Case {
        std::string text;
        bool expected;
    };
    const Case cases[] = {
        {"md553f48b7c4b76a86ce72276c5755f217d", true},
        {"md5ee69efad287c7423caf0b3229d71f567", true},
        {"md553F48B7C4B76A86CE72276C5755F217D", false},  // PostgreSQL wants lower case
        {"MD553f48b7c4b76a86ce72276c5755f217d", false},
        {"md553f48b7c4b76a86ce72276c5755f217", false},    // 31 digits
        {"md553f48b7c4b76a86ce72276c5755f217dd", false},  // 33 digits
        {"md553f48b7c4b76a86ce72276c5755f217g", false},
        {"md553f48b7c4b76a86ce72276c5755f217\0"s, false},
        {"xyz53f48b7c4b76a86ce72276c5755f217d", false},
        {"md5", false},
        {"", false},
        {"secret", false},
        {"SCRAM-SHA-256$4096:c2FsdA==$a:b", false},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(is_md5_secret(c.text), c.expected) << c.text;
    }
}

TEST(Md5, Response) {
    // Hand-computed: md5(hex(md5("secretpostgres")) + "\x01\x02\x03\x04"), and the same for
    // alice/pencil with salt DE AD BE EF (Python hashlib).
    struct Case {
        std::string stored;
        std::string user;
        std::array<uint8_t, 4> salt;
        std::string expected;
    };
    const Case cases[] = {
        {"secret", "postgres", {1, 2, 3, 4}, "md5bb41a296aab6baccb36ff243a562abff"},
        {"md553f48b7c4b76a86ce72276c5755f217d",
         "postgres",
         {1, 2, 3, 4},
         "md5bb41a296aab6baccb36ff243a562abff"},
        // A stored hash is used as is: the user name no longer matters.
        {"md553f48b7c4b76a86ce72276c5755f217d",
         "someone-else",
         {1, 2, 3, 4},
         "md5bb41a296aab6baccb36ff243a562abff"},
        {"pencil", "alice", {0xde, 0xad, 0xbe, 0xef}, "md589ac9dabb63a4f0b959fff1b8cff5d71"},
        {"md5ee69efad287c7423caf0b3229d71f567",
         "alice",
         {0xde, 0xad, 0xbe, 0xef},
         "md589ac9dabb63a4f0b959fff1b8cff5d71"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(response(c.stored, c.user, c.salt), c.expected) << c.stored;
    }
}

TEST(Md5, ResponseDependsOnSalt) {
    EXPECT_NE(response("secret", "postgres", {1, 2, 3, 4}),
              response("secret", "postgres", {1, 2, 3, 5}));
    EXPECT_TRUE(is_md5_secret(response("secret", "postgres", {0, 0, 0, 0})));
}

}  // namespace
}  // namespace pgwarden::pgwire::md5
