#include "pipeline/core/atomic_file.hpp"

#include "pipeline/core/error.hpp"

#include <boost/filesystem.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fcntl.h>
#include <unistd.h>

namespace cvtl {

void sync_path(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error("cannot open " + path + " to make it durable: " + std::strerror(errno));
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) throw Error("cannot make " + path + " durable (fsync failed: is the disk full or failing?)");
}

void commit_file(const std::string& tmp, const std::string& path) {
    sync_path(tmp);
    boost::system::error_code ec;
    boost::filesystem::rename(tmp, path, ec);
    if (ec) throw Error("cannot replace " + path + ": " + ec.message());
    const auto dir = boost::filesystem::absolute(path).parent_path();
    sync_path(dir.empty() ? "." : dir.string());
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.close();
        if (!out) {
            std::remove(tmp.c_str());
            throw Error("cannot write " + path + " (disk full, or no permission in its folder?)");
        }
    }
    commit_file(tmp, path);
}

}  // namespace cvtl
