// The dataset scanner. The first byte picks the source:
//  even: the rest is a CSV list (path,label[,split]) scanned as given;
//  odd:  the rest is a folder tree, one relative path per line ("@name" makes a symlink to its
//        own folder, a cycle), built in a scratch folder and scanned.
// Either the scan succeeds with a consistent dataset or it throws cvtl::Error.
#include "fuzz_support.hpp"

#include "pipeline/data/dataset.hpp"
#include "pipeline/core/error.hpp"

#include <cstdlib>
#include <sstream>

namespace fs = boost::filesystem;

namespace {

void build_tree(const fs::path& root, const std::string& spec) {
    std::istringstream lines(spec);
    std::string line;
    for (int n = 0; n < 64 && std::getline(lines, line); ++n) {
        const bool link = !line.empty() && line[0] == '@';
        fs::path rel(link ? line.substr(1) : line);
        if (line.size() > 200 || rel.empty() || rel.is_absolute() || rel.has_root_path()) continue;
        bool escapes = false;
        for (const auto& part : rel) escapes |= part == ".." || part == ".";
        if (escapes) continue;
        const fs::path p = root / rel;
        boost::system::error_code ec;
        fs::create_directories(p.parent_path(), ec);
        if (link)
            fs::create_directory_symlink(".", p, ec);
        else
            std::ofstream(p.string()) << "x";
    }
}

void check(const cvtl::Dataset& d) {
    for (const auto& s : d.samples)
        if (s.label < 0 || static_cast<size_t>(s.label) >= d.classes.size() || static_cast<int>(s.split) > 2)
            std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
    if (size == 0) return 0;
    cvtl::ScanOptions options;
    options.val_fraction = (data[0] >> 1) / 127.0;
    const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::string source;
    if (data[0] % 2 == 0) {
        source = cvtl::fuzz::write_file("list.csv", data + 1, size - 1);
    } else {
        const fs::path root = cvtl::fuzz::scratch() / "tree";
        boost::system::error_code ec;
        fs::remove_all(root, ec);
        fs::create_directories(root);
        build_tree(root, rest);
        source = root.string();
    }
    try {
        check(cvtl::scan_dataset(source, options));
    } catch (const cvtl::Error&) {}
    return 0;
}
