#pragma once
// What a cache records about each image file so that `cvtl extract --update` can tell an unchanged
// file from a new or changed one (docs/architecture.md, "Datasets that grow").
#include <cstdint>
#include <string>

namespace cvtl {

struct FileStamp {
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;  // modification time, nanoseconds since the epoch
    std::string sha256;         // hex digest of the content; empty when the file could not be read

    // Unchanged means the same size, modification time and content: a file rewritten with its
    // mtime preserved (cp -p, rsync -t) is still caught by its hash.
    bool operator==(const FileStamp& other) const {
        return size == other.size && mtime_ns == other.mtime_ns && sha256 == other.sha256;
    }
    bool operator!=(const FileStamp& other) const { return !(*this == other); }
};

// Stats and hashes `path`. Taken before the file is decoded, so that a file changed while it is
// extracted carries the older stamp and is extracted again by the next update. A file that cannot
// be read gets an empty hash (never equal to a readable file's).
FileStamp stamp_file(const std::string& path, std::uint64_t max_bytes);

}  // namespace cvtl
