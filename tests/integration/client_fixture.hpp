#pragma once

#include "harness.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace pgwarden::itest {

// A test that runs once per Target. For Target::Pgwarden it starts `pgwarden serve` with the
// default config (or skips when the binary has no serve subcommand yet).
class TargetTest : public ::testing::TestWithParam<Target> {
protected:
    void SetUp() override;
    void TearDown() override;

    // Where clients connect for this run.
    Endpoint endpoint() const;
    std::string url(const std::string& user = kAppUser,
                    const std::string& password = kAppPassword) const {
        return endpoint().url(kAppDb, user, password);
    }
    // Settings for the proxy started in SetUp; override before SetUp via the constructor.
    PgwardenOptions proxy_options_;
    std::optional<PgwardenProcess> proxy_;
};

// gtest parameter names: "Direct" / "Pgwarden".
struct TargetName {
    std::string operator()(const ::testing::TestParamInfo<Target>& info) const {
        return to_string(info.param);
    }
};

// Path of a file under tests/integration/clients.
std::string client_path(const std::string& relative);
// The Debian python3 (which has psycopg and psycopg2), not a pyenv shim's.
std::string system_python();

}  // namespace pgwarden::itest
