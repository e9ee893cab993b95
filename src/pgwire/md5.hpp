#pragma once

#include <array>
#include <string>
#include <string_view>

// PostgreSQL's md5 password scheme. Pure code.
namespace pgwarden::pgwire::md5 {

std::string hex_digest(std::string_view data);  // lower-case hex of MD5(data)
// "md5" + hex(md5(password + user)): what pg_authid and userlist.txt store.
std::string password_hash(std::string_view password, std::string_view user);
bool is_md5_secret(std::string_view text);  // "md5" followed by 32 hex digits
// The AuthenticationMD5Password answer: "md5" + hex(md5(hex_part(stored) + salt)), where
// `stored` is either an "md5..." secret or a plaintext password (hashed with `user` first).
std::string response(std::string_view stored, std::string_view user,
                     const std::array<uint8_t, 4>& salt);

}  // namespace pgwarden::pgwire::md5
