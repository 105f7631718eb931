#include "pipeline/cache/disk_space.hpp"

#include "pipeline/core/error.hpp"

#include <boost/filesystem.hpp>

#include <cstdio>
#include <cstdlib>

namespace cvtl {
namespace fs = boost::filesystem;

namespace {

std::string gib(std::uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
    return buf;
}

}  // namespace

std::uint64_t free_bytes(const std::string& dir) {
    if (const char* text = std::getenv("CVTL_TEST_FREE_BYTES")) return std::strtoull(text, nullptr, 10);
    fs::path p = fs::absolute(dir.empty() ? "." : dir);
    while (!p.empty() && !fs::exists(p)) p = p.parent_path();  // the cache's folder may not exist yet
    boost::system::error_code ec;
    const fs::space_info s = fs::space(p, ec);
    if (ec) throw Error("cannot tell the free space under " + p.string() + ": " + ec.message());
    return static_cast<std::uint64_t>(s.available);
}

void check_room(const std::string& dir, std::uint64_t needed, const std::string& what, const std::string& fix) {
    const std::uint64_t available = free_bytes(dir);
    if (needed <= available) return;
    throw Error(what + " needs about " + gib(needed) + " of disk, but " + (dir.empty() ? std::string(".") : dir) +
                " has " + gib(available) + " free; " + fix);
}

}  // namespace cvtl
