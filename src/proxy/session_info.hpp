#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace pgwarden::proxy {

// What a client session is doing, as SHOW CLIENTS, SHOW SERVERS and the dashboard see it.
enum class ClientState {
    Login,    // startup and authentication
    Idle,     // logged in, between transactions, no server connection
    Waiting,  // asked for a server connection, queued
    Active,   // holding a server connection
};
const char* to_string(ClientState state);

// A copy of one session's visible state, taken under its lock.
struct SessionInfo {
    static constexpr size_t kMaxStatement = 256;  // last_statement is cut to this many bytes

    uint64_t id = 0;
    std::string peer;  // "addr:port" or "unix"
    std::string database;
    std::string user;
    std::string application_name;
    bool admin = false;  // on the admin console
    ClientState state = ClientState::Login;
    std::chrono::system_clock::time_point connect_time{};
    std::chrono::system_clock::time_point state_since{};     // when `state` was entered
    std::chrono::steady_clock::time_point checkout_since{};  // Active: when the lease began
    std::string workload_class;
    std::string last_statement;  // truncated; literals masked unless the class says not to
    char transaction_state = 'I';
    bool suspected_leak = false;  // past the class's idle_transaction_timeout/max_checkout_time
    uint64_t server_id = 0;       // Active: the server connection's id
    int32_t server_pid = 0;       // Active: its backend pid
    std::string server_addr;      // Active: "host:port" of the server
    uint16_t server_local_port = 0;
};

}  // namespace pgwarden::proxy
