#include "pgwire/scram.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pgwarden::pgwire::scram {
namespace {

using namespace std::string_literals;

// RFC 7677 section 3, with the client-first username "user" the RFC uses.
constexpr std::string_view kRfcUser = "user";
constexpr std::string_view kRfcPassword = "pencil";
constexpr std::string_view kRfcClientNonce = "rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kRfcServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view kRfcSaltB64 = "W22ZaJ0SNY7soEsUEjb6gQ==";
constexpr std::string_view kRfcClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kRfcServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view kRfcClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view kRfcServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
// The RFC's password as a verifier, computed independently (Python hashlib/hmac).
constexpr std::string_view kRfcSecret =
    "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
    "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";
constexpr std::string_view kRfcClientKeyB64 = "pg/JI9Z+hkSpLRa5btpe9GVrDHJcSEN0viVTVXaZbos=";

// Read from pg_authid.rolpassword of a PostgreSQL 15.x server after
// ALTER ROLE postgres PASSWORD 'pencil' with password_encryption = scram-sha-256.
constexpr std::string_view kPg15Secret =
    "SCRAM-SHA-256$4096:UEzygnTQiNkWDCKMzEAlWw==$kChlVOvJKif8/vGpgpY0eVPuJDVabDSRBErES1vEoVQ=:"
    "Fdu4gMMMjiegn81iIz2WTwJ/NSyrPTybwj+LSHr7jJM=";

// Computed once: PBKDF2 with 4096 rounds in every loop iteration would dominate the run time.
const Secret& rfc_secret() {
    static const Secret secret = make_secret(kRfcPassword, *base64_decode(kRfcSaltB64), 4096);
    return secret;
}

Key sha256_of(const Key& key) {
    Key out{};
    unsigned int len = 0;
    EVP_Digest(key.data(), key.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

std::string key_b64(const Key& key) {
    return base64_encode(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
}

// Runs a whole exchange; returns the first error, if any, from either side.
std::optional<common::Error> run_exchange(ClientExchange& client, ServerExchange& server) {
    auto server_first = server.on_client_first(client.client_first());
    if (!server_first) {
        return server_first.error();
    }
    auto client_final = client.on_server_first(*server_first);
    if (!client_final) {
        return client_final.error();
    }
    auto server_final = server.on_client_final(*client_final);
    if (!server_final) {
        return server_final.error();
    }
    auto done = client.on_server_final(*server_final);
    if (!done) {
        return done.error();
    }
    return std::nullopt;
}

// ---- base64 ----

TEST(ScramBase64, Rfc4648Vectors) {
    struct Case {
        std::string_view raw;
        std::string_view encoded;
    };
    const Case cases[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
        {"n,,", "biws"},
        {"y,,", "eSws"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(base64_encode(c.raw), c.encoded) << c.raw;
        auto decoded = base64_decode(c.encoded);
        ASSERT_TRUE(decoded.has_value()) << c.encoded;
        EXPECT_EQ(*decoded, c.raw);
    }
}

TEST(ScramBase64, RoundTripsEveryByteAndLength) {
    std::string all;
    for (int i = 0; i < 256; ++i) {
        all += static_cast<char>(i);
    }
    for (size_t len = 0; len <= all.size(); ++len) {
        std::string raw = all.substr(all.size() - len);
        auto decoded = base64_decode(base64_encode(raw));
        ASSERT_TRUE(decoded.has_value()) << len;
        EXPECT_EQ(*decoded, raw) << len;
    }
}

TEST(ScramBase64, RejectsInvalid) {
    const std::string_view cases[] = {
        "Zg",        // no padding
        "Zg=",       // short padding
        "Z===",      // three padding characters
        "====",      // only padding
        "=Zm9",      // padding first
        "Zm=v",      // padding in the middle of a group
        "Zg==Zg==",  // padding before the last group
        "Zh==",      // unused bits set: not the canonical encoding of "f"
        "Zm9=",      // unused bits set: not the canonical encoding of "fo"
        "Zm9v ",     // whitespace
        "Zm 9v",     // whitespace inside
        "Zm9v\n",    // newline
        "Zm-v",      // URL-safe alphabet
        "Zm_v",      // URL-safe alphabet
        "Zm9\xff",   // non-ASCII
        "A",         // length 1
        "Zm9vY",     // length 5
    };
    for (auto text : cases) {
        EXPECT_FALSE(base64_decode(text).has_value()) << text;
    }
    EXPECT_FALSE(base64_decode("Zm\0v"s).has_value());
}

// ---- nonces and salts ----

TEST(ScramRandom, NonceIsPrintableAndFresh) {
    std::set<std::string> seen;
    for (int i = 0; i < 50; ++i) {
        std::string nonce = random_nonce();
        EXPECT_EQ(nonce.size(), 24u);
        for (char c : nonce) {
            EXPECT_TRUE(c > 0x20 && c < 0x7f && c != ',') << nonce;
        }
        EXPECT_TRUE(seen.insert(nonce).second);
    }
    EXPECT_EQ(random_salt().size(), 16u);
    EXPECT_NE(random_salt(), random_salt());
}

// ---- secrets ----

TEST(ScramSecret, MakeSecretMatchesIndependentComputation) {
    EXPECT_EQ(encode_secret(rfc_secret()), kRfcSecret);
}

TEST(ScramSecret, ParsesPostgres15Verifier) {
    auto secret = parse_secret(kPg15Secret);
    ASSERT_TRUE(secret.ok()) << secret.error().message;
    EXPECT_TRUE(is_scram_secret(kPg15Secret));
    EXPECT_EQ(secret->iterations, 4096);
    EXPECT_EQ(secret->salt.size(), 16u);
    EXPECT_EQ(encode_secret(*secret), kPg15Secret);
    // The same derivation as PostgreSQL's: the verifier can be rebuilt from the password.
    EXPECT_EQ(encode_secret(make_secret("pencil", secret->salt, secret->iterations)), kPg15Secret);
}

TEST(ScramSecret, Postgres15VerifierAuthenticatesItsPassword) {
    auto secret = parse_secret(kPg15Secret);
    ASSERT_TRUE(secret.ok());
    ClientExchange client("pencil");
    ServerExchange server(*secret);
    EXPECT_FALSE(run_exchange(client, server).has_value());

    ClientExchange wrong("pencil2");
    ServerExchange server2(*secret);
    auto error = run_exchange(wrong, server2);
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->code, "28P01");
}

TEST(ScramSecret, EncodeParseRoundTrip) {
    for (int iterations : {1, 4096, 100000}) {
        Secret secret = make_secret("pw", random_salt(), iterations);
        auto parsed = parse_secret(encode_secret(secret));
        ASSERT_TRUE(parsed.ok()) << parsed.error().message;
        EXPECT_EQ(parsed->iterations, secret.iterations);
        EXPECT_EQ(parsed->salt, secret.salt);
        EXPECT_EQ(parsed->stored_key, secret.stored_key);
        EXPECT_EQ(parsed->server_key, secret.server_key);
    }
}

TEST(ScramSecret, RejectsBadVerifiers) {
    const std::string key = "kChlVOvJKif8/vGpgpY0eVPuJDVabDSRBErES1vEoVQ=";
    const std::string short_key = base64_encode(std::string(31, 'k'));
    const std::string long_key = base64_encode(std::string(33, 'k'));
    const std::string good = "SCRAM-SHA-256$4096:UEzygnTQiNkWDCKMzEAlWw==$" + key + ":" + key;
    ASSERT_TRUE(parse_secret(good).ok());
    const std::vector<std::string> cases = {
        "",
        "md5ee69efad287c7423caf0b3229d71f567",
        "pencil",
        "SCRAM-SHA-256$",
        "scram-sha-256$4096:UEzygnTQiNkWDCKMzEAlWw==$" + key + ":" + key,
        "SCRAM-SHA-1$4096:UEzygnTQiNkWDCKMzEAlWw==$" + key + ":" + key,
        "SCRAM-SHA-256$4096:UEzygnTQiNkWDCKMzEAlWw==",
        "SCRAM-SHA-256$4096:UEzygnTQiNkWDCKMzEAlWw==$" + key,
        "SCRAM-SHA-256$4096$" + key + ":" + key,
        "SCRAM-SHA-256$0:UEzygnTQiNkWDCKMzEAlWw==$" + key + ":" + key,
        "SCRAM-SHA-256$-1:UEzygnTQiNkWDCKMzEAlWw==$" + key + ":" + key,
        "SCRAM-SHA-256$04096:UEzygnTQiNkWDCKMzEAlWw==$" + key + ":" + key,
        "SCRAM-SHA-256$abc:UEzygnTQiNkWDCKMzEAlWw==$" + key + ":" + key,
        "SCRAM-SHA-256$99999999999:UEzygnTQiNkWDCKMzEAlWw==$" + key + ":" + key,
        "SCRAM-SHA-256$:UEzygnTQiNkWDCKMzEAlWw==$" + key + ":" + key,
        "SCRAM-SHA-256$4096:$" + key + ":" + key,
        "SCRAM-SHA-256$4096:UEzygnTQiNkWDCKMzEAlWw=$" + key + ":" + key,
        "SCRAM-SHA-256$4096:UEzygnTQiNkWDCKMzEAlWw==$" + short_key + ":" + key,
        "SCRAM-SHA-256$4096:UEzygnTQiNkWDCKMzEAlWw==$" + key + ":" + long_key,
        "SCRAM-SHA-256$4096:UEzygnTQiNkWDCKMzEAlWw==$" + key + ":",
        "SCRAM-SHA-256$4096:UEzygnTQiNkWDCKMzEAlWw==$:" + key,
        "SCRAM-SHA-256$4096:UEzygnTQiNkWDCKMzEAlWw==$" + key + ":" + key + ":" + key,
        "SCRAM-SHA-256$4096:UEzygnTQiNkWDCKMzEAlWw==$" + key + ":" + key + "$x",
        good + "\n",
        " " + good,
        good + "\0"s,
    };
    for (const auto& text : cases) {
        auto parsed = parse_secret(text);
        ASSERT_FALSE(parsed.ok()) << text;
        EXPECT_EQ(parsed.error().code, "08P01") << text;
        EXPECT_FALSE(is_scram_secret(text)) << text;
    }
}

// ---- RFC 7677 test vector, both sides ----

TEST(ScramExchange, Rfc7677VectorServerSide) {
    ServerExchange server(rfc_secret(), std::string(kRfcServerNonce));
    auto server_first = server.on_client_first(kRfcClientFirst);
    ASSERT_TRUE(server_first.ok()) << server_first.error().message;
    EXPECT_EQ(*server_first, kRfcServerFirst);
    EXPECT_FALSE(server.client_key().has_value());
    auto server_final = server.on_client_final(kRfcClientFinal);
    ASSERT_TRUE(server_final.ok()) << server_final.error().message;
    EXPECT_EQ(*server_final, kRfcServerFinal);
    ASSERT_TRUE(server.client_key().has_value());
    EXPECT_EQ(key_b64(*server.client_key()), kRfcClientKeyB64);
    EXPECT_EQ(sha256_of(*server.client_key()), rfc_secret().stored_key);
}

TEST(ScramExchange, Rfc7677VectorClientSide) {
    ClientExchange client{std::string(kRfcPassword), std::string(kRfcClientNonce)};
    client.set_username(kRfcUser);
    EXPECT_EQ(client.client_first(), kRfcClientFirst);
    EXPECT_EQ(client.client_first(), kRfcClientFirst);  // same message when asked again
    auto client_final = client.on_server_first(kRfcServerFirst);
    ASSERT_TRUE(client_final.ok()) << client_final.error().message;
    EXPECT_EQ(*client_final, kRfcClientFinal);
    auto done = client.on_server_final(kRfcServerFinal);
    EXPECT_TRUE(done.ok()) << done.error().message;
}

Key key_from_b64(std::string_view text) {
    auto raw = base64_decode(text);
    Key key{};
    if (raw && raw->size() == key.size()) {
        std::copy(raw->begin(), raw->end(), key.begin());
    }
    return key;
}

TEST(ScramExchange, Rfc7677VectorClientSideWithKeys) {
    // Passthrough: the keys alone reproduce the proof a password would give.
    ClientExchange client(key_from_b64(kRfcClientKeyB64), rfc_secret().server_key,
                          std::string(kRfcClientNonce));
    client.set_username(kRfcUser);
    client.expect_salt(*base64_decode(kRfcSaltB64), 4096);
    EXPECT_EQ(client.client_first(), kRfcClientFirst);
    auto client_final = client.on_server_first(kRfcServerFirst);
    ASSERT_TRUE(client_final.ok()) << client_final.error().message;
    EXPECT_EQ(*client_final, kRfcClientFinal);
    EXPECT_TRUE(client.on_server_final(kRfcServerFinal).ok());
}

TEST(ScramExchange, UsernameIsEscapedAndIgnoredByServer) {
    ClientExchange client("pencil", "abc");
    client.set_username("a,b=c");
    EXPECT_EQ(client.client_first(), "n,,n=a=2Cb=3Dc,r=abc");
    ServerExchange server(rfc_secret());
    EXPECT_FALSE(run_exchange(client, server).has_value());
}

// ---- round trips ----

TEST(ScramExchange, RoundTripWithPasswords) {
    const std::string passwords[] = {
        "pencil",
        "",
        "p,a=ss n=r=",
        std::string(1000, 'x'),
        "p\xc3\xa4ssw\xc3\xb6rd",
        "\xff\xfe not utf-8",
        "nul\0inside"s,
    };
    for (const auto& password : passwords) {
        Secret secret = make_secret(password, random_salt(), 4096);
        ClientExchange client(password);
        ServerExchange server(secret);
        auto error = run_exchange(client, server);
        EXPECT_FALSE(error.has_value()) << password << ": " << error->message;
        ASSERT_TRUE(server.client_key().has_value());
        EXPECT_EQ(sha256_of(*server.client_key()), secret.stored_key);
    }
}

// "y,," means the client could do channel binding but believes the server cannot: accepted,
// and c= must then carry "y,," back (base64 "eSws"). No ClientExchange sends "y,,", so the
// proof is computed here by hand from the RFC's ClientKey.
TEST(ScramExchange, YFlagIsAcceptedAndMustBeEchoedInC) {
    const std::string bare = "n=,r=" + std::string(kRfcClientNonce);
    const std::string nonce = std::string(kRfcClientNonce) + std::string(kRfcServerNonce);
    auto final_with = [&](std::string_view c_value, const std::string& server_first) {
        std::string without_proof = "c=" + std::string(c_value) + ",r=" + nonce;
        std::string auth = bare + "," + server_first + "," + without_proof;
        Key client_key = key_from_b64(kRfcClientKeyB64);
        Key stored_key = sha256_of(client_key);
        Key signature{};
        unsigned int len = 0;
        HMAC(EVP_sha256(), stored_key.data(), static_cast<int>(stored_key.size()),
             reinterpret_cast<const unsigned char*>(auth.data()), auth.size(), signature.data(),
             &len);
        Key proof{};
        for (size_t i = 0; i < proof.size(); ++i) {
            proof[i] = static_cast<uint8_t>(client_key[i] ^ signature[i]);
        }
        return without_proof + ",p=" + key_b64(proof);
    };
    {
        ServerExchange server(rfc_secret(), std::string(kRfcServerNonce));
        auto server_first = server.on_client_first("y,," + bare);
        ASSERT_TRUE(server_first.ok()) << server_first.error().message;
        auto result = server.on_client_final(final_with("eSws", *server_first));
        EXPECT_TRUE(result.ok()) << result.error().message;
    }
    {
        ServerExchange server(rfc_secret(), std::string(kRfcServerNonce));
        auto server_first = server.on_client_first("y,," + bare);
        ASSERT_TRUE(server_first.ok());
        auto result = server.on_client_final(final_with("biws", *server_first));
        ASSERT_FALSE(result.ok());
        EXPECT_EQ(result.error().code, "08P01");
    }
}

TEST(ScramExchange, PassthroughRoundTrip) {
    const std::string password = "s3cret passthrough";
    Secret secret = make_secret(password, random_salt(), 4096);

    // pgwarden as the server for its client: recovers ClientKey.
    ClientExchange app(password);
    ServerExchange front(secret);
    ASSERT_FALSE(run_exchange(app, front).has_value());
    ASSERT_TRUE(front.client_key().has_value());

    // pgwarden as the client for PostgreSQL, using only the keys.
    ClientExchange proxy(*front.client_key(), secret.server_key);
    proxy.expect_salt(secret.salt, secret.iterations);
    ServerExchange backend(secret);
    auto error = run_exchange(proxy, backend);
    EXPECT_FALSE(error.has_value()) << error->message;
    EXPECT_EQ(backend.client_key(), front.client_key());
}

TEST(ScramExchange, PassthroughWithoutExpectedSaltIgnoresSaltButNeedsMatchingKeys) {
    Secret secret = make_secret("pw", random_salt(), 4096);
    ServerExchange front(secret);
    ClientExchange app("pw");
    ASSERT_FALSE(run_exchange(app, front).has_value());

    // Same password, new salt: the recovered keys no longer fit, the server says wrong
    // password.
    Secret changed = make_secret("pw", random_salt(), 4096);
    ClientExchange proxy(*front.client_key(), secret.server_key);
    ServerExchange backend(changed);
    auto error = run_exchange(proxy, backend);
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->code, "28P01");
}

TEST(ScramExchange, PassthroughExpectSaltMismatchFailsEarly) {
    Secret secret = make_secret("pw", random_salt(), 4096);
    Key client_key{};  // not needed: the mismatch is detected before any proof
    struct Case {
        std::string salt;
        int iterations;
    };
    const Case cases[] = {{random_salt(), 4096}, {secret.salt, 4095}};
    for (const auto& c : cases) {
        ClientExchange proxy(client_key, secret.server_key);
        proxy.expect_salt(c.salt, c.iterations);
        ServerExchange backend(secret);
        auto error = run_exchange(proxy, backend);
        ASSERT_TRUE(error.has_value());
        EXPECT_EQ(error->code, "08P01");
        EXPECT_NE(error->message.find("salt"), std::string::npos) << error->message;
    }
}

TEST(ScramExchange, PassthroughWrongServerKeyFailsServerSignature) {
    Secret secret = make_secret("pw", random_salt(), 4096);
    ServerExchange front(secret);
    ClientExchange app("pw");
    ASSERT_FALSE(run_exchange(app, front).has_value());
    Key wrong_server_key = secret.server_key;
    wrong_server_key[0] ^= 1;
    ClientExchange proxy(*front.client_key(), wrong_server_key);
    ServerExchange backend(secret);
    auto error = run_exchange(proxy, backend);
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->code, "08P01");
    EXPECT_TRUE(backend.client_key().has_value());  // the server itself was satisfied
}

TEST(ScramExchange, WrongPasswordIs28P01) {
    ClientExchange client("pencil2");
    ServerExchange server(rfc_secret());
    auto error = run_exchange(client, server);
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->code, "28P01");
    EXPECT_FALSE(server.client_key().has_value());
}

TEST(ScramExchange, TamperedProofIs28P01) {
    for (size_t byte = 0; byte < 32; ++byte) {
        ServerExchange server(rfc_secret(), std::string(kRfcServerNonce));
        ASSERT_TRUE(server.on_client_first(kRfcClientFirst).ok());
        std::string final_msg(kRfcClientFinal);
        size_t p = final_msg.find(",p=") + 3;
        std::string proof = *base64_decode(final_msg.substr(p));
        proof[byte] = static_cast<char>(proof[byte] ^ 0x01);
        auto result = server.on_client_final(final_msg.substr(0, p) + base64_encode(proof));
        ASSERT_FALSE(result.ok());
        EXPECT_EQ(result.error().code, "28P01");
    }
}

// ---- malformed messages ----

void expect_protocol_violation(const common::Error& error, std::string_view input) {
    EXPECT_EQ(error.code, "08P01") << input << ": " << error.message;
    EXPECT_FALSE(error.message.empty()) << input;
}

TEST(ScramMalformed, ClientFirst) {
    const std::string cases[] = {
        "",
        "n",
        "n,",
        "n,,",
        "N,,n=,r=abc",
        "x,,n=,r=abc",
        "p=tls-server-end-point,,n=,r=abc",
        "p,,n=,r=abc",
        "n,a=admin,n=,r=abc",
        "n,x,n=,r=abc",
        "nn,n=,r=abc",
        "y,n=,r=abc",
        "n,,m=ext,n=,r=abc",
        "n,,r=abc",
        "n,,r=abc,n=",
        "n,,n=",
        "n,,n=,",
        "n,,n=,r=",
        "n,,n=,r",
        "n,,n=,rr=abc",
        "n,,n=,r=ab c",
        "n,,n=,r=ab\x01"
        "c",
        "n,,n=,r=ab\xff",
        "n,,n=,r=abc,",
        "n,,n=,r=abc,x=1",
        "n,,n=,r=abc,r=abc",
        "n,,n=,n=,r=abc",
        "n,,n,r=abc",
        "n,,=,r=abc",
        "n,,n=,r=ab\0c"s,
        "\0,,n=,r=abc"s,
    };
    for (const auto& input : cases) {
        ServerExchange server(rfc_secret());
        auto result = server.on_client_first(input);
        ASSERT_FALSE(result.ok()) << input;
        expect_protocol_violation(result.error(), input);
        // The exchange is over after an error.
        EXPECT_FALSE(server.on_client_final(kRfcClientFinal).ok());
    }
}

TEST(ScramMalformed, ChannelBindingRequestNamesTheProblem) {
    ServerExchange server(rfc_secret());
    auto result = server.on_client_first("p=tls-server-end-point,,n=,r=abc");
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().message.find("channel binding"), std::string::npos);
}

TEST(ScramMalformed, ClientFinal) {
    const std::string nonce = std::string(kRfcClientNonce) + std::string(kRfcServerNonce);
    const std::string proof = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const std::string short_proof = base64_encode(std::string(31, 'p'));
    const std::string cases[] = {
        "",
        "c=biws",
        "c=biws,r=" + nonce,
        "c=biws,r=" + nonce + ",",
        "c=biws,r=" + nonce + ",p=",
        "c=biws,r=" + nonce + ",p=abc",
        "c=biws,r=" + nonce + ",p=" + short_proof,
        "c=biws,r=" + nonce + ",p=" + proof + ",",
        "c=biws,r=" + nonce + ",p=" + proof + ",x=1",
        "c=biws,r=" + nonce + ",p=" + proof + ",p=" + proof,
        "c=biws,r=" + nonce + ",m=ext,p=" + proof,
        "c=biws,r=" + nonce + ",x=ext,p=" + proof,
        "c=biws,c=biws,r=" + nonce + ",p=" + proof,
        "c=biws,r=" + nonce + ",r=" + nonce + ",p=" + proof,
        "r=" + nonce + ",c=biws,p=" + proof,
        "c=biws,p=" + proof + ",r=" + nonce,
        "c=eSws,r=" + nonce + ",p=" + proof,          // "y,," but client-first said "n,,"
        "c=cD10bHMsLA==,r=" + nonce + ",p=" + proof,  // "p=tls,,"
        "c=,r=" + nonce + ",p=" + proof,
        "c=biw,r=" + nonce + ",p=" + proof,
        "c=biws,r=" + std::string(kRfcClientNonce) + ",p=" + proof,
        "c=biws,r=" + nonce + "x,p=" + proof,
        "c=biws,r=,p=" + proof,
        "c=biws,r=" + nonce + ",p=" + proof + "\0"s,
        "c=biws\0,r="s + nonce + ",p=" + proof,
    };
    for (const auto& input : cases) {
        ServerExchange server(rfc_secret(), std::string(kRfcServerNonce));
        ASSERT_TRUE(server.on_client_first(kRfcClientFirst).ok());
        auto result = server.on_client_final(input);
        ASSERT_FALSE(result.ok()) << input;
        expect_protocol_violation(result.error(), input);
        EXPECT_FALSE(server.client_key().has_value());
        EXPECT_FALSE(server.on_client_final(kRfcClientFinal).ok()) << "exchange must be over";
    }
}

TEST(ScramMalformed, ServerFirst) {
    const std::string nonce = std::string(kRfcClientNonce) + "srv";
    const std::string cases[] = {
        "",
        "r=" + std::string(kRfcClientNonce) + ",s=c2FsdA==,i=4096",  // nonce not extended
        "r=XXprNGfwEbeRWgbNEkqOsrv,s=c2FsdA==,i=4096",               // wrong prefix
        "r=rOprNG,s=c2FsdA==,i=4096",                                // shorter than ours
        "r=,s=c2FsdA==,i=4096",
        "r=" + nonce + " x,s=c2FsdA==,i=4096",
        "r=" + nonce + ",s=,i=4096",
        "r=" + nonce + ",s=c2FsdA=,i=4096",
        "r=" + nonce + ",s=!!!!,i=4096",
        "r=" + nonce + ",s=c2FsdA==,i=0",
        "r=" + nonce + ",s=c2FsdA==,i=-1",
        "r=" + nonce + ",s=c2FsdA==,i=+4096",
        "r=" + nonce + ",s=c2FsdA==,i=04096",
        "r=" + nonce + ",s=c2FsdA==,i=abc",
        "r=" + nonce + ",s=c2FsdA==,i=",
        "r=" + nonce + ",s=c2FsdA==,i=4096x",
        "r=" + nonce + ",s=c2FsdA==,i=4096 ",
        "r=" + nonce + ",s=c2FsdA==,i=99999999999",
        "r=" + nonce + ",s=c2FsdA==,i=4096,",
        "r=" + nonce + ",s=c2FsdA==,i=4096,x=1",
        "r=" + nonce + ",s=c2FsdA==,i=4096,i=4096",
        "r=" + nonce + ",s=c2FsdA==",
        "r=" + nonce + ",i=4096",
        "r=" + nonce + ",i=4096,s=c2FsdA==",
        "s=c2FsdA==,r=" + nonce + ",i=4096",
        "r=" + nonce + ",r=" + nonce + ",s=c2FsdA==,i=4096",
        "m=ext,r=" + nonce + ",s=c2FsdA==,i=4096",
        "e=other-error",
        "r=" + nonce + ",s=c2FsdA==,i=4096\0"s,
    };
    for (const auto& input : cases) {
        ClientExchange client("pencil", std::string(kRfcClientNonce));
        client.client_first();
        auto result = client.on_server_first(input);
        ASSERT_FALSE(result.ok()) << input;
        expect_protocol_violation(result.error(), input);
        EXPECT_FALSE(client.on_server_final(kRfcServerFinal).ok()) << "exchange must be over";
    }
}

TEST(ScramMalformed, ServerFinal) {
    const std::string wrong_signature = base64_encode(std::string(32, 's'));
    struct Case {
        std::string input;
        std::string_view code;
    };
    const Case cases[] = {
        {"", "08P01"},
        {"v=", "08P01"},
        {"v=abc", "08P01"},
        {"v=" + base64_encode(std::string(31, 's')), "08P01"},
        {"v=" + wrong_signature, "08P01"},
        {std::string(kRfcServerFinal) + ",", "08P01"},
        {std::string(kRfcServerFinal) + ",x=1", "08P01"},
        {std::string(kRfcServerFinal) + "\0"s, "08P01"},
        {"x" + std::string(kRfcServerFinal), "08P01"},
        {"e=", "08P01"},
        {"e=other-error", "08P01"},
        {"e=invalid-proof", "28P01"},
    };
    for (const auto& c : cases) {
        ClientExchange client{std::string(kRfcPassword), std::string(kRfcClientNonce)};
        client.set_username(kRfcUser);
        client.client_first();
        ASSERT_TRUE(client.on_server_first(kRfcServerFirst).ok());
        auto result = client.on_server_final(c.input);
        ASSERT_FALSE(result.ok()) << c.input;
        EXPECT_EQ(result.error().code, c.code) << c.input << ": " << result.error().message;
        EXPECT_FALSE(client.on_server_final(kRfcServerFinal).ok()) << "exchange must be over";
    }
}

TEST(ScramMalformed, OutOfOrderCalls) {
    {
        ServerExchange server(rfc_secret(), std::string(kRfcServerNonce));
        auto result = server.on_client_final(kRfcClientFinal);
        ASSERT_FALSE(result.ok());
        EXPECT_EQ(result.error().code, "08P01");
        EXPECT_FALSE(server.on_client_first(kRfcClientFirst).ok());
    }
    {
        ServerExchange server(rfc_secret(), std::string(kRfcServerNonce));
        ASSERT_TRUE(server.on_client_first(kRfcClientFirst).ok());
        EXPECT_FALSE(server.on_client_first(kRfcClientFirst).ok());
    }
    {
        ServerExchange server(rfc_secret(), std::string(kRfcServerNonce));
        ASSERT_TRUE(server.on_client_first(kRfcClientFirst).ok());
        ASSERT_TRUE(server.on_client_final(kRfcClientFinal).ok());
        EXPECT_FALSE(server.on_client_final(kRfcClientFinal).ok());  // no replay
        EXPECT_TRUE(server.client_key().has_value());
    }
    {
        ClientExchange client("pencil", std::string(kRfcClientNonce));
        auto result = client.on_server_first(kRfcServerFirst);  // before client_first()
        ASSERT_FALSE(result.ok());
        EXPECT_EQ(result.error().code, "08P01");
    }
    {
        ClientExchange client("pencil", std::string(kRfcClientNonce));
        client.client_first();
        auto result = client.on_server_final(kRfcServerFinal);
        ASSERT_FALSE(result.ok());
        EXPECT_EQ(result.error().code, "08P01");
    }
}

TEST(ScramMalformed, BadLocalNoncesAndSecretsAreErrorsNotCrashes) {
    for (std::string nonce : {""s, "a,b"s, "a b"s, "a\nb"s}) {
        ServerExchange server(rfc_secret(), nonce);
        auto result = server.on_client_first(kRfcClientFirst);
        ASSERT_FALSE(result.ok()) << nonce;
        EXPECT_EQ(result.error().code, "08P01");

        ClientExchange client("pencil", nonce);
        client.client_first();
        auto client_result = client.on_server_first(kRfcServerFirst);
        ASSERT_FALSE(client_result.ok()) << nonce;
        EXPECT_EQ(client_result.error().code, "08P01");
    }
    Secret no_iterations = rfc_secret();
    no_iterations.iterations = 0;
    Secret no_salt = rfc_secret();
    no_salt.salt.clear();
    for (const Secret& secret : {no_iterations, no_salt}) {
        ServerExchange server(secret);
        auto result = server.on_client_first(kRfcClientFirst);
        ASSERT_FALSE(result.ok());
        EXPECT_EQ(result.error().code, "08P01");
    }
}

// ---- every truncation and single-byte mutation of the RFC messages ----

// A truncated client-first can still be a valid message (a shorter nonce), so only "no
// crash, and any error is a protocol violation" holds.
TEST(ScramTruncation, ClientFirst) {
    for (size_t len = 0; len < kRfcClientFirst.size(); ++len) {
        ServerExchange server(rfc_secret(), std::string(kRfcServerNonce));
        auto input = kRfcClientFirst.substr(0, len);
        auto result = server.on_client_first(input);
        if (!result.ok()) {
            expect_protocol_violation(result.error(), input);
        }
    }
}

TEST(ScramTruncation, ServerFirst) {
    for (size_t len = 0; len < kRfcServerFirst.size(); ++len) {
        ClientExchange client{std::string(kRfcPassword), std::string(kRfcClientNonce)};
        client.client_first();
        auto input = kRfcServerFirst.substr(0, len);
        auto result = client.on_server_first(input);
        if (!result.ok()) {
            expect_protocol_violation(result.error(), input);
        } else {
            // Only a shorter iteration count ("i=4", "i=40", "i=409") still parses.
            EXPECT_NE(input.find(",i="), std::string_view::npos) << input;
        }
    }
}

TEST(ScramTruncation, ClientFinalAlwaysFails) {
    for (size_t len = 0; len < kRfcClientFinal.size(); ++len) {
        ServerExchange server(rfc_secret(), std::string(kRfcServerNonce));
        ASSERT_TRUE(server.on_client_first(kRfcClientFirst).ok());
        auto input = kRfcClientFinal.substr(0, len);
        auto result = server.on_client_final(input);
        ASSERT_FALSE(result.ok()) << input;
        expect_protocol_violation(result.error(), input);
    }
}

TEST(ScramTruncation, ServerFinalAlwaysFails) {
    for (size_t len = 0; len < kRfcServerFinal.size(); ++len) {
        ClientExchange client{std::string(kRfcPassword), std::string(kRfcClientNonce)};
        client.set_username(kRfcUser);
        client.client_first();
        ASSERT_TRUE(client.on_server_first(kRfcServerFirst).ok());
        auto input = kRfcServerFinal.substr(0, len);
        auto result = client.on_server_final(input);
        ASSERT_FALSE(result.ok()) << input;
        expect_protocol_violation(result.error(), input);
    }
}

// Every byte of client-final and server-final is covered by the proof or the signature, so
// any change must be refused.
TEST(ScramMutation, ClientFinalEveryByte) {
    const char replacements[] = {'\0', ',', '=', 'A', 'r', '\xff'};
    for (size_t pos = 0; pos < kRfcClientFinal.size(); ++pos) {
        for (char r : replacements) {
            std::string input(kRfcClientFinal);
            if (input[pos] == r) {
                continue;
            }
            input[pos] = r;
            ServerExchange server(rfc_secret(), std::string(kRfcServerNonce));
            ASSERT_TRUE(server.on_client_first(kRfcClientFirst).ok());
            auto result = server.on_client_final(input);
            ASSERT_FALSE(result.ok()) << input;
            EXPECT_TRUE(result.error().code == "08P01" || result.error().code == "28P01");
        }
    }
}

TEST(ScramMutation, ServerFinalEveryByte) {
    const char replacements[] = {'\0', ',', '=', 'A', 'v', '\xff'};
    for (size_t pos = 0; pos < kRfcServerFinal.size(); ++pos) {
        for (char r : replacements) {
            std::string input(kRfcServerFinal);
            if (input[pos] == r) {
                continue;
            }
            input[pos] = r;
            ClientExchange client{std::string(kRfcPassword), std::string(kRfcClientNonce)};
            client.set_username(kRfcUser);
            client.client_first();
            ASSERT_TRUE(client.on_server_first(kRfcServerFirst).ok());
            auto result = client.on_server_final(input);
            ASSERT_FALSE(result.ok()) << input;
            EXPECT_EQ(result.error().code, "08P01") << input;
        }
    }
}

TEST(ScramMutation, ServerFirstEveryByteNeverCrashes) {
    const char replacements[] = {'\0', ',', '=', '0', 'r', '\xff'};
    for (size_t pos = 0; pos < kRfcServerFirst.size(); ++pos) {
        for (char r : replacements) {
            std::string input(kRfcServerFirst);
            input[pos] = r;
            ClientExchange client{std::string(kRfcPassword), std::string(kRfcClientNonce)};
            client.client_first();
            auto result = client.on_server_first(input);
            if (!result.ok()) {
                expect_protocol_violation(result.error(), input);
            }
        }
    }
}

}  // namespace
}  // namespace pgwarden::pgwire::scram
