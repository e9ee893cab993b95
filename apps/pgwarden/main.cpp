#include "commands.hpp"

#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>
#include <utility>
#include <vector>

int main(int argc, char** argv) {
    CLI::App root{"pgwarden: a PostgreSQL connection pooler that governs connections"};
    root.require_subcommand(1);
    root.set_version_flag("--version", "pgwarden 0.1.0");

    std::vector<std::pair<CLI::App*, pgwarden::app::Runner>> faces;
    auto add = [&](pgwarden::app::Runner runner) {
        faces.emplace_back(root.get_subcommands([](CLI::App*) { return true; }).back(),
                           std::move(runner));
    };
    add(pgwarden::app::register_serve(root));
    add(pgwarden::app::register_check(root));
    add(pgwarden::app::register_demo(root));
    add(pgwarden::app::register_lint(root));
    add(pgwarden::app::register_jobs(root));

    try {
        root.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // CLI11 uses 0 for --help/--version; every other parse failure is a usage error (2).
        int code = root.exit(e);
        return code == 0 ? 0 : 2;
    }
    for (auto& [sub, runner] : faces) {
        if (sub->parsed()) {
            try {
                return runner();
            } catch (const std::exception& e) {
                std::cerr << "pgwarden: " << e.what() << "\n";
                return 1;
            }
        }
    }
    return 2;
}
