#pragma once

#include "common/result.hpp"

#include <string>

namespace pgwarden::embedded {

// A freshly created private directory (mkdtemp) that is removed, with everything in it, when
// the owner goes away, unless keep() was called. Move-only.
class TempDir {
public:
    // `prefix` is a path prefix such as "/tmp/pgwarden-demo-"; six random characters follow.
    static common::Result<TempDir> create(const std::string& prefix);

    TempDir() = default;
    TempDir(TempDir&& other) noexcept;
    TempDir& operator=(TempDir&& other) noexcept;
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();

    const std::string& path() const noexcept { return path_; }
    // Leaves the directory on disk when this object is destroyed (for --keep and debugging).
    void keep() noexcept { keep_ = true; }
    bool kept() const noexcept { return keep_; }
    // Removes it now (idempotent).
    void remove() noexcept;

private:
    explicit TempDir(std::string path) : path_(std::move(path)) {}

    std::string path_;
    bool keep_ = false;
};

}  // namespace pgwarden::embedded
