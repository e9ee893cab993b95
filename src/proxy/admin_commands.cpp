// The admin console's commands: parsing, privileges, and PgBouncer's PAUSE, RESUME, RELOAD,
// KILL and SHUTDOWN (https://www.pgbouncer.org/usage.html). SHOW is in admin_show.cpp.
#include "proxy/admin_commands.hpp"

#include "pgwire/messages.hpp"
#include "pgwire/sqlstate.hpp"
#include "proxy/admin_result.hpp"
#include "proxy/client_session.hpp"

#include <fmt/format.h>

#include <cctype>
#include <set>

namespace pgwarden::proxy {

namespace sqlstate = pgwire::sqlstate;

namespace {

std::vector<std::string> words(std::string_view sql) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : sql) {
        if (std::isspace(static_cast<unsigned char>(c)) || c == ';') {
            if (!cur.empty()) {
                out.push_back(std::move(cur));
                cur.clear();
            }
        } else {
            cur.push_back(c);
        }
    }
    if (!cur.empty()) {
        out.push_back(std::move(cur));
    }
    return out;
}

std::string upper(std::string s) {
    for (auto& c : s) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return s;
}

bool database_known(Runtime& rt, const std::string& name) {
    return rt.config()->find_database(name) != nullptr;
}

void error(std::string& out, const char* code, std::string_view message) {
    encode_admin_error(out, code, message);
}

}  // namespace

AdminRole admin_role(const config::Config& cfg, const std::string& user) {
    const auto& s = cfg.settings;
    if (std::find(s.admin_users.begin(), s.admin_users.end(), user) != s.admin_users.end()) {
        return AdminRole::Admin;
    }
    if (std::find(s.stats_users.begin(), s.stats_users.end(), user) != s.stats_users.end()) {
        return AdminRole::Stats;
    }
    return AdminRole::None;
}

bool servers_in_use(Runtime& runtime, const std::string& database) {
    for (const auto& p : runtime.pools.stats()) {
        if ((database.empty() || p.database == database) && p.server_active > 0) {
            return true;
        }
    }
    return false;
}

AdminOutcome run_admin_command(Runtime& rt, AdminRole role, std::string_view sql) {
    AdminOutcome r;
    auto& out = r.out;
    const auto w = words(sql);
    if (w.empty()) {
        pgwire::encode_empty_query(out);
        return r;
    }
    const std::string verb = upper(w[0]);
    if (verb == "SHOW") {
        if (w.size() != 2) {
            error(out, sqlstate::kSyntaxError, "SHOW needs one argument; try SHOW HELP");
            return r;
        }
        const std::string what = upper(w[1]);
        if (!run_show(rt, what, out)) {
            error(out, sqlstate::kSyntaxError,
                  fmt::format("unknown SHOW item \"{}\"; try SHOW HELP", w[1]));
        }
        return r;
    }
    static const std::set<std::string> kAdminOnly = {"PAUSE", "RESUME", "RELOAD", "KILL",
                                                     "SHUTDOWN"};
    if (kAdminOnly.count(verb) == 0) {
        error(out, sqlstate::kSyntaxError,
              fmt::format("unknown admin command \"{}\"; try SHOW HELP", w[0]));
        return r;
    }
    if (role != AdminRole::Admin) {
        error(out, sqlstate::kInsufficientPrivilege,
              fmt::format("{} is for admin_users only (stats_users may use SHOW)", verb));
        return r;
    }
    const std::string db = w.size() > 1 ? w[1] : std::string();
    if (w.size() > 2 || ((verb == "RELOAD" || verb == "SHUTDOWN") && w.size() > 1)) {
        error(out, sqlstate::kSyntaxError, fmt::format("too many arguments for {}", verb));
        return r;
    }
    if (!db.empty() && !database_known(rt, db)) {
        error(out, sqlstate::kInvalidCatalogName, fmt::format("no such database: {}", db));
        return r;
    }
    if (verb == "PAUSE") {
        rt.pause.pause(db);
        r.wait_for_pause = true;
        r.pause_database = db;
    } else if (verb == "RESUME") {
        rt.pause.resume(db);
        rt.changes.notify_all();
        pgwire::encode_command_complete(out, "RESUME");
    } else if (verb == "RELOAD") {
        if (rt.admin.reload) {
            rt.admin.reload();
        }
        pgwire::encode_command_complete(out, "RELOAD");
    } else if (verb == "KILL") {
        if (db.empty()) {
            error(out, sqlstate::kSyntaxError, "KILL needs a database name");
            return r;
        }
        // Like PgBouncer, KILL leaves the database paused: new clients wait for RESUME.
        rt.pause.pause(db);
        for (const auto& s : rt.sessions.all()) {
            const auto info = s->info();
            if (!info.admin && info.database == db) {
                s->request_kill();
            }
        }
        rt.pools.close_idle_of(db);
        pgwire::encode_command_complete(out, "KILL");
    } else if (verb == "SHUTDOWN") {
        if (rt.admin.shutdown) {
            rt.admin.shutdown();
        }
        pgwire::encode_command_complete(out, "SHUTDOWN");
    }
    return r;
}

}  // namespace pgwarden::proxy
