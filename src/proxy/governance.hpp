#pragma once

#include "config/workload_class.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace pgwarden::proxy {

// What made a checkout a suspected leak.
enum class LeakKind {
    IdleInTransaction,  // idle inside a transaction past idle_transaction_timeout
    CheckoutTime,       // held a server connection past max_checkout_time
};
const char* to_string(LeakKind kind);

// One suspected leak, as logged, listed (SHOW LEAKS) and counted.
struct LeakRecord {
    std::chrono::system_clock::time_point detected;
    LeakKind kind = LeakKind::IdleInTransaction;
    uint64_t session_id = 0;
    std::string class_name;
    std::string application_name;
    std::string user;
    std::string database;
    std::string client_addr;
    uint16_t client_port = 0;
    double held_seconds = 0;       // since the server connection was checked out
    double idle_seconds = 0;       // since the last statement finished
    char transaction_state = 'I';  // ReadyForQuery status: I, T (in transaction), E (failed)
    std::string last_statement;    // truncated; literals masked unless the class says not to
    config::LeakAction action = config::LeakAction::Report;
};

// The most recent suspected leaks (bounded) and counters. Thread-safe.
class LeakLog {
public:
    explicit LeakLog(size_t capacity = 1000) : capacity_(capacity) {}
    void set_capacity(size_t capacity);
    void record(LeakRecord record);
    std::vector<LeakRecord> recent();  // newest first
    int64_t total() const { return total_.load(std::memory_order_relaxed); }
    // Sessions that are suspected leaks right now (set by each governor pass).
    int current() const { return current_.load(std::memory_order_relaxed); }
    void set_current(int n) { current_.store(n, std::memory_order_relaxed); }

private:
    std::mutex mu_;
    size_t capacity_;
    std::deque<LeakRecord> records_;
    std::atomic<int64_t> total_{0};
    std::atomic<int> current_{0};
};

// Logged-in clients per workload class, for the class's max_client_conn. Thread-safe.
class ClassClients {
public:
    // Counts a client in unless the class already has `limit` (0 = no limit).
    bool try_enter(const std::string& cls, int limit);
    void leave(const std::string& cls);
    std::map<std::string, int> counts();

private:
    std::mutex mu_;
    std::map<std::string, int> counts_;
};

// "10.1.2.3:5432" / "[::1]:5432" / "::1:5432" -> address and port ("" / 0 when unknown).
std::pair<std::string, uint16_t> split_peer(const std::string& peer);

}  // namespace pgwarden::proxy
