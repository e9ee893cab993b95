#pragma once

#include "common/result.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL uses it (no channel binding: gs2 header
// "n,," or "y,,"; the username in client-first is ignored, PostgreSQL sends "n=,r=...").
// Pure code: no I/O. Both sides: pgwarden is the server for its clients and the client
// for PostgreSQL.
namespace pgwarden::pgwire::scram {

using Key = std::array<uint8_t, 32>;

// A verifier as PostgreSQL stores it in pg_authid.rolpassword and PgBouncer in userlist.txt:
// "SCRAM-SHA-256$<iterations>:<salt base64>$<StoredKey base64>:<ServerKey base64>".
struct Secret {
    int iterations = 4096;
    std::string salt;  // raw bytes
    Key stored_key{};
    Key server_key{};
};

bool is_scram_secret(std::string_view text);
common::Result<Secret> parse_secret(std::string_view text);
std::string encode_secret(const Secret& secret);
// Derives a verifier from a plaintext password (SaltedPassword = Hi(password, salt, i)).
Secret make_secret(std::string_view password, std::string_view salt, int iterations);

std::string base64_encode(std::string_view raw);
std::optional<std::string> base64_decode(std::string_view text);
// 18 random bytes, base64: printable, no ',' (RFC 5802 nonce).
std::string random_nonce();
// 16 random raw bytes, PostgreSQL's default salt length: the salt for make_secret().
std::string random_salt();

// Server side of one exchange, authenticating a client against a stored Secret.
// One object per exchange, used by the one session that owns it (no locking). Calls must
// come in protocol order; any error, or a call out of order, ends the exchange for good.
class ServerExchange {
public:
    explicit ServerExchange(Secret secret, std::string server_nonce = random_nonce());
    // Input: the SASLInitialResponse payload. Output: server-first-message.
    common::Result<std::string> on_client_first(std::string_view client_first);
    // Input: the SASLResponse payload. Output: server-final-message ("v=...").
    // An invalid proof is an error with code "28P01".
    common::Result<std::string> on_client_final(std::string_view client_final);
    // After a successful exchange: the ClientKey recovered from the proof. With it and the
    // ServerKey pgwarden can log in to PostgreSQL as this user without the plaintext
    // password (what PgBouncer does when auth_file holds SCRAM secrets).
    std::optional<Key> client_key() const { return client_key_; }

private:
    Secret secret_;
    std::string server_nonce_;
    std::string client_first_bare_;
    std::string server_first_;
    std::string combined_nonce_;
    std::optional<Key> client_key_;
    // Where the exchange stands: each step is accepted once, in order, and any error ends it.
    enum class Step {
        AwaitClientFirst,  // constructed, nothing received
        AwaitClientFinal,  // server-first sent
        Done,              // proof accepted
        Failed,            // any error: every later call fails too
    };
    Step step_ = Step::AwaitClientFirst;
    std::string gs2_header_;  // "n,," or "y,,": client-final's c= must carry it back
};

// Client side of one exchange, as pgwarden logs in to PostgreSQL.
// One object per exchange, owned by one session; same ordering rule as ServerExchange.
class ClientExchange {
public:
    // With a plaintext password.
    explicit ClientExchange(std::string password, std::string client_nonce = random_nonce());
    // With keys recovered from a client's own SCRAM exchange (the salt and iterations the
    // server sends must match the secret those keys came from, else an error: from
    // expect_salt() if called, else PostgreSQL rejects the proof). The server's salt and
    // iterations are otherwise unused: the keys stand in for the salted password.
    ClientExchange(Key client_key, Key server_key, std::string client_nonce = random_nonce());
    // Sets the username sent in client-first (escaped as an RFC 5802 saslname). PostgreSQL
    // ignores it and libpq sends none, so pgwarden never needs this; it exists so tests can
    // reproduce RFC test vectors byte for byte. Call before client_first().
    void set_username(std::string_view user);
    // Passthrough only (the key constructor): the salt and iterations of the secret the keys
    // came from. When set, a server-first with other values fails early with a clear error
    // instead of a proof PostgreSQL rejects as a wrong password. Optional.
    void expect_salt(std::string salt, int iterations);
    // The SASLInitialResponse payload: "n,,n=,r=<nonce>". Same string on every call.
    std::string client_first();
    // Input: server-first-message. Output: client-final-message with the proof.
    common::Result<std::string> on_server_first(std::string_view server_first);
    // Input: server-final-message. Checks the server signature.
    common::Status on_server_final(std::string_view server_final);

private:
    std::optional<std::string> password_;
    std::optional<Key> client_key_;
    std::optional<Key> server_key_;
    std::string client_nonce_;
    std::string client_first_bare_;
    std::string auth_message_;
    Key salted_server_key_{};
    // Where the exchange stands: each step is accepted once, in order, and any error ends it.
    enum class Step {
        Start,             // client_first() not called yet
        AwaitServerFirst,  // client-first sent
        AwaitServerFinal,  // client-final sent
        Done,              // server signature verified
        Failed,            // any error: every later call fails too
    };
    Step step_ = Step::Start;
    std::string username_;  // already escaped; empty as PostgreSQL's own client sends
    std::optional<std::string> expected_salt_;
    int expected_iterations_ = 0;
};

}  // namespace pgwarden::pgwire::scram
