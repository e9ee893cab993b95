#include "embedded/temp_dir.hpp"

#include <fmt/format.h>

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

namespace pgwarden::embedded {

common::Result<TempDir> TempDir::create(const std::string& prefix) {
    std::vector<char> templ(prefix.begin(), prefix.end());
    for (char c : std::string("XXXXXX")) {
        templ.push_back(c);
    }
    templ.push_back('\0');
    if (::mkdtemp(templ.data()) == nullptr) {
        return common::make_error(
            "tempdir", fmt::format("mkdtemp {}XXXXXX: {}", prefix, std::strerror(errno)));
    }
    return TempDir(std::string(templ.data()));
}

TempDir::TempDir(TempDir&& other) noexcept
    : path_(std::exchange(other.path_, {})), keep_(other.keep_) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
    if (this != &other) {
        if (!keep_) {
            remove();
        }
        path_ = std::exchange(other.path_, {});
        keep_ = other.keep_;
    }
    return *this;
}

TempDir::~TempDir() {
    if (!keep_) {
        remove();
    }
}

void TempDir::remove() noexcept {
    if (path_.empty()) {
        return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    path_.clear();
}

}  // namespace pgwarden::embedded
