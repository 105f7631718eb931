#pragma once
#include <string>

namespace cvtl::test {

// A committed fixture file (tests/fixtures/NAME).
std::string fixture(const std::string& name);

// A fresh empty directory under the system temp dir, removed when the object dies.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

// Copies the fixture image tree (3 classes x 4 images) to `dir`.
void copy_fixture_images(const std::string& dir);

// DIR/data: the fixture tree copied `copies` times (12 x copies images, names prefixed c<copy>_).
std::string make_image_tree(const std::string& dir, int copies);

void write_file(const std::string& path, const std::string& bytes);
std::string read_file(const std::string& path);

}  // namespace cvtl::test
