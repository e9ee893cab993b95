#include "lint/ast.hpp"

#include <algorithm>

namespace pgwarden::lint {

void* Arena::allocate_slow(std::size_t size, std::size_t align) {
    auto addr = reinterpret_cast<std::uintptr_t>(cur_);
    std::size_t pad = (align - addr % align) % align;
    if (cur_ == nullptr || pad + size > left_) {
        // Blocks grow so that big files need few allocations; 64 KiB suits a typical file.
        std::size_t block = std::max<std::size_t>(size + align, 64 * 1024);
        blocks_.push_back(std::unique_ptr<std::byte[]>(new std::byte[block]));
        cur_ = blocks_.back().get();
        left_ = block;
        addr = reinterpret_cast<std::uintptr_t>(cur_);
        pad = (align - addr % align) % align;
    }
    std::byte* p = cur_ + pad;
    cur_ = p + size;
    left_ -= pad + size;
    return p;
}

}  // namespace pgwarden::lint
