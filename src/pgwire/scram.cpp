#include "pgwire/scram.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <charconv>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <utility>

// Message grammar: RFC 5802 section 7; hash and key sizes: RFC 7677. What PostgreSQL accepts
// and sends: "SASL Authentication" in the protocol docs (53.3) and auth-scram.c.
namespace pgwarden::pgwire::scram {
namespace {

// SQLSTATEs: every malformed or out-of-order message is a protocol violation; only a proof
// that does not match is "invalid password", so the proxy can tell the two apart.
constexpr const char* kProtocolViolation = "08P01";
constexpr const char* kInvalidPassword = "28P01";
constexpr std::string_view kSecretPrefix = "SCRAM-SHA-256$";
// Nonce and salt sizes PostgreSQL uses itself (SCRAM_RAW_NONCE_LEN, SCRAM_DEFAULT_SALT_LEN).
constexpr size_t kNonceBytes = 18;
constexpr size_t kSaltBytes = 16;
// How much of a server's e= text goes into our error message: it is untrusted and only
// needs to identify the failure.
constexpr size_t kMaxServerErrorText = 100;
constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// OpenSSL failing on SHA-256 with valid arguments means a broken library or provider
// setup; there is no sensible way to continue an authentication, so stop loudly.
[[noreturn]] void crypto_failure(const char* what) {
    std::fprintf(stderr, "pgwarden: fatal: OpenSSL %s failed\n", what);
    std::abort();
}

common::Error violation(std::string_view message_kind, std::string_view detail) {
    std::string text = "invalid SCRAM ";
    text += message_kind;
    text += ": ";
    text += detail;
    return common::make_error(kProtocolViolation, std::move(text));
}

const unsigned char* bytes(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

std::string_view as_view(const Key& key) {
    return std::string_view(reinterpret_cast<const char*>(key.data()), key.size());
}

Key hmac_sha256(std::string_view key, std::string_view data) {
    Key out{};
    unsigned int len = 0;
    if (key.size() > INT_MAX ||
        HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), bytes(data), data.size(),
             out.data(), &len) == nullptr ||
        len != out.size()) {
        crypto_failure("HMAC-SHA-256");
    }
    return out;
}

Key sha256(const Key& data) {
    Key out{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
        len != out.size()) {
        crypto_failure("SHA-256");
    }
    return out;
}

// Hi() of RFC 5802 is PBKDF2 with HMAC as the PRF and one block of output.
Key hi(std::string_view password, std::string_view salt, int iterations) {
    Key out{};
    if (password.size() > INT_MAX || salt.size() > INT_MAX || iterations < 1 ||
        PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), bytes(salt),
                          static_cast<int>(salt.size()), iterations, EVP_sha256(),
                          static_cast<int>(out.size()), out.data()) != 1) {
        crypto_failure("PBKDF2-HMAC-SHA-256");
    }
    return out;
}

Key xor_keys(const Key& a, const Key& b) {
    Key out{};
    for (size_t i = 0; i < out.size(); ++i) {
        out[i] = static_cast<uint8_t>(a[i] ^ b[i]);
    }
    return out;
}

bool keys_equal(const Key& a, const Key& b) {
    // Constant time so a mismatch does not reveal how many leading bytes were right.
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// PostgreSQL runs SASLprep (RFC 4013) over the password and falls back to the raw bytes when
// SASLprep fails (invalid UTF-8, prohibited characters). For pure ASCII PostgreSQL skips
// SASLprep altogether, so the raw bytes are exactly right. For non-ASCII passwords we also
// use the raw bytes: this matches PostgreSQL whenever the password is already in NFKC form
// and holds no non-ASCII spaces or "mapped to nothing" characters (the usual case), and
// differs otherwise. Doing better needs Unicode normalization tables we do not carry.
std::string_view saslprep(std::string_view password) {
    return password;
}

// RFC 5802 "printable": %x21-2B / %x2D-7E, i.e. visible ASCII without ','.
bool is_valid_nonce(std::string_view nonce) {
    if (nonce.empty()) {
        return false;
    }
    for (char c : nonce) {
        if (c < 0x21 || c > 0x7e || c == ',') {
            return false;
        }
    }
    return true;
}

// RFC 5802 posit-number: a decimal without sign or leading zero, here also within int.
std::optional<int> parse_positive(std::string_view text) {
    if (text.empty() || text[0] < '1' || text[0] > '9') {
        return std::nullopt;
    }
    int value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

std::optional<Key> decode_key(std::string_view text) {
    auto raw = base64_decode(text);
    if (!raw || raw->size() != Key{}.size()) {
        return std::nullopt;
    }
    Key key{};
    for (size_t i = 0; i < key.size(); ++i) {
        key[i] = static_cast<uint8_t>((*raw)[i]);
    }
    return key;
}

// Reads a SCRAM message as the ordered list of "<letter>=<value>" attributes that every
// message is. Each call names the one attribute allowed next, which rejects missing,
// duplicate, unknown and out-of-order attributes alike.
class AttrReader {
public:
    AttrReader(std::string_view text, std::string_view message_kind)
        : text_(text), rest_(text), kind_(message_kind) {}

    // True once every attribute has been read (a trailing ',' still expects one more).
    bool at_end() const { return rest_.empty() && !comma_pending_; }
    // The next attribute's name, or '\0' at the end.
    char peek() const { return rest_.empty() ? '\0' : rest_[0]; }
    // Bytes consumed so far, including the ',' after the last attribute read.
    size_t offset() const { return text_.size() - rest_.size(); }

    common::Result<std::string_view> read(char name) {
        if (at_end()) {
            return violation(kind_, std::string("missing attribute \"") + name + "\"");
        }
        if (rest_.size() < 2 || rest_[1] != '=') {
            return violation(
                kind_, std::string("malformed attribute where \"") + name + "=\" was expected");
        }
        if (rest_[0] != name) {
            return violation(kind_, std::string("expected attribute \"") + name +
                                        "\" but found \"" + rest_[0] + "\"");
        }
        size_t comma = rest_.find(',');
        std::string_view value =
            rest_.substr(2, comma == std::string_view::npos ? std::string_view::npos : comma - 2);
        comma_pending_ = comma != std::string_view::npos;
        rest_ = comma_pending_ ? rest_.substr(comma + 1) : std::string_view();
        return value;
    }

    common::Status expect_end() const {
        if (!at_end()) {
            return violation(kind_,
                             "unexpected data after the last attribute (extensions are "
                             "not supported)");
        }
        return common::ok_status();
    }

private:
    std::string_view text_;
    std::string_view rest_;
    std::string_view kind_;
    bool comma_pending_ = false;
};

common::Status check_no_nul(std::string_view text, std::string_view kind) {
    if (text.find('\0') != std::string_view::npos) {
        return violation(kind, "contains a NUL byte");
    }
    return common::ok_status();
}

struct ClientFirst {
    std::string gs2_header;  // "n,," or "y,,"
    std::string bare;        // client-first-message-bare
    std::string nonce;
};

common::Result<ClientFirst> parse_client_first(std::string_view text) {
    constexpr std::string_view kKind = "client-first-message";
    if (auto st = check_no_nul(text, kKind); !st) {
        return std::move(st).error();
    }
    // gs2-header = gs2-cbind-flag "," [authzid] ","
    if (text.empty()) {
        return violation(kKind, "empty message");
    }
    if (text[0] == 'p') {
        return violation(kKind,
                         "client requires channel binding (SCRAM-SHA-256-PLUS), which "
                         "is not offered");
    }
    if (text[0] != 'n' && text[0] != 'y') {
        return violation(kKind, "unexpected channel binding flag");
    }
    if (text.size() < 2 || text[1] != ',') {
        return violation(kKind, "missing ',' after the channel binding flag");
    }
    if (text.size() < 3 || text[2] != ',') {
        if (text.substr(2, 2) == "a=") {
            return violation(kKind, "authorization identity is not supported");
        }
        return violation(kKind, "malformed GS2 header");
    }
    ClientFirst out;
    out.gs2_header = std::string(text.substr(0, 3));
    std::string_view bare = text.substr(3);
    if (bare.substr(0, 2) == "m=") {
        return violation(kKind, "client requires an unsupported SCRAM extension");
    }
    AttrReader reader(bare, kKind);
    // The username is ignored (PostgreSQL takes it from the startup packet and libpq sends
    // "n="), so its saslname escaping is not checked: clients differ in what they put here.
    if (auto user = reader.read('n'); !user) {
        return std::move(user).error();
    }
    auto nonce = reader.read('r');
    if (!nonce) {
        return std::move(nonce).error();
    }
    if (!is_valid_nonce(*nonce)) {
        return violation(kKind, "nonce is empty or not printable ASCII");
    }
    if (auto st = reader.expect_end(); !st) {
        return std::move(st).error();
    }
    out.bare = std::string(bare);
    out.nonce = std::string(*nonce);
    return out;
}

struct ServerFirst {
    std::string nonce;
    std::string salt;  // raw bytes
    int iterations = 0;
};

common::Result<ServerFirst> parse_server_first(std::string_view text,
                                               std::string_view client_nonce) {
    constexpr std::string_view kKind = "server-first-message";
    if (auto st = check_no_nul(text, kKind); !st) {
        return std::move(st).error();
    }
    if (text.substr(0, 2) == "m=") {
        return violation(kKind, "server requires an unsupported SCRAM extension");
    }
    AttrReader reader(text, kKind);
    auto nonce = reader.read('r');
    if (!nonce) {
        return std::move(nonce).error();
    }
    if (!is_valid_nonce(*nonce) || nonce->size() <= client_nonce.size() ||
        nonce->substr(0, client_nonce.size()) != client_nonce) {
        return violation(kKind, "nonce does not extend the client nonce");
    }
    auto salt_text = reader.read('s');
    if (!salt_text) {
        return std::move(salt_text).error();
    }
    auto salt = base64_decode(*salt_text);
    if (!salt || salt->empty()) {
        return violation(kKind, "salt is empty or not valid base64");
    }
    auto iterations_text = reader.read('i');
    if (!iterations_text) {
        return std::move(iterations_text).error();
    }
    auto iterations = parse_positive(*iterations_text);
    if (!iterations) {
        return violation(kKind, "iteration count is not a positive integer");
    }
    if (auto st = reader.expect_end(); !st) {
        return std::move(st).error();
    }
    return ServerFirst{std::string(*nonce), std::move(*salt), *iterations};
}

struct ClientFinal {
    std::string without_proof;    // client-final-message-without-proof, for AuthMessage
    std::string channel_binding;  // decoded c=
    std::string nonce;
    Key proof{};
};

common::Result<ClientFinal> parse_client_final(std::string_view text) {
    constexpr std::string_view kKind = "client-final-message";
    if (auto st = check_no_nul(text, kKind); !st) {
        return std::move(st).error();
    }
    AttrReader reader(text, kKind);
    auto binding = reader.read('c');
    if (!binding) {
        return std::move(binding).error();
    }
    auto binding_raw = base64_decode(*binding);
    if (!binding_raw) {
        return violation(kKind, "channel binding is not valid base64");
    }
    auto nonce = reader.read('r');
    if (!nonce) {
        return std::move(nonce).error();
    }
    // PostgreSQL skips extensions between r= and p=; no client sends any, so we refuse them.
    size_t proof_start = reader.offset();
    auto proof_text = reader.read('p');
    if (!proof_text) {
        return std::move(proof_text).error();
    }
    auto proof = decode_key(*proof_text);
    if (!proof) {
        return violation(kKind, "proof is not 32 bytes of valid base64");
    }
    if (auto st = reader.expect_end(); !st) {
        return std::move(st).error();
    }
    ClientFinal out;
    // proof_start is just past the ',' that precedes "p=".
    out.without_proof = std::string(text.substr(0, proof_start - 1));
    out.channel_binding = std::move(*binding_raw);
    out.nonce = std::string(*nonce);
    out.proof = *proof;
    return out;
}

std::string escape_saslname(std::string_view user) {
    std::string out;
    for (char c : user) {
        if (c == ',') {
            out += "=2C";
        } else if (c == '=') {
            out += "=3D";
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

std::string base64_encode(std::string_view raw) {
    std::string out;
    out.reserve((raw.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= raw.size(); i += 3) {
        uint32_t n = (uint32_t{static_cast<uint8_t>(raw[i])} << 16) |
                     (uint32_t{static_cast<uint8_t>(raw[i + 1])} << 8) |
                     uint32_t{static_cast<uint8_t>(raw[i + 2])};
        out += kBase64Alphabet[(n >> 18) & 63];
        out += kBase64Alphabet[(n >> 12) & 63];
        out += kBase64Alphabet[(n >> 6) & 63];
        out += kBase64Alphabet[n & 63];
    }
    size_t left = raw.size() - i;
    if (left == 1) {
        uint32_t n = uint32_t{static_cast<uint8_t>(raw[i])} << 16;
        out += kBase64Alphabet[(n >> 18) & 63];
        out += kBase64Alphabet[(n >> 12) & 63];
        out += "==";
    } else if (left == 2) {
        uint32_t n = (uint32_t{static_cast<uint8_t>(raw[i])} << 16) |
                     (uint32_t{static_cast<uint8_t>(raw[i + 1])} << 8);
        out += kBase64Alphabet[(n >> 18) & 63];
        out += kBase64Alphabet[(n >> 12) & 63];
        out += kBase64Alphabet[(n >> 6) & 63];
        out += '=';
    }
    return out;
}

// Strict: standard alphabet, padding required, no whitespace, and unused bits must be zero,
// so every byte string has exactly one accepted encoding.
std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    size_t pad = 0;
    if (!text.empty() && text.back() == '=') {
        pad = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
    }
    auto value_of = [](char c) -> int {
        size_t pos = kBase64Alphabet.find(c);
        return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
    };
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (size_t i = 0; i < text.size(); i += 4) {
        uint32_t n = 0;
        for (size_t j = 0; j < 4; ++j) {
            size_t pos = i + j;
            int v = 0;
            if (pos < text.size() - pad) {
                v = value_of(text[pos]);
                if (v < 0) {
                    return std::nullopt;
                }
            }
            n = (n << 6) | static_cast<uint32_t>(v);
        }
        bool last = i + 4 == text.size();
        out += static_cast<char>((n >> 16) & 0xff);
        if (!last || pad < 2) {
            out += static_cast<char>((n >> 8) & 0xff);
        } else if (((n >> 8) & 0xff) != 0) {
            return std::nullopt;
        }
        if (!last || pad < 1) {
            out += static_cast<char>(n & 0xff);
        } else if ((n & 0xff) != 0) {
            return std::nullopt;
        }
    }
    return out;
}

std::string random_nonce() {
    unsigned char raw[kNonceBytes];
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        crypto_failure("RAND_bytes");
    }
    return base64_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof(raw)));
}

std::string random_salt() {
    unsigned char raw[kSaltBytes];
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        crypto_failure("RAND_bytes");
    }
    return std::string(reinterpret_cast<const char*>(raw), sizeof(raw));
}

bool is_scram_secret(std::string_view text) {
    return parse_secret(text).ok();
}

common::Result<Secret> parse_secret(std::string_view text) {
    constexpr std::string_view kKind = "secret";
    if (text.substr(0, kSecretPrefix.size()) != kSecretPrefix) {
        return violation(kKind, "does not start with \"SCRAM-SHA-256$\"");
    }
    std::string_view rest = text.substr(kSecretPrefix.size());
    size_t dollar = rest.find('$');
    if (dollar == std::string_view::npos) {
        return violation(kKind, "missing '$' before the keys");
    }
    std::string_view params = rest.substr(0, dollar);
    std::string_view keys = rest.substr(dollar + 1);
    size_t params_colon = params.find(':');
    size_t keys_colon = keys.find(':');
    if (params_colon == std::string_view::npos || keys_colon == std::string_view::npos) {
        return violation(kKind, "expected <iterations>:<salt>$<StoredKey>:<ServerKey>");
    }
    Secret secret;
    auto iterations = parse_positive(params.substr(0, params_colon));
    if (!iterations) {
        return violation(kKind, "iteration count is not a positive integer");
    }
    secret.iterations = *iterations;
    auto salt = base64_decode(params.substr(params_colon + 1));
    if (!salt || salt->empty()) {
        return violation(kKind, "salt is empty or not valid base64");
    }
    secret.salt = std::move(*salt);
    auto stored_key = decode_key(keys.substr(0, keys_colon));
    auto server_key = decode_key(keys.substr(keys_colon + 1));
    if (!stored_key || !server_key) {
        return violation(kKind, "StoredKey and ServerKey must be 32 bytes of valid base64");
    }
    secret.stored_key = *stored_key;
    secret.server_key = *server_key;
    return secret;
}

std::string encode_secret(const Secret& secret) {
    std::string out(kSecretPrefix);
    out += std::to_string(secret.iterations);
    out += ':';
    out += base64_encode(secret.salt);
    out += '$';
    out += base64_encode(as_view(secret.stored_key));
    out += ':';
    out += base64_encode(as_view(secret.server_key));
    return out;
}

Secret make_secret(std::string_view password, std::string_view salt, int iterations) {
    Key salted = hi(saslprep(password), salt, iterations);
    Secret secret;
    secret.iterations = iterations;
    secret.salt = std::string(salt);
    secret.stored_key = sha256(hmac_sha256(as_view(salted), "Client Key"));
    secret.server_key = hmac_sha256(as_view(salted), "Server Key");
    return secret;
}

ServerExchange::ServerExchange(Secret secret, std::string server_nonce)
    : secret_(std::move(secret)), server_nonce_(std::move(server_nonce)) {}

common::Result<std::string> ServerExchange::on_client_first(std::string_view client_first) {
    if (step_ != Step::AwaitClientFirst) {
        step_ = Step::Failed;
        return violation("exchange", "client-first-message out of order");
    }
    step_ = Step::Failed;  // until the message is accepted below
    // A bad nonce or secret here is the caller's mistake, but it must still not put a
    // malformed server-first on the wire.
    if (!is_valid_nonce(server_nonce_)) {
        return violation("exchange", "server nonce is empty or not printable ASCII");
    }
    if (secret_.iterations < 1 || secret_.salt.empty()) {
        return violation("secret", "iterations must be positive and the salt non-empty");
    }
    auto parsed = parse_client_first(client_first);
    if (!parsed) {
        return std::move(parsed).error();
    }
    gs2_header_ = std::move(parsed->gs2_header);
    client_first_bare_ = std::move(parsed->bare);
    combined_nonce_ = parsed->nonce + server_nonce_;
    server_first_ = "r=" + combined_nonce_ + ",s=" + base64_encode(secret_.salt) +
                    ",i=" + std::to_string(secret_.iterations);
    step_ = Step::AwaitClientFinal;
    return server_first_;
}

common::Result<std::string> ServerExchange::on_client_final(std::string_view client_final) {
    if (step_ != Step::AwaitClientFinal) {
        step_ = Step::Failed;
        return violation("exchange", "client-final-message out of order");
    }
    step_ = Step::Failed;  // until the proof is accepted below
    auto parsed = parse_client_final(client_final);
    if (!parsed) {
        return std::move(parsed).error();
    }
    if (parsed->channel_binding != gs2_header_) {
        return violation("client-final-message",
                         "channel binding does not match the client-first GS2 header");
    }
    if (parsed->nonce != combined_nonce_) {
        return violation("client-final-message", "nonce does not match");
    }
    std::string auth_message =
        client_first_bare_ + "," + server_first_ + "," + parsed->without_proof;
    Key client_signature = hmac_sha256(as_view(secret_.stored_key), auth_message);
    Key client_key = xor_keys(parsed->proof, client_signature);
    if (!keys_equal(sha256(client_key), secret_.stored_key)) {
        return common::make_error(kInvalidPassword, "SCRAM proof does not match: wrong password");
    }
    client_key_ = client_key;
    step_ = Step::Done;
    Key server_signature = hmac_sha256(as_view(secret_.server_key), auth_message);
    return "v=" + base64_encode(as_view(server_signature));
}

ClientExchange::ClientExchange(std::string password, std::string client_nonce)
    : password_(std::move(password)), client_nonce_(std::move(client_nonce)) {}

ClientExchange::ClientExchange(Key client_key, Key server_key, std::string client_nonce)
    : client_key_(client_key), server_key_(server_key), client_nonce_(std::move(client_nonce)) {}

void ClientExchange::set_username(std::string_view user) {
    username_ = escape_saslname(user);
}

void ClientExchange::expect_salt(std::string salt, int iterations) {
    expected_salt_ = std::move(salt);
    expected_iterations_ = iterations;
}

std::string ClientExchange::client_first() {
    if (client_first_bare_.empty()) {
        client_first_bare_ = "n=" + username_ + ",r=" + client_nonce_;
    }
    if (step_ == Step::Start) {
        step_ = Step::AwaitServerFirst;
    }
    return "n,," + client_first_bare_;
}

common::Result<std::string> ClientExchange::on_server_first(std::string_view server_first) {
    if (step_ != Step::AwaitServerFirst) {
        step_ = Step::Failed;
        return violation("exchange", "server-first-message out of order");
    }
    step_ = Step::Failed;  // until the message is accepted below
    if (!is_valid_nonce(client_nonce_)) {
        return violation("exchange", "client nonce is empty or not printable ASCII");
    }
    auto parsed = parse_server_first(server_first, client_nonce_);
    if (!parsed) {
        return std::move(parsed).error();
    }
    if (expected_salt_ &&
        (parsed->salt != *expected_salt_ || parsed->iterations != expected_iterations_)) {
        return violation("server-first-message",
                         "salt or iteration count differ from the secret the client keys came "
                         "from (the password was changed on the server?)");
    }
    Key client_key{};
    if (password_) {
        Key salted = hi(saslprep(*password_), parsed->salt, parsed->iterations);
        client_key = hmac_sha256(as_view(salted), "Client Key");
        salted_server_key_ = hmac_sha256(as_view(salted), "Server Key");
    } else {
        // Passthrough: the keys stand in for the salted password, so the salt and
        // iteration count are not needed (they only had to parse).
        client_key = *client_key_;
        salted_server_key_ = *server_key_;
    }
    // Always "n,,": we never ask for channel binding, so c= is base64("n,,") = "biws".
    std::string without_proof = "c=" + base64_encode("n,,") + ",r=" + parsed->nonce;
    auth_message_ = client_first_bare_ + "," + std::string(server_first) + "," + without_proof;
    Key client_signature = hmac_sha256(as_view(sha256(client_key)), auth_message_);
    Key proof = xor_keys(client_key, client_signature);
    step_ = Step::AwaitServerFinal;
    return without_proof + ",p=" + base64_encode(as_view(proof));
}

common::Status ClientExchange::on_server_final(std::string_view server_final) {
    constexpr std::string_view kKind = "server-final-message";
    if (step_ != Step::AwaitServerFinal) {
        step_ = Step::Failed;
        return violation("exchange", "server-final-message out of order");
    }
    step_ = Step::Failed;  // until the signature is verified below
    if (auto st = check_no_nul(server_final, kKind); !st) {
        return st;
    }
    AttrReader reader(server_final, kKind);
    if (reader.peek() == 'e') {
        auto text = reader.read('e');
        if (!text) {
            return std::move(text).error();
        }
        std::string message = "server rejected SCRAM authentication: ";
        message += text->substr(0, kMaxServerErrorText);
        // "invalid-proof" is the server saying our password (or keys) is wrong.
        return common::make_error(*text == "invalid-proof" ? kInvalidPassword : kProtocolViolation,
                                  std::move(message));
    }
    auto signature_text = reader.read('v');
    if (!signature_text) {
        return std::move(signature_text).error();
    }
    auto signature = decode_key(*signature_text);
    if (!signature) {
        return violation(kKind, "server signature is not 32 bytes of valid base64");
    }
    if (auto st = reader.expect_end(); !st) {
        return st;
    }
    if (!keys_equal(*signature, hmac_sha256(as_view(salted_server_key_), auth_message_))) {
        return violation(kKind,
                         "server signature does not match: the server does not hold "
                         "this user's secret");
    }
    step_ = Step::Done;
    return common::ok_status();
}

}  // namespace pgwarden::pgwire::scram
