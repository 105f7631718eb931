#include "support/fixtures.hpp"

#include <boost/filesystem.hpp>

#include <fstream>
#include <sstream>

namespace fs = boost::filesystem;

namespace cvtl::test {

std::string fixture(const std::string& name) { return std::string(CVTL_FIXTURES_DIR) + "/" + name; }

TempDir::TempDir() {
    path_ = (fs::temp_directory_path() / fs::unique_path("cvtl-test-%%%%-%%%%-%%%%")).string();
    fs::create_directories(path_);
}

TempDir::~TempDir() {
    boost::system::error_code ignored;
    fs::remove_all(path_, ignored);
}

void copy_fixture_images(const std::string& dir) {
    const fs::path src(fixture("images"));
    for (fs::recursive_directory_iterator it(src), end; it != end; ++it) {
        const fs::path target = fs::path(dir) / fs::relative(it->path(), src);
        if (fs::is_directory(it->path()))
            fs::create_directories(target);
        else
            fs::copy_file(it->path(), target, fs::copy_options::overwrite_existing);
    }
}

std::string make_image_tree(const std::string& dir, int copies) {
    const std::string data = dir + "/data";
    for (int copy = 0; copy < copies; ++copy) {
        const std::string tmp = dir + "/copy" + std::to_string(copy);
        copy_fixture_images(tmp);
        for (const char* cls : {"cat", "dog", "fish"})
            for (fs::directory_iterator it(tmp + "/" + cls), end; it != end; ++it) {
                fs::create_directories(data + "/" + cls);
                fs::rename(it->path(),
                           data + "/" + cls + "/c" + std::to_string(copy) + "_" + it->path().filename().string());
            }
        fs::remove_all(tmp);
    }
    return data;
}

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace cvtl::test
