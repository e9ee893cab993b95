#include "pgwire/message_reader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pgwarden::pgwire {
namespace {

using namespace std::string_literals;

// An exactly-sized heap copy, so AddressSanitizer flags any read past the end (a
// std::string's spare capacity and trailing NUL would hide an overread of one byte, and a
// missing NUL is exactly what read_cstring must cope with).
class Exact {
public:
    explicit Exact(std::string_view s) : size_(s.size()), data_(new uint8_t[s.size()]) {
        std::copy(s.begin(), s.end(), data_.get());
    }
    std::span<const uint8_t> span() const { return {data_.get(), size_}; }

private:
    size_t size_;
    std::unique_ptr<uint8_t[]> data_;
};

TEST(MessageReader, ReadsBigEndianFieldsInOrder) {
    const std::string body =
        "\x80\x00\x00\x01\xff\xfe\x7f"
        "abc\0\0xyzTAIL"s;
    Exact e(body);
    MessageReader r(e.span());
    int32_t i32 = 0;
    int16_t i16 = 0;
    uint8_t b = 0;
    std::string_view s1;
    std::string_view s2;
    std::string_view raw;
    ASSERT_TRUE(r.read_int32(i32));
    EXPECT_EQ(i32, std::numeric_limits<int32_t>::min() + 1);
    ASSERT_TRUE(r.read_int16(i16));
    EXPECT_EQ(i16, -2);
    ASSERT_TRUE(r.read_byte(b));
    EXPECT_EQ(b, 0x7f);
    ASSERT_TRUE(r.read_cstring(s1));
    EXPECT_EQ(s1, "abc");
    ASSERT_TRUE(r.read_cstring(s2));
    EXPECT_EQ(s2, "");  // an empty string is just its terminator
    ASSERT_TRUE(r.read_bytes(3, raw));
    EXPECT_EQ(raw, "xyz");
    EXPECT_EQ(r.remaining(), 4u);
    EXPECT_EQ(r.rest(), "TAIL");
    EXPECT_FALSE(r.at_end());
    // rest() only looks: it does not consume.
    EXPECT_EQ(r.remaining(), 4u);
    ASSERT_TRUE(r.read_bytes(4, raw));
    EXPECT_TRUE(r.at_end());
    EXPECT_EQ(r.rest(), "");
}

TEST(MessageReader, StringViewConstructorReadsTheSameBytes) {
    const std::string body =
        "\x00\x00\x00\x2a"
        "q\0"s;
    MessageReader r{std::string_view(body)};
    int32_t v = 0;
    std::string_view s;
    ASSERT_TRUE(r.read_int32(v));
    EXPECT_EQ(v, 42);
    ASSERT_TRUE(r.read_cstring(s));
    EXPECT_EQ(s, "q");
    EXPECT_TRUE(r.at_end());
}

TEST(MessageReader, CStringViewsTheBodyWithoutCopying) {
    Exact e("name\0"s);
    MessageReader r(e.span());
    std::string_view s;
    ASSERT_TRUE(r.read_cstring(s));
    EXPECT_EQ(reinterpret_cast<const uint8_t*>(s.data()), e.span().data());
}

TEST(MessageReader, CStringWithoutTerminatorFails) {
    for (std::string body : {"abc"s, "a"s, ""s}) {
        Exact e(body);
        MessageReader r(e.span());
        std::string_view s = "untouched";
        EXPECT_FALSE(r.read_cstring(s));
        EXPECT_EQ(s, "untouched");
        EXPECT_EQ(r.remaining(), body.size());
    }
}

TEST(MessageReader, ReadBytesWithHugeCountFails) {
    // A lying length field: n near SIZE_MAX must not wrap around the bounds check.
    Exact e("abcd");
    MessageReader r(e.span());
    std::string_view s;
    EXPECT_FALSE(r.read_bytes(std::numeric_limits<size_t>::max(), s));
    EXPECT_FALSE(r.read_bytes(5, s));
    EXPECT_TRUE(r.read_bytes(0, s));
    EXPECT_EQ(s, "");
    EXPECT_EQ(r.remaining(), 4u);
}

TEST(MessageReader, EmptyBodyFailsEveryAccessor) {
    // Both an empty span with a null data pointer and one with a real pointer.
    const std::string nonempty = "x";
    for (std::span<const uint8_t> body :
         {std::span<const uint8_t>(),
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(nonempty.data()), 0)}) {
        MessageReader r(body);
        int32_t i32 = 0;
        int16_t i16 = 0;
        uint8_t b = 0;
        std::string_view s;
        EXPECT_TRUE(r.at_end());
        EXPECT_EQ(r.remaining(), 0u);
        EXPECT_FALSE(r.read_int32(i32));
        EXPECT_FALSE(r.read_int16(i16));
        EXPECT_FALSE(r.read_byte(b));
        EXPECT_FALSE(r.read_cstring(s));
        EXPECT_FALSE(r.read_bytes(1, s));
        EXPECT_TRUE(r.read_bytes(0, s));
        EXPECT_EQ(r.rest(), "");
    }
}

// One accessor, its width in bytes when the input is "\x01\x02\x03\x04\x05...\0"-free.
struct Accessor {
    const char* name;
    size_t width;  // bytes consumed on success; 0 means "up to and including the next NUL"
    std::function<bool(MessageReader&)> read;
};

std::vector<Accessor> accessors() {
    return {
        {"int32", 4,
         [](MessageReader& r) {
             int32_t v;
             return r.read_int32(v);
         }},
        {"int16", 2,
         [](MessageReader& r) {
             int16_t v;
             return r.read_int16(v);
         }},
        {"byte", 1,
         [](MessageReader& r) {
             uint8_t v;
             return r.read_byte(v);
         }},
        {"bytes(3)", 3,
         [](MessageReader& r) {
             std::string_view v;
             return r.read_bytes(3, v);
         }},
        {"bytes(0)", 0,
         [](MessageReader& r) {
             std::string_view v;
             return r.read_bytes(0, v);
         }},
        {"cstring", 0,
         [](MessageReader& r) {
             std::string_view v;
             return r.read_cstring(v);
         }},
    };
}

TEST(MessageReader, EveryAccessorAtEveryTruncationAndOffset) {
    // A body with a NUL every fourth byte, so cstring reads have a varying distance to go.
    const std::string full = "abc\0defg\0hi\0\0jklmn\0o"s;
    for (size_t len = 0; len <= full.size(); ++len) {
        const std::string_view body = std::string_view(full).substr(0, len);
        for (size_t start = 0; start <= len; ++start) {
            for (const auto& a : accessors()) {
                SCOPED_TRACE(testing::Message() << a.name << " len=" << len << " start=" << start);
                Exact e(body);
                MessageReader r(e.span());
                std::string_view skip;
                ASSERT_TRUE(r.read_bytes(start, skip));
                ASSERT_EQ(r.remaining(), len - start);

                size_t need = a.width;
                bool possible = len - start >= need;
                if (a.name == std::string_view("cstring")) {
                    const size_t nul = body.find('\0', start);
                    possible = nul != std::string_view::npos;
                    need = possible ? nul - start + 1 : 0;
                }
                const bool ok = a.read(r);
                EXPECT_EQ(ok, possible);
                if (ok) {
                    EXPECT_EQ(r.remaining(), len - start - need);
                } else {
                    // A failed read consumes nothing, so a caller can report and stop.
                    EXPECT_EQ(r.remaining(), len - start);
                }
                EXPECT_LE(r.remaining(), len);
                EXPECT_EQ(r.at_end(), r.remaining() == 0);
                EXPECT_EQ(r.rest(), body.substr(len - r.remaining()));
            }
        }
    }
}

TEST(MessageReader, RepeatedReadsStopExactlyAtTheEnd) {
    // Draining a body with each fixed-width accessor: the count of successes is exactly how
    // many whole fields fit, whatever the size.
    for (size_t len = 0; len <= 17; ++len) {
        for (const auto& a : accessors()) {
            if (a.width == 0) {
                continue;
            }
            SCOPED_TRACE(testing::Message() << a.name << " len=" << len);
            Exact e(std::string(len, '\x5a'));
            MessageReader r(e.span());
            size_t reads = 0;
            while (a.read(r)) {
                ++reads;
                ASSERT_LE(reads, len);  // cannot spin
            }
            EXPECT_EQ(reads, len / a.width);
            EXPECT_EQ(r.remaining(), len % a.width);
        }
    }
}

}  // namespace
}  // namespace pgwarden::pgwire
