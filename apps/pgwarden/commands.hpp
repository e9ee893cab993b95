#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace pgwarden::app {

// Each face adds its subcommand to the root app and returns the code to run when the
// subcommand was chosen. Exit codes: 0 ok, 1 findings/failed check, 2 usage error.
using Runner = std::function<int()>;

Runner register_serve(CLI::App& root);
Runner register_check(CLI::App& root);
Runner register_demo(CLI::App& root);
Runner register_lint(CLI::App& root);
Runner register_jobs(CLI::App& root);

}  // namespace pgwarden::app
