#include "config/config.hpp"
#include "config/reader.hpp"
#include "config/tables.hpp"

#include "common/result.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace pgwarden::config {

namespace {

namespace fs = std::filesystem;

common::Result<std::string> read_text_file(const std::string& path) {
    std::error_code ec;
    auto status = fs::status(path, ec);
    if (ec) {
        return common::make_error("io", ec.message());
    }
    if (fs::is_directory(status)) {
        return common::make_error("io", "is a directory");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return common::make_error("io", std::strerror(errno));
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) {
        return common::make_error("io", "read failed");
    }
    return buffer.str();
}

std::string resolve_against(const std::string& config_path, const std::string& file) {
    fs::path p(file);
    if (p.is_relative()) {
        p = fs::path(config_path).parent_path() / p;
    }
    std::error_code ec;
    auto absolute = fs::absolute(p, ec);
    return (ec ? p : absolute).lexically_normal().string();
}

void report_unknown_top_level(detail::Reader& reader, const toml::key& key,
                              const toml::node& node) {
    std::vector<std::string_view> names;
    for (const auto& kind : detail::table_kinds()) {
        names.push_back(kind.name);
    }
    const std::string full = detail::dotted("", key.str());
    std::string hint;
    if (key.str() == "pgbouncer") {
        hint = "pgwarden reads PgBouncer's settings from a [pgwarden] table";
    }
    if (hint.empty() && !node.is_table()) {
        for (auto known : detail::settings_keys()) {
            if (known == key.str()) {
                hint = fmt::format("`{}` is a setting: put it below a [pgwarden] line", known);
            }
        }
        if (hint.empty()) {
            hint = detail::belongs_elsewhere(key.str(), "");
        }
    }
    if (hint.empty()) {
        hint = detail::did_you_mean(key.str(), names);
    }
    if (hint.empty()) {
        std::string known;
        for (const auto& kind : detail::table_kinds()) {
            known += known.empty() ? "" : ", ";
            known += kind.shown;
        }
        hint = "the known tables are " + known;
    }
    reader.error(key.source(), full, node.is_table() ? "unknown table" : "unknown top-level key",
                 std::move(hint));
}

// Checks that involve more than one key, once every table is read.
void check_pool_sizes(detail::Reader& reader, const Config& config) {
    const auto& s = config.settings;
    if (s.min_pool_size > s.default_pool_size) {
        if (const auto* where = reader.location("pgwarden.min_pool_size")) {
            reader.error(*where, "pgwarden.min_pool_size",
                         fmt::format("min_pool_size ({}) is larger than default_pool_size ({})",
                                     s.min_pool_size, s.default_pool_size),
                         "lower min_pool_size or raise default_pool_size");
        }
    }
    for (const auto& [name, db] : config.databases) {
        if (!db.pool_size && !db.min_pool_size) {
            continue;  // both inherited: the [pgwarden] check above covers it
        }
        const int pool = db.pool_size.value_or(s.default_pool_size);
        const int min = db.min_pool_size.value_or(s.min_pool_size);
        if (min <= pool) {
            continue;
        }
        const std::string base = detail::dotted("databases", name);
        std::string key = base + (db.min_pool_size ? ".min_pool_size" : ".pool_size");
        const auto* where = reader.location(key);
        const std::string message =
            fmt::format("min_pool_size ({}{}) is larger than pool_size ({}{})", min,
                        db.min_pool_size ? "" : ", from [pgwarden]", pool,
                        db.pool_size ? "" : ", from default_pool_size");
        if (where != nullptr) {
            reader.error(*where, key, message, "min_pool_size must not exceed pool_size");
        } else {
            reader.error(db.config_line, 0, key, message,
                         "min_pool_size must not exceed pool_size");
        }
    }
}

// Reserves must fit in every pool they apply to, or "guaranteed" would be a lie.
void check_class_shares(detail::Reader& reader, const Config& config) {
    auto check = [&](int pool_size, const std::string& where_pool) {
        int reserved = 0;
        for (const auto& c : config.classes) {
            if (c.reserve) {
                reserved += c.reserve->resolve(pool_size);
            }
        }
        if (reserved <= pool_size) {
            return true;
        }
        const auto& last =
            *std::find_if(config.classes.rbegin(), config.classes.rend(),
                          [](const WorkloadClass& c) { return c.reserve.has_value(); });
        const std::string key = detail::dotted("classes", last.name) + ".reserve";
        const std::string message =
            fmt::format("the classes reserve {} server connections but {} has only {}", reserved,
                        where_pool, pool_size);
        const char* hint = "lower the reserves or raise the pool size";
        if (const auto* at = reader.location(key)) {
            reader.error(*at, key, message, hint);
        } else {
            reader.error(last.config_line, 0, key, message, hint);
        }
        return false;
    };
    if (!check(config.settings.default_pool_size, "default_pool_size")) {
        return;
    }
    for (const auto& [name, db] : config.databases) {
        if (db.pool_size && !check(*db.pool_size, "databases." + name + ".pool_size")) {
            return;
        }
    }
}

void check_job_classes(detail::Reader& reader, const Config& config) {
    for (const auto& [name, job] : config.jobs) {
        if (job.workload_class.empty() || config.find_class(job.workload_class) != nullptr) {
            continue;
        }
        std::string known;
        for (const auto& c : config.classes) {
            known += known.empty() ? "" : ", ";
            known += c.name;
        }
        const std::string key = detail::dotted("jobs", name) + ".class";
        const std::string message = fmt::format("unknown class \"{}\"", job.workload_class);
        const std::string hint = "classes defined: " + known;
        if (const auto* at = reader.location(key)) {
            reader.error(*at, key, message, hint);
        } else {
            reader.error(0, 0, key, message, hint);
        }
    }
}

void load_auth_file(detail::Reader& reader, Config& config) {
    auto& s = config.settings;
    const char* key = "pgwarden.auth_file";
    // A broken [pgwarden] table or auth key is already reported; a second error saying
    // "no auth source" would only be its echo.
    const bool auth_reported = std::any_of(
        reader.diagnostics().begin(), reader.diagnostics().end(), [](const Diagnostic& d) {
            return d.key == "pgwarden" || d.key.starts_with("pgwarden.auth_");
        });
    if (s.auth_file.empty()) {
        if (s.auth_type != AuthType::Trust && s.auth_user.empty() && !auth_reported) {
            const std::string message =
                fmt::format("auth_type \"{}\" needs auth_file or auth_user to check passwords",
                            to_string(s.auth_type));
            const std::string hint =
                "set auth_file = \"userlist.txt\", or auth_type = \"trust\" for local testing";
            if (const auto* where = reader.location("pgwarden.auth_type")) {
                reader.error(*where, "pgwarden.auth_type", message, hint);
            } else if (const auto* table = reader.location("pgwarden")) {
                reader.error(*table, "pgwarden", message, hint);
            } else {
                reader.error(0, 0, "pgwarden", message, hint);
            }
        }
        return;
    }
    s.auth_file = resolve_against(config.source_path, s.auth_file);
    auto text = read_text_file(s.auth_file);
    if (!text) {
        if (const auto* where = reader.location(key)) {
            reader.error(*where, key,
                         fmt::format("cannot read \"{}\": {}", s.auth_file, text.error().message),
                         "relative paths are resolved against the config file's directory");
        }
        return;
    }
    config.users = parse_userlist(*text, s.auth_file, reader.diagnostics());
}

LoadResult finish(detail::Reader& reader, Config config) {
    LoadResult result;
    auto& diagnostics = reader.diagnostics();
    const std::string& main_file = reader.file();
    // toml++ hands keys back in sorted order, not file order; users read top to bottom.
    std::stable_sort(diagnostics.begin(), diagnostics.end(),
                     [&](const Diagnostic& a, const Diagnostic& b) {
                         const bool a_other = a.file != main_file;
                         const bool b_other = b.file != main_file;
                         return std::tie(a_other, a.file, a.line, a.column) <
                                std::tie(b_other, b.file, b.line, b.column);
                     });
    result.errors = std::move(diagnostics);
    if (result.errors.empty()) {
        result.config = std::make_shared<const Config>(std::move(config));
    }
    return result;
}

LoadResult single_error(const std::string& path, int line, int column, std::string message,
                        std::string hint = {}) {
    LoadResult result;
    result.errors.push_back(
        Diagnostic{path, line, column, {}, std::move(message), std::move(hint)});
    return result;
}

}  // namespace

LoadResult load_string(std::string_view text, const std::string& path) {
    // No exception leaves: toml++ reports syntax errors by throwing, and anything else
    // (allocation, filesystem) must still reach the user as a diagnostic.
    try {
        toml::table root;
        try {
            root = toml::parse(text, path);
        } catch (const toml::parse_error& e) {
            return single_error(path, static_cast<int>(e.source().begin.line),
                                static_cast<int>(e.source().begin.column),
                                fmt::format("TOML syntax error: {}", e.description()));
        }
        detail::Reader reader(path);
        Config config;
        config.source_path = path;
        for (const auto& [key, node] : root) {
            reader.remember(detail::dotted("", key.str()), node.source());
            const auto kinds = detail::table_kinds();
            auto kind = std::find_if(kinds.begin(), kinds.end(),
                                     [&](const auto& k) { return k.name == key.str(); });
            if (kind == kinds.end()) {
                report_unknown_top_level(reader, key, node);
                continue;
            }
            kind->load(reader, node, config);
        }
        detail::finish_classes(config);
        check_pool_sizes(reader, config);
        check_class_shares(reader, config);
        check_job_classes(reader, config);
        detail::check_jobs(reader, config);
        load_auth_file(reader, config);
        return finish(reader, std::move(config));
    } catch (const std::exception& e) {
        return single_error(path, 0, 0, fmt::format("internal error while loading: {}", e.what()));
    }
}

LoadResult load_file(const std::string& path) {
    try {
        auto text = read_text_file(path);
        if (!text) {
            return single_error(path, 0, 0,
                                fmt::format("cannot read config file: {}", text.error().message));
        }
        return load_string(*text, path);
    } catch (const std::exception& e) {
        return single_error(path, 0, 0, fmt::format("internal error while loading: {}", e.what()));
    }
}

}  // namespace pgwarden::config
