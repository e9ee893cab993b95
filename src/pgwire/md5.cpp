#include "pgwire/md5.hpp"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

// The scheme is described under AuthenticationMD5Password in the protocol docs (53.3):
// the client sends concat('md5', md5(concat(md5(concat(password, username)), random-salt))).
namespace pgwarden::pgwire::md5 {
namespace {

constexpr std::string_view kPrefix = "md5";
constexpr size_t kHexDigits = 32;

bool is_lower_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

}  // namespace

std::string hex_digest(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr) != 1 ||
        len * 2 != kHexDigits) {
        // MD5 is in OpenSSL 3's default provider; only a FIPS-only setup lacks it, and then
        // md5 authentication cannot work at all: say so loudly rather than send garbage.
        std::fprintf(stderr, "pgwarden: fatal: OpenSSL MD5 digest failed (FIPS mode?)\n");
        std::abort();
    }
    constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(kHexDigits);
    for (unsigned int i = 0; i < len; ++i) {
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 0x0f];
    }
    return out;
}

std::string password_hash(std::string_view password, std::string_view user) {
    std::string input(password);
    input += user;
    return std::string(kPrefix) + hex_digest(input);
}

// PostgreSQL only recognises lower-case hex here (MD5_PASSWD_CHARSET), so we do too:
// anything else is a plaintext password that merely looks like a hash.
bool is_md5_secret(std::string_view text) {
    if (text.size() != kPrefix.size() + kHexDigits || text.substr(0, kPrefix.size()) != kPrefix) {
        return false;
    }
    for (char c : text.substr(kPrefix.size())) {
        if (!is_lower_hex(c)) {
            return false;
        }
    }
    return true;
}

std::string response(std::string_view stored, std::string_view user,
                     const std::array<uint8_t, 4>& salt) {
    std::string input = is_md5_secret(stored) ? std::string(stored.substr(kPrefix.size()))
                                              : hex_digest(std::string(stored) + std::string(user));
    input.append(reinterpret_cast<const char*>(salt.data()), salt.size());
    return std::string(kPrefix) + hex_digest(input);
}

}  // namespace pgwarden::pgwire::md5
