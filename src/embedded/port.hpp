#pragma once

#include "common/result.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace pgwarden::embedded {

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
// Another process may take it before the caller binds it; callers that can retry should.
common::Result<uint16_t> pick_free_port();

// True when ::1 can be bound on this machine (IPv6 loopback configured).
bool ipv6_loopback_available();

// Polls until a TCP connection to host:port succeeds, or `timeout` passes (then false).
// `host` is a numeric loopback address ("127.0.0.1" or "::1").
bool wait_port_open(const std::string& host, uint16_t port, std::chrono::milliseconds timeout);

// One connection attempt with a short timeout.
bool port_accepts(const std::string& host, uint16_t port);

}  // namespace pgwarden::embedded
