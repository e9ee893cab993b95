#include "proxy/admin_result.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cstring>
#include <string>

namespace pgwarden::proxy {
namespace {

int32_t int32_at(const std::string& s, size_t at) {
    uint32_t be = 0;
    std::memcpy(&be, s.data() + at, 4);
    return static_cast<int32_t>(ntohl(be));
}

int16_t int16_at(const std::string& s, size_t at) {
    uint16_t be = 0;
    std::memcpy(&be, s.data() + at, 2);
    return static_cast<int16_t>(ntohs(be));
}

// RowDescription with PgBouncer's types (int8 counts, text names), a NULL cell, and the tag.
TEST(ResultSet, EncodesTypesRowsNullsAndTag) {
    ResultSet rs({{"database"}, {"cl_active", ColumnType::Int8}});
    rs.row({"appdb", "3"});
    rs.row({std::nullopt, "0"});
    std::string out;
    rs.encode(out, "SHOW");

    ASSERT_EQ(out[0], 'T');
    const size_t t_len = static_cast<size_t>(int32_at(out, 1));
    EXPECT_EQ(int16_at(out, 5), 2);  // two columns
    size_t at = 7;
    EXPECT_EQ(std::string(out.c_str() + at), "database");
    at += std::strlen("database") + 1;
    EXPECT_EQ(int32_at(out, at + 6), 25);  // text
    EXPECT_EQ(int16_at(out, at + 10), -1);
    at += 18;
    EXPECT_EQ(std::string(out.c_str() + at), "cl_active");
    at += std::strlen("cl_active") + 1;
    EXPECT_EQ(int32_at(out, at + 6), 20);  // int8
    EXPECT_EQ(int16_at(out, at + 10), 8);
    EXPECT_EQ(int16_at(out, at + 16), 0);  // text format
    at += 18;
    ASSERT_EQ(at, 1 + t_len);

    ASSERT_EQ(out[at], 'D');
    const size_t d1 = static_cast<size_t>(int32_at(out, at + 1));
    EXPECT_EQ(int16_at(out, at + 5), 2);
    EXPECT_EQ(int32_at(out, at + 7), 5);
    EXPECT_EQ(out.substr(at + 11, 5), "appdb");
    at += 1 + d1;
    ASSERT_EQ(out[at], 'D');
    EXPECT_EQ(int32_at(out, at + 7), -1);  // NULL
    at += 1 + static_cast<size_t>(int32_at(out, at + 1));
    ASSERT_EQ(out[at], 'C');
    EXPECT_EQ(std::string(out.c_str() + at + 5), "SHOW");
    EXPECT_EQ(at + 1 + static_cast<size_t>(int32_at(out, at + 1)), out.size());
}

}  // namespace
}  // namespace pgwarden::proxy
