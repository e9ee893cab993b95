#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgwarden::config {

// What happens to a session suspected of leaking its server connection.
enum class LeakAction {
    Report,     // log, count and list it; nothing else
    Cancel,     // also cancel the query running on its server connection; keep the client
    Terminate,  // end the client's session, roll back, return the server connection clean
};

// A share of one pool's server connections: a count, or a percentage of pool_size.
struct PoolShare {
    int value = 0;
    bool percent = false;
    // Percentages round down, except that a nonzero percentage is never less than one.
    int resolve(int pool_size) const;
    std::string to_string() const;
};

// An IPv4 or IPv6 network, "10.0.0.0/8" or "::1/128". A v4 address also matches its
// IPv4-mapped IPv6 form (how a dual-stack listener reports v4 clients).
struct Cidr {
    std::array<uint8_t, 16> bytes{};  // v4 networks are stored IPv4-mapped
    int prefix = 0;                   // in bits of the 128-bit form
    static std::optional<Cidr> parse(std::string_view text);
    bool contains(std::string_view address) const;
};

// One [classes.NAME] table: which connections belong to the class, and its share of every
// pool. A connection belongs to the first class (in file order) whose criteria all match;
// each list matches when any of its entries does; an empty list matches anything.
struct WorkloadClass {
    std::string name;
    std::vector<std::string> application_name;  // fnmatch globs
    std::vector<std::string> user;              // fnmatch globs
    std::vector<std::string> database;          // fnmatch globs (the client's database name)
    std::vector<Cidr> client_addr;
    std::vector<std::string> client_addr_text;  // as written, for SHOW CLASSES
    std::optional<PoolShare> reserve;           // connections only this class may use
    std::optional<PoolShare> max;               // the class never holds more than this
    int priority = 0;                           // higher is served first
    std::optional<std::chrono::milliseconds> query_wait_timeout;  // unset: [pgwarden]'s
    int max_client_conn = 0;                                      // 0 = only the global limit
    std::chrono::milliseconds query_timeout{0};                   // 0 = none
    std::chrono::milliseconds idle_transaction_timeout{0};        // 0 = none
    std::chrono::milliseconds max_checkout_time{0};               // 0 = none
    LeakAction leak_action = LeakAction::Report;
    bool mask_literals = true;  // leak reports show the last statement with literals masked
    int config_line = 0;

    bool matches(std::string_view app, std::string_view user_name, std::string_view db,
                 std::string_view address) const;
};

std::string_view to_string(LeakAction action);

// Replaces string and numeric literals in SQL text with '?' so leak reports do not copy
// user data into logs; quoted identifiers and dollar-quoted bodies are handled too.
std::string mask_sql_literals(std::string_view sql);

}  // namespace pgwarden::config
