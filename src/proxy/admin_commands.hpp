#pragma once

#include "proxy/runtime.hpp"

#include <string>
#include <string_view>

namespace pgwarden::proxy {

// Who is on the admin console: admin_users may do everything, stats_users only SHOW.
enum class AdminRole {
    None,   // neither list: refused at login (42501)
    Stats,  // stats_users
    Admin,  // admin_users
};

AdminRole admin_role(const config::Config& cfg, const std::string& user);

// What a command produced. `out` holds the protocol messages (results, notices, errors) up
// to but not including ReadyForQuery.
struct AdminOutcome {
    std::string out;
    // PAUSE: the console waits until these databases have no server connection in use
    // (empty name: all), then appends `pause_tag`'s CommandComplete.
    bool wait_for_pause = false;
    std::string pause_database;
};

// Runs one admin console statement (PgBouncer's commands, case-insensitive, optional
// trailing semicolon). Runs on the console session's loop; takes only short locks.
AdminOutcome run_admin_command(Runtime& runtime, AdminRole role, std::string_view sql);

// SHOW `what` (upper case) into `out`; false when there is no such item.
bool run_show(Runtime& runtime, const std::string& what, std::string& out);

// True while a server connection of `database` (empty: any) is leased out.
bool servers_in_use(Runtime& runtime, const std::string& database);

}  // namespace pgwarden::proxy
