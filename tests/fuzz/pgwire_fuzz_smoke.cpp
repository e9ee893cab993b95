// A bounded stand-in for libFuzzer where there is none (g++ builds): runs the pgwire and
// prepared-statement fuzz targets on every prefix of a set of valid seed inputs and on
// seeded random mutations of them, so CI exercises both targets on every build.
//
//   pgwire_fuzz_smoke [INPUTS_PER_TARGET] [--write-corpus DIR]
//
// --write-corpus writes the seeds as files (DIR/pgwire/*, DIR/prepared_statements/*), a
// starting corpus for the libFuzzer binaries.
#include "pgwire/messages.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

int pgwarden_fuzz_pgwire(const uint8_t* data, size_t size);
int pgwarden_fuzz_prepared_statements(const uint8_t* data, size_t size);

namespace {

using namespace pgwarden::pgwire;
using Target = int (*)(const uint8_t*, size_t);

// Feeds an exactly-sized heap copy, as libFuzzer does, so an overread is an overread.
void feed(Target target, const std::string& s) {
    std::unique_ptr<uint8_t[]> copy(new uint8_t[s.size() + (s.empty() ? 1 : 0)]);
    std::memcpy(copy.get(), s.data(), s.size());
    target(copy.get(), s.size());
}

std::string be32(uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
            static_cast<char>(v)};
}

std::vector<std::string> pgwire_seeds() {
    std::vector<std::string> seeds;
    auto add = [&](auto encode) {
        std::string s;
        encode(s);
        seeds.push_back(s);
    };
    using namespace std::string_literals;
    add([](std::string& s) { encode_startup(s, {{"user", "alice"}, {"database", "app"}}); });
    add([](std::string& s) { encode_cancel_request(s, 1234, 5678); });
    seeds.push_back(be32(8) + be32(kSslRequestCode));
    seeds.push_back(be32(8) + be32(kGssEncRequestCode));
    seeds.push_back(be32(13) + be32(2 << 16) + "user\0"s);
    add([](std::string& s) { encode_error(s, "28P01", "bad password", "detail"); });
    add([](std::string& s) { encode_notice(s, "01000", "notice"); });
    add([](std::string& s) { encode_auth_ok(s); });
    add([](std::string& s) { encode_auth_md5(s, {1, 2, 3, 4}); });
    add([](std::string& s) { encode_auth_sasl(s, "SCRAM-SHA-256"); });
    add([](std::string& s) { encode_auth_sasl_continue(s, "r=abc,s=c2FsdA==,i=4096"); });
    add([](std::string& s) { encode_sasl_initial_response(s, "SCRAM-SHA-256", "n,,n=,r=x"); });
    add([](std::string& s) { encode_parameter_status(s, "TimeZone", "UTC"); });
    add([](std::string& s) { encode_backend_key_data(s, 1, 2); });
    add([](std::string& s) {
        encode_parse(s, "s1", "SELECT $1", "\0\x01\0\0\0\x17"s);
        encode_bind(s, "", "s1",
                    "\0\0\0\x01\0\0\0\x01"
                    "7\0\0"s);
        encode_target(s, 'D', 'P', "");
        encode_target(s, 'C', 'S', "s1");
        encode_sync(s);
        encode_query(s, "SELECT 1");
        encode_terminate(s);
    });
    add([](std::string& s) {
        encode_row_description(s, {"a", "b"});
        encode_data_row(s, {std::string("x"), std::nullopt});
        encode_command_complete(s, "SELECT 1");
        encode_ready_for_query(s, 'I');
    });
    // Bodies alone, for the body parsers run on the whole input.
    seeds.push_back("s1\0SELECT 1\0\0\0"s);
    seeds.push_back("SCRAM-SHA-256\0"s + be32(0xffffffff));
    seeds.push_back("Ss1\0"s);
    return seeds;
}

std::vector<std::string> program_seeds() {
    // Programs for the prepared-statement target: byte 0 is max_per_server, then ops
    // (op % 8: 0 Sync, 1 Execute, 2 Parse, 3 Bind, 4 Describe, 5 Close, 6 Query, 7 Parse)
    // each followed by the bytes it consumes.
    return {
        std::string("\x02\x02\x01\x01\x01\x00\x00\x00\x00\x00", 10),
        std::string("\x01\x02\x01\x01\x01\x02\x02\x02\x01\x03\x00\x01\x00\x00\x00\x01\x00", 17),
        std::string("\x00\x02\x01\x01\x01\x06\x00\x00\x00\x00\x03\x00\x01\x00\x00", 15),
        std::string("\x02\x02\x01\x00\x01\x02\x02\x01\x01\x02\x03\x02\x01\x00\x01\x01\x03"
                    "\x00\x01\x00\x00\x00\x00\x00",
                    24),
        std::string("\x03\xe2\x05s1\0SE\x00\x00\x00", 12),
    };
}

// Values that sit on the decoders' boundaries, patched into length fields.
const uint32_t kLengths[] = {0, 3, 4, 5, 7, 8, 9, 10000, 10001, 0x7fffffff, 0x80000000, 0xffffffff};

std::string mutate(std::string s, const std::vector<std::string>& seeds, std::mt19937& rng) {
    const int steps = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < steps; ++i) {
        const size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
        switch (rng() % 7) {
        case 0:  // flip a byte
            if (!s.empty()) {
                s[pos % s.size()] = static_cast<char>(rng());
            }
            break;
        case 1:  // delete a range
            if (!s.empty()) {
                s.erase(pos % s.size(), 1 + rng() % 8);
            }
            break;
        case 2:  // insert random bytes
            for (size_t n = 1 + rng() % 8; n > 0; --n) {
                s.insert(s.begin() + static_cast<std::ptrdiff_t>(pos), static_cast<char>(rng()));
            }
            break;
        case 3:  // truncate
            s.resize(pos);
            break;
        case 4:  // splice in part of another seed
        {
            const std::string& other = seeds[rng() % seeds.size()];
            if (!other.empty()) {
                const size_t from = rng() % other.size();
                s.insert(pos, other.substr(from, 1 + rng() % 32));
            }
            break;
        }
        case 5:  // overwrite four bytes with a boundary length
            if (s.size() >= 4) {
                const std::string v = be32(kLengths[rng() % std::size(kLengths)]);
                s.replace(pos % (s.size() - 3), 4, v);
            }
            break;
        default:  // insert a NUL, the terminator every parser hunts for
            s.insert(pos, 1, '\0');
            break;
        }
    }
    return s;
}

size_t run(Target target, const std::vector<std::string>& seeds, long count, uint32_t seed) {
    std::mt19937 rng(seed);  // fixed seed: a failure reproduces
    size_t inputs = 0;
    for (const auto& s : seeds) {
        for (size_t cut = 0; cut <= s.size(); ++cut) {
            feed(target, s.substr(0, cut));
            ++inputs;
        }
    }
    while (static_cast<long>(inputs) < count) {
        // Mutations of mutations now and then, to get further from the valid shapes.
        std::string s = mutate(seeds[rng() % seeds.size()], seeds, rng);
        if (rng() % 4 == 0) {
            s = mutate(std::move(s), seeds, rng);
        }
        feed(target, s);
        ++inputs;
    }
    return inputs;
}

void write_corpus(const std::filesystem::path& dir, const std::vector<std::string>& seeds) {
    std::filesystem::create_directories(dir);
    for (size_t i = 0; i < seeds.size(); ++i) {
        std::ofstream(dir / ("seed" + std::to_string(i)), std::ios::binary) << seeds[i];
    }
}

}  // namespace

int main(int argc, char** argv) {
    long count = 200000;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--write-corpus") == 0 && i + 1 < argc) {
            const std::filesystem::path dir = argv[++i];
            write_corpus(dir / "pgwire", pgwire_seeds());
            write_corpus(dir / "prepared_statements", program_seeds());
            return 0;
        }
        count = std::strtol(argv[i], nullptr, 10);
    }
    const size_t a = run(pgwarden_fuzz_pgwire, pgwire_seeds(), count, 20260219);
    std::printf("pgwire: %zu inputs without a crash\n", a);
    const size_t b = run(pgwarden_fuzz_prepared_statements, program_seeds(), count, 20260220);
    std::printf("prepared_statements: %zu inputs without a crash\n", b);
    return 0;
}
