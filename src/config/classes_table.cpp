// [classes.NAME] tables: workload classes (which connections they match, their share of
// every pool, their timeouts and what happens to their suspected leaks).
#include "config/tables.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>

namespace pgwarden::config::detail {

namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int>::max();

constexpr std::pair<std::string_view, LeakAction> kLeakActions[] = {
    {"report", LeakAction::Report},
    {"cancel", LeakAction::Cancel},
    {"terminate", LeakAction::Terminate},
};

// 5, or "5", or "25%".
void read_share(Reader& r, const toml::node& n, const std::string& key,
                std::optional<PoolShare>& out) {
    const char* hint = "a number of server connections (e.g. 5) or a share of the pool (\"25%\")";
    if (const auto* i = n.as_integer()) {
        if (i->get() < 0 || i->get() > kMaxInt) {
            r.error(n.source(), key, fmt::format("{} is out of range", i->get()), hint);
            return;
        }
        out = PoolShare{static_cast<int>(i->get()), false};
        return;
    }
    if (const auto* s = n.as_string()) {
        std::string_view text = s->get();
        const bool percent = text.ends_with('%');
        if (percent) {
            text.remove_suffix(1);
        }
        int value = -1;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value < 0 ||
            (percent && value > 100)) {
            r.error(n.source(), key, fmt::format("\"{}\" is not a count or a percentage", s->get()),
                    hint);
            return;
        }
        out = PoolShare{value, percent};
        return;
    }
    r.error(n.source(), key,
            fmt::format("expected a number or a percentage, got {}", type_phrase(n)), hint);
}

void read_cidrs(Reader& r, const toml::node& n, const std::string& key, WorkloadClass& c) {
    auto list = r.string_list(n, key);
    if (!list) {
        return;
    }
    for (const auto& text : *list) {
        auto cidr = Cidr::parse(text);
        if (!cidr) {
            r.error(n.source(), key, fmt::format("\"{}\" is not an address or network", text),
                    "write networks as \"10.0.0.0/8\", \"::1/128\" or a single address");
            return;
        }
        c.client_addr.push_back(*cidr);
        c.client_addr_text.push_back(text);
    }
}

const std::vector<Field<WorkloadClass>>& class_fields() {
    static const std::vector<Field<WorkloadClass>> kFields = {
        list_field("application_name", &WorkloadClass::application_name),
        list_field("user", &WorkloadClass::user),
        list_field("database", &WorkloadClass::database),
        {"client_addr", &read_cidrs},
        {"reserve", [](Reader& r, const toml::node& n, const std::string& key,
                       WorkloadClass& c) { read_share(r, n, key, c.reserve); }},
        {"max", [](Reader& r, const toml::node& n, const std::string& key,
                   WorkloadClass& c) { read_share(r, n, key, c.max); }},
        int_field("priority", &WorkloadClass::priority, -1000, 1000),
        {"query_wait_timeout",
         [](Reader& r, const toml::node& n, const std::string& key, WorkloadClass& c) {
             if (auto v = r.duration(n, key)) {
                 c.query_wait_timeout = *v;
             }
         }},
        int_field("max_client_conn", &WorkloadClass::max_client_conn, 0, kMaxInt),
        duration_field("query_timeout", &WorkloadClass::query_timeout),
        duration_field("idle_transaction_timeout", &WorkloadClass::idle_transaction_timeout),
        duration_field("max_checkout_time", &WorkloadClass::max_checkout_time),
        choice_field("leak_action", &WorkloadClass::leak_action,
                     std::span<const std::pair<std::string_view, LeakAction>>(kLeakActions)),
        bool_field("mask_literals", &WorkloadClass::mask_literals),
    };
    return kFields;
}

constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
    {"application", "application_name"},
    {"app", "application_name"},
    {"users", "user"},
    {"databases", "database"},
    {"dbname", "database"},
    {"cidr", "client_addr"},
    {"address", "client_addr"},
    {"min", "reserve"},
    {"reserved", "reserve"},
    {"cap", "max"},
    {"limit", "max"},
    {"max_connections", "max"},
    {"statement_timeout", "query_timeout"},
    {"idle_in_transaction_session_timeout", "idle_transaction_timeout"},
};

void load_class(Reader& reader, const std::string& name, const toml::node& node, Config& config) {
    const std::string key = dotted("classes", name);
    const auto* table = node.as_table();
    if (table == nullptr) {
        reader.error(node.source(), key, fmt::format("expected a table, got {}", type_phrase(node)),
                     fmt::format("write a [{}] line followed by application_name = \"...\"", key));
        return;
    }
    if (name.empty()) {
        reader.error(node.source(), key, "a class needs a name", "use [classes.NAME]");
        return;
    }
    WorkloadClass c;
    c.name = name;
    c.config_line = static_cast<int>(node.source().begin.line);
    apply_fields<WorkloadClass>(
        reader, *table, key, class_fields(), kAliases,
        [](std::string_view k) { return unknown_key_hint(k, "classes", class_keys()); }, c);
    const bool has_criteria = !c.application_name.empty() || !c.user.empty() ||
                              !c.database.empty() || !c.client_addr.empty();
    if (name == kDefaultClass && has_criteria) {
        reader.error(node.source(), key,
                     "the default class matches every connection no other class matched",
                     "remove application_name/user/database/client_addr from [classes.default]");
    }
    if (c.reserve && c.max && c.reserve->percent == c.max->percent &&
        c.reserve->value > c.max->value) {
        const auto* where = reader.location(key + ".reserve");
        reader.error(where != nullptr ? *where : node.source(), key + ".reserve",
                     fmt::format("reserve ({}) is larger than max ({})", c.reserve->to_string(),
                                 c.max->to_string()),
                     "a class cannot be guaranteed more than it may hold");
    }
    config.classes.push_back(std::move(c));
}

}  // namespace

std::span<const std::string_view> class_keys() {
    static const auto kKeys = field_names(class_fields());
    return kKeys;
}

void load_classes(Reader& reader, const toml::node& node, Config& config) {
    const auto* table = node.as_table();
    if (table == nullptr) {
        reader.error(node.source(), "classes",
                     fmt::format("expected a table, got {}", type_phrase(node)),
                     "write one [classes.NAME] table per workload class");
        return;
    }
    for (const auto& [name, entry] : *table) {
        reader.remember(dotted("classes", name.str()), entry.source());
        load_class(reader, std::string(name.str()), entry, config);
    }
}

void finish_classes(Config& config) {
    auto& classes = config.classes;
    // First match wins in the order the file lists them (toml++ tables are sorted by key).
    std::stable_sort(classes.begin(), classes.end(),
                     [](const WorkloadClass& a, const WorkloadClass& b) {
                         return a.config_line < b.config_line;
                     });
    auto it = std::find_if(classes.begin(), classes.end(),
                           [](const WorkloadClass& c) { return c.name == kDefaultClass; });
    WorkloadClass fallback;
    fallback.name = std::string(kDefaultClass);
    if (it != classes.end()) {
        fallback = std::move(*it);
        classes.erase(it);
    }
    classes.push_back(std::move(fallback));
}

}  // namespace pgwarden::config::detail
