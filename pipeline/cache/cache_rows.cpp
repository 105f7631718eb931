#include "pipeline/cache/cache_rows.hpp"

#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/h5_handle.hpp"
#include "pipeline/cache/h5_helpers.hpp"

#include <boost/filesystem.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <random>

namespace cvtl {
namespace {

namespace fs = boost::filesystem;

constexpr size_t kSuffixDigits = 8;

// NAME.rows-XXXXXXXX, X lower-case hex: the only directories this module ever removes.
bool is_rows_dir_name(const std::string& name) {
    const size_t at = name.rfind(cache::kRowsDirInfix);
    if (at == std::string::npos || at == 0) return false;
    const std::string suffix = name.substr(at + std::string(cache::kRowsDirInfix).size());
    return suffix.size() == kSuffixDigits && std::all_of(suffix.begin(), suffix.end(), [](char c) {
               return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
           });
}

// The root attribute listing the segments, or "" when the file has none or is not HDF5.
std::string segments_attribute(const std::string& cache) {
    if (!fs::is_regular_file(cache) || !h5::is_hdf5(cache)) return "";
    try {
        h5::Lock lock;
        const H5::H5File file(cache, H5F_ACC_RDONLY);
        return h5::has_attr(file, cache::kAttrSegments) ? h5::get_string(file, cache::kAttrSegments) : "";
    } catch (const H5::Exception&) {
        return "";
    }
}

std::vector<std::string> listed_segments(const std::string& cache) {
    const nlohmann::json listed = nlohmann::json::parse(segments_attribute(cache), nullptr, false);
    std::vector<std::string> names;
    if (listed.is_array())
        for (const auto& entry : listed)
            if (entry.is_string()) names.push_back(entry.get<std::string>());
    return names;
}

}  // namespace

std::string new_rows_dir(const std::string& cache) {
    std::random_device entropy;
    std::mt19937 draw(entropy());
    for (;;) {
        char suffix[kSuffixDigits + 1];
        std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(draw()));
        const std::string dir = cache + cache::kRowsDirInfix + suffix;
        if (!fs::exists(dir)) return dir;
    }
}

std::vector<std::string> rows_dirs_of(const std::string& cache) {
    std::vector<std::string> dirs;
    const fs::path folder = fs::path(cache).parent_path();
    for (const std::string& name : listed_segments(cache)) {
        const size_t slash = name.find('/');
        if (slash == std::string::npos || !is_rows_dir_name(name.substr(0, slash))) continue;
        const std::string dir = (folder / name.substr(0, slash)).string();
        if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(dir);
    }
    return dirs;
}

std::vector<std::string> missing_segments(const std::string& cache) {
    std::vector<std::string> missing;
    const fs::path folder = fs::path(cache).parent_path();
    for (const std::string& name : listed_segments(cache))
        if (!fs::is_regular_file(folder / name)) missing.push_back(name);
    return missing;
}

void remove_rows_dirs(const std::vector<std::string>& dirs, const std::string& keep) {
    for (const std::string& dir : dirs) {
        boost::system::error_code ec;
        if (!keep.empty() && fs::equivalent(dir, keep, ec)) continue;
        fs::remove_all(dir, ec);
    }
}

void remove_cache_file(const std::string& cache) {
    const std::vector<std::string> dirs = rows_dirs_of(cache);
    boost::system::error_code ec;
    fs::remove(cache, ec);
    remove_rows_dirs(dirs);
}

}  // namespace cvtl
