#include "commands.hpp"
#include "common/log.hpp"
#include "config/config.hpp"
#include "serve/server.hpp"

#include <iostream>
#include <memory>
#include <string>

namespace pgwarden::app {

Runner register_serve(CLI::App& root) {
    auto* cmd =
        root.add_subcommand("serve", "Run the pooling proxy (PgBouncer-compatible settings)");
    auto path = std::make_shared<std::string>();
    cmd->add_option("-c,--config", *path, "TOML configuration file")->required();
    cmd->footer(
        "Signals: SIGHUP reloads the configuration, SIGTERM drains (stops accepting, lets "
        "transactions finish up to shutdown_timeout), SIGINT shuts down at once.");
    return [path]() -> int {
        auto loaded = config::load_file(*path);
        if (!loaded.ok()) {
            for (const auto& d : loaded.errors) {
                std::cerr << d.to_string() << "\n";
            }
            std::cerr << "pgwarden: configuration " << *path << " has errors; not starting\n";
            return 1;
        }
        const auto& s = loaded.config->settings;
        common::setup_logging(
            s.log_format == "json" ? common::LogFormat::Json : common::LogFormat::Text,
            s.log_level);
        serve::Server server(*path, loaded.config);
        return server.run();
    };
}

}  // namespace pgwarden::app
