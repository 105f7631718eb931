#include "pipeline/data/file_stamp.hpp"

#include "pipeline/core/sha256.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <vector>

namespace cvtl {
namespace {

// Streams the file through SHA-256 in 64 KiB reads: memory stays flat whatever the file's size.
std::string hash_stream(std::FILE* f, std::uint64_t max_bytes) {
    Sha256 digest;
    std::vector<char> buf(64 * 1024);
    std::uint64_t total = 0;
    for (size_t n; (n = std::fread(buf.data(), 1, buf.size(), f)) > 0;) {
        total += n;
        if (total > max_bytes) return "";  // decoding refuses such a file unread; so does the stamp
        digest.update(buf.data(), n);
    }
    return std::ferror(f) ? "" : digest.hex();
}

}  // namespace

FileStamp stamp_file(const std::string& path, std::uint64_t max_bytes) {
    FileStamp stamp;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return stamp;  // FIFOs and devices are never read
    stamp.size = static_cast<std::uint64_t>(st.st_size);
    stamp.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (stamp.size > max_bytes) return stamp;
    std::unique_ptr<std::FILE, decltype(&std::fclose)> f(std::fopen(path.c_str(), "rb"), std::fclose);
    if (f) stamp.sha256 = hash_stream(f.get(), max_bytes);
    return stamp;
}

}  // namespace cvtl
