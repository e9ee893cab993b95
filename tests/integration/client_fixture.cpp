#include "client_fixture.hpp"

#include <filesystem>

namespace pgwarden::itest {

void TargetTest::SetUp() {
    if (GetParam() != Target::Pgwarden) {
        return;
    }
    ASSERT_EQ(pgwarden_problem(), "");
    auto proxy = PgwardenProcess::start(proxy_options_);
    ASSERT_TRUE(proxy.ok()) << proxy.error().message;
    proxy_.emplace(std::move(*proxy));
}

void TargetTest::TearDown() {
    if (proxy_ && HasFailure()) {
        std::cerr << "--- pgwarden log (" << proxy_->log_path() << ") ---\n"
                  << embedded::tail_file(proxy_->log_path(), 60);
    }
    proxy_.reset();
}

Endpoint TargetTest::endpoint() const {
    if (proxy_) {
        return Endpoint{"127.0.0.1", proxy_->port()};
    }
    return Endpoint{"127.0.0.1", PostgresEnvironment::pg().port()};
}

std::string client_path(const std::string& relative) {
    return std::string(PGWARDEN_SOURCE_DIR) + "/tests/integration/clients/" + relative;
}

std::string system_python() {
    return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

}  // namespace pgwarden::itest
