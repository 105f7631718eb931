#pragma once
// A file's bytes mapped read-only into memory: the model loader hashes and scans a 500 MB model
// without copying it (the pages are the page cache's, shared with cv::dnn's own read of the file).
#include <cstddef>
#include <string>

namespace cvtl {

class MappedFile {
public:
    // Throws cvtl::Error naming `path` when it cannot be opened or mapped. An empty file maps to
    // data() == nullptr, size() == 0.
    explicit MappedFile(const std::string& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const char* data() const { return data_; }
    std::size_t size() const { return size_; }

private:
    const char* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace cvtl
