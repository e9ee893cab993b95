#include "pgwire/frame.hpp"

#include "pgwire/messages.hpp"
#include "pgwire/sqlstate.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgwarden::pgwire {
namespace {

// Every type byte of protocol 3.0, frontend and backend (PostgreSQL docs, "Message Formats").
const std::set<uint8_t> kValidTypes{'B', 'C', 'd', 'c', 'f', 'D', 'E', 'H', 'F', 'P', 'p',
                                    'Q', 'S', 'X', 'R', 'K', '2', '3', 'G', 'W', 'I', 'V',
                                    'v', 'n', 'N', 'A', 't', 's', '1', 'Z', 'T'};

constexpr uint64_t kDefaultMax = 2147483647;

std::string header(uint8_t type, uint32_t len) {
    std::string h(1, static_cast<char>(type));
    h.push_back(static_cast<char>(len >> 24));
    h.push_back(static_cast<char>(len >> 16));
    h.push_back(static_cast<char>(len >> 8));
    h.push_back(static_cast<char>(len));
    return h;
}

// An exactly-sized heap copy, so AddressSanitizer sees any read past the end of the input
// (a std::string has spare capacity and a NUL that would hide an overread).
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

FrameHeader decode(std::string_view bytes, uint64_t max = kDefaultMax) {
    Exact e(bytes);
    return decode_header(e.span(), max);
}

FrameHeader decode_startup(std::string_view bytes) {
    Exact e(bytes);
    return decode_startup_header(e.span());
}

TEST(DecodeHeader, EveryTypeByte) {
    for (int t = 0; t < 256; ++t) {
        SCOPED_TRACE(t);
        const FrameHeader h = decode(header(static_cast<uint8_t>(t), 4));
        if (kValidTypes.count(static_cast<uint8_t>(t)) != 0) {
            EXPECT_EQ(h.status, DecodeStatus::Frame);
            EXPECT_EQ(h.type, static_cast<char>(t));
            EXPECT_EQ(h.length, 5u);
        } else {
            ASSERT_EQ(h.status, DecodeStatus::Error);
            EXPECT_STREQ(h.error_code, sqlstate::kProtocolViolation);
            // The message names the offending byte in hex so a log line identifies it.
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02x", t);
            EXPECT_NE(h.error.find(hex), std::string::npos) << h.error;
        }
    }
}

TEST(DecodeHeader, TypeIsCheckedBeforeLength) {
    // An unknown type with a bad length reports the type: it is the more telling fault.
    const FrameHeader h = decode(header('!', 0));
    ASSERT_EQ(h.status, DecodeStatus::Error);
    EXPECT_NE(h.error.find("type"), std::string::npos);
}

TEST(DecodeHeader, LengthBelowFourIsAProtocolViolation) {
    for (uint32_t len : {0u, 1u, 2u, 3u}) {
        SCOPED_TRACE(len);
        const FrameHeader h = decode(header('Q', len));
        ASSERT_EQ(h.status, DecodeStatus::Error);
        EXPECT_STREQ(h.error_code, sqlstate::kProtocolViolation);
        EXPECT_NE(h.error.find("length " + std::to_string(len)), std::string::npos) << h.error;
    }
}

TEST(DecodeHeader, LengthFourIsAnEmptyBody) {
    const FrameHeader h = decode(header('S', 4));
    ASSERT_EQ(h.status, DecodeStatus::Frame);
    EXPECT_EQ(h.length, kHeaderSize);
}

TEST(DecodeHeader, MaxPacketSizeBoundary) {
    // max_packet_size bounds the whole message, type byte included.
    struct Case {
        uint64_t max;
        uint32_t len;  // the length field
        bool ok;
    };
    const Case cases[] = {
        {1024, 1023, true},   // exactly at the limit
        {1024, 1024, false},  // one above
        {5, 4, true},         // an empty body fits the smallest limit
        {5, 5, false},
        {kDefaultMax, 0x7ffffffe, true},  // the default limit, exactly
        {kDefaultMax, 0x7fffffff, false},
        {kDefaultMax, 0xffffffff, false},  // a "negative" int32 length
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(testing::Message() << "max=" << c.max << " len=" << c.len);
        const FrameHeader h = decode(header('d', c.len), c.max);
        if (c.ok) {
            ASSERT_EQ(h.status, DecodeStatus::Frame);
            EXPECT_EQ(h.length, uint64_t(c.len) + 1);
        } else {
            ASSERT_EQ(h.status, DecodeStatus::Error);
            EXPECT_STREQ(h.error_code, sqlstate::kProgramLimitExceeded);
            EXPECT_NE(h.error.find(std::to_string(c.max)), std::string::npos) << h.error;
        }
    }
}

TEST(DecodeHeader, ShortInputNeedsTheRestOfTheHeader) {
    const std::string full = header('Q', 100);
    for (size_t n = 0; n < kHeaderSize; ++n) {
        SCOPED_TRACE(n);
        const FrameHeader h = decode(std::string_view(full).substr(0, n));
        EXPECT_EQ(h.status, DecodeStatus::NeedMore);
        EXPECT_EQ(h.need, kHeaderSize - n);
    }
}

TEST(DecodeHeader, ShortInputWithInvalidTypeStillNeedsMore) {
    // The type byte alone is not judged until the header is whole: the decoder's contract
    // is that NeedMore never depends on the bytes seen so far.
    const FrameHeader h = decode(std::string_view("\x00\x00", 2));
    EXPECT_EQ(h.status, DecodeStatus::NeedMore);
    EXPECT_EQ(h.need, 3u);
}

TEST(DecodeHeader, BodyNeedNotBePresent) {
    // The relay forwards bodies in bulk, so only the header is required.
    const FrameHeader h = decode(header('D', 1000));
    ASSERT_EQ(h.status, DecodeStatus::Frame);
    EXPECT_EQ(h.length, 1001u);
}

// Several messages of different shapes, including empty bodies and binary bodies with NULs.
std::string sample_stream() {
    std::string s;
    encode_query(s, "SELECT 1");
    encode_parse(s, "s1", "SELECT $1", std::string_view("\x00\x01\x00\x00\x00\x17", 6));
    encode_bind(s, "", "s1",
                std::string_view("\x00\x00\x00\x01\x00\x00\x00\x01"
                                 "7\x00\x00",
                                 11));
    encode_target(s, 'D', 'P', "");
    encode_sync(s);
    encode_terminate(s);
    return s;
}

struct Frame {
    char type;
    std::string body;
    bool operator==(const Frame&) const = default;
};

// A minimal incremental framer over decode_header, the way the relay uses it: it reports a
// message only once all its bytes have arrived, and checks every NeedMore on the way.
class Framer {
public:
    // Appends one chunk and returns the messages it completed.
    std::vector<Frame> feed(std::string_view chunk) {
        buf_.append(chunk);
        std::vector<Frame> frames;
        for (;;) {
            const std::string_view avail = std::string_view(buf_).substr(pos_);
            const FrameHeader h = decode(avail);
            if (h.status == DecodeStatus::NeedMore) {
                // The decoder must ask for exactly the missing header bytes: no more (it would
                // stall on a short final message), no fewer (it would spin).
                EXPECT_EQ(h.need, kHeaderSize - avail.size());
                EXPECT_LT(avail.size(), kHeaderSize);
                break;
            }
            EXPECT_EQ(h.status, DecodeStatus::Frame) << h.error;
            if (h.status != DecodeStatus::Frame || avail.size() < h.length) {
                break;
            }
            frames.push_back(
                Frame{h.type, std::string(avail.substr(kHeaderSize, h.length - kHeaderSize))});
            pos_ += h.length;
        }
        return frames;
    }
    size_t pending() const { return buf_.size() - pos_; }

private:
    std::string buf_;
    size_t pos_ = 0;
};

std::vector<Frame> frames_of(std::string_view stream) {
    Framer f;
    auto frames = f.feed(stream);
    EXPECT_EQ(f.pending(), 0u);
    return frames;
}

TEST(DecodeHeader, WholeStreamDecodesToItsMessages) {
    const std::vector<Frame> frames = frames_of(sample_stream());
    ASSERT_EQ(frames.size(), 6u);
    EXPECT_EQ(frames[0].type, 'Q');
    EXPECT_EQ(frames[0].body, std::string("SELECT 1\0", 9));
    EXPECT_EQ(frames[1].type, 'P');
    EXPECT_EQ(frames[2].type, 'B');
    EXPECT_EQ(frames[3].type, 'D');
    EXPECT_EQ(frames[4].type, 'S');
    EXPECT_EQ(frames[4].body, "");
    EXPECT_EQ(frames[5].type, 'X');
}

// Ends of each message in `stream`: a frame may only be reported once its end has arrived.
std::vector<size_t> message_ends(std::string_view stream) {
    std::vector<size_t> ends;
    size_t pos = 0;
    while (pos < stream.size()) {
        pos += 1 + read_be32(reinterpret_cast<const uint8_t*>(stream.data()) + pos + 1);
        ends.push_back(pos);
    }
    return ends;
}

TEST(DecodeHeader, EverySplitOffsetYieldsTheSameMessages) {
    const std::string stream = sample_stream();
    const std::vector<Frame> expected = frames_of(stream);
    const std::vector<size_t> ends = message_ends(stream);
    for (size_t cut = 0; cut <= stream.size(); ++cut) {
        SCOPED_TRACE(cut);
        Framer f;
        std::vector<Frame> got = f.feed(std::string_view(stream).substr(0, cut));
        // Exactly the messages that end at or before the cut are complete.
        size_t complete = 0;
        while (complete < ends.size() && ends[complete] <= cut) {
            ++complete;
        }
        ASSERT_EQ(got.size(), complete);
        for (auto& fr : f.feed(std::string_view(stream).substr(cut))) {
            got.push_back(std::move(fr));
        }
        EXPECT_EQ(got, expected);
        EXPECT_EQ(f.pending(), 0u);
    }
}

TEST(DecodeHeader, EveryPairOfSplitOffsetsYieldsTheSameMessages) {
    const std::string stream = sample_stream();
    const std::vector<Frame> expected = frames_of(stream);
    const std::string_view sv(stream);
    for (size_t a = 0; a <= stream.size(); ++a) {
        for (size_t b = a; b <= stream.size(); ++b) {
            Framer f;
            std::vector<Frame> got = f.feed(sv.substr(0, a));
            for (auto& fr : f.feed(sv.substr(a, b - a))) {
                got.push_back(std::move(fr));
            }
            for (auto& fr : f.feed(sv.substr(b))) {
                got.push_back(std::move(fr));
            }
            ASSERT_EQ(got, expected) << "cuts at " << a << " and " << b;
        }
    }
}

TEST(DecodeHeader, ByteAtATime) {
    const std::string stream = sample_stream();
    const std::vector<size_t> ends = message_ends(stream);
    Framer f;
    std::vector<Frame> got;
    for (size_t i = 0; i < stream.size(); ++i) {
        auto frames = f.feed(std::string_view(stream).substr(i, 1));
        // A frame completes exactly on the last byte of its message, one at a time.
        const bool is_end = std::find(ends.begin(), ends.end(), i + 1) != ends.end();
        ASSERT_EQ(frames.size(), is_end ? 1u : 0u) << "at byte " << i;
        got.insert(got.end(), frames.begin(), frames.end());
    }
    EXPECT_EQ(got, frames_of(stream));
}

std::string startup_bytes(uint32_t len, int32_t code, std::string_view tail = {}) {
    std::string s;
    for (uint32_t v : {len, static_cast<uint32_t>(code)}) {
        s.push_back(static_cast<char>(v >> 24));
        s.push_back(static_cast<char>(v >> 16));
        s.push_back(static_cast<char>(v >> 8));
        s.push_back(static_cast<char>(v));
    }
    s.append(tail);
    return s;
}

TEST(DecodeStartupHeader, ShortInputNeedsTheLengthField) {
    const std::string full = startup_bytes(8, kSslRequestCode);
    for (size_t n = 0; n < 4; ++n) {
        SCOPED_TRACE(n);
        const FrameHeader h = decode_startup(std::string_view(full).substr(0, n));
        EXPECT_EQ(h.status, DecodeStatus::NeedMore);
        EXPECT_EQ(h.need, 4 - n);
    }
}

TEST(DecodeStartupHeader, LengthBounds) {
    struct Case {
        uint32_t len;
        bool ok;
    };
    const Case cases[] =
        {
            {0, false},          {4, false},    {7, false},     {8, true},
            {9, true},           {10000, true}, {10001, false}, {0x7fffffff, false},
            {0x80000008, false},  // negative as int32: must not pass as huge
            {0xffffffff, false},
        };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.len);
        // Supply the whole packet when it is valid, so the result is Frame, not NeedMore.
        std::string bytes = startup_bytes(c.len, kProtocol30);
        if (c.ok) {
            bytes.resize(c.len, 'x');
        }
        const FrameHeader h = decode_startup(bytes);
        if (c.ok) {
            ASSERT_EQ(h.status, DecodeStatus::Frame);
            EXPECT_EQ(h.length, c.len);
        } else {
            ASSERT_EQ(h.status, DecodeStatus::Error);
            EXPECT_STREQ(h.error_code, sqlstate::kProtocolViolation);
            EXPECT_NE(h.error.find(std::to_string(c.len)), std::string::npos) << h.error;
        }
    }
}

TEST(DecodeStartupHeader, BadLengthIsAnErrorWithoutTheWholePacket) {
    // Only the length field is needed to reject: a bogus huge length must not make the
    // proxy wait for (and buffer) 4 GB.
    const FrameHeader h = decode_startup(startup_bytes(0x10000000, 0).substr(0, 4));
    EXPECT_EQ(h.status, DecodeStatus::Error);
}

TEST(DecodeStartupHeader, EverySplitOffsetOfAStartupMessage) {
    std::string packet;
    encode_startup(packet, {{"user", "alice"}, {"database", "app"}});
    for (size_t n = 0; n <= packet.size(); ++n) {
        SCOPED_TRACE(n);
        const FrameHeader h = decode_startup(std::string_view(packet).substr(0, n));
        if (n < 4) {
            ASSERT_EQ(h.status, DecodeStatus::NeedMore);
            EXPECT_EQ(h.need, 4 - n);
        } else if (n < packet.size()) {
            // The startup decoder wants the whole packet and says how much is missing.
            ASSERT_EQ(h.status, DecodeStatus::NeedMore);
            EXPECT_EQ(h.need, packet.size() - n);
        } else {
            ASSERT_EQ(h.status, DecodeStatus::Frame);
            EXPECT_EQ(h.length, packet.size());
        }
    }
}

TEST(DecodeStartupHeader, ExtraBytesAfterThePacketAreNotCounted) {
    // A client may pipeline its first regular message right after the startup packet.
    std::string bytes;
    encode_ssl_refused(bytes);  // any byte will do
    const std::string packet = startup_bytes(8, kSslRequestCode);
    const FrameHeader h = decode_startup(packet + bytes);
    ASSERT_EQ(h.status, DecodeStatus::Frame);
    EXPECT_EQ(h.length, 8u);
}

TEST(ReadBigEndian, Values) {
    const uint8_t b[] = {0x80, 0x01, 0xfe, 0xff};
    EXPECT_EQ(read_be32(b), 0x8001feffu);
    EXPECT_EQ(read_be16(b), 0x8001u);
    EXPECT_EQ(read_be16(b + 2), 0xfeffu);
}

// ---- regression: a bug found by this test, now fixed -------------------------------------

TEST(DecodeHeaderRegression, LengthNeverWrapsWithALimitAbove4GiB) {
    // max_packet_size is a uint64_t; config caps it at 2^31-1 today, but with a larger limit
    // a length field of 0xffffffff gives length = 0xffffffff + 1 = 0 in the uint32_t, and a
    // relay that advances by `length` would spin in place.
    const FrameHeader h = decode(header('d', 0xffffffff), std::numeric_limits<uint64_t>::max());
    EXPECT_TRUE(h.status != DecodeStatus::Frame || h.length >= kHeaderSize) << h.length;
}

}  // namespace
}  // namespace pgwarden::pgwire
