#include "pipeline/cache/cache_rows.hpp"

#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/cache_info.hpp"
#include "pipeline/cache/h5_handle.hpp"
#include "pipeline/cache/h5_helpers.hpp"
#include "pipeline/core/atomic_file.hpp"
#include "pipeline/core/error.hpp"

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

// CACHE.rows-XXXXXXXX for the cache file named `cache` (X lower-case hex): the only directories this
// module ever removes. Another cache's name is refused, so that replacing a copy of a mapped cache's
// file (which shares its rows) never deletes the rows the original still maps.
bool is_rows_dir_of(const std::string& name, const std::string& cache) {
    const std::string prefix = fs::path(cache).filename().string() + cache::kRowsDirInfix;
    if (name.size() != prefix.size() + kSuffixDigits || name.compare(0, prefix.size(), prefix) != 0) return false;
    return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end(),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f'); });
}

// The root attribute listing the segments, or "" when the file has none or is not HDF5.
std::string segments_attribute(const std::string& cache) {
    boost::system::error_code ec;
    if (!fs::is_regular_file(cache, ec)) return "";
    try {
        if (!h5::is_hdf5(cache)) return "";
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

// The rows directories of `cache` that the file `file` lists (a pending map CACHE.tmp, or the cache).
std::vector<std::string> rows_dirs_listed(const std::string& file, const std::string& cache) {
    std::vector<std::string> dirs;
    const fs::path folder = fs::path(cache).parent_path();
    for (const std::string& name : listed_segments(file)) {
        const size_t slash = name.find('/');
        if (slash == std::string::npos || !is_rows_dir_of(name.substr(0, slash), cache)) continue;
        const std::string dir = (folder / name.substr(0, slash)).string();
        if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(dir);
    }
    return dirs;
}

}  // namespace

std::string new_rows_dir(const std::string& cache) {
    std::random_device entropy;
    std::mt19937 draw(entropy());
    for (;;) {
        char suffix[kSuffixDigits + 1];
        std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(draw()));
        const std::string dir = cache + cache::kRowsDirInfix + suffix;
        boost::system::error_code ec;
        const fs::file_type type = fs::symlink_status(dir, ec).type();
        if (type == fs::file_not_found) return dir;
        if (type == fs::status_error)
            throw Error("cannot create a rows directory beside cache " + cache + ": " + ec.message());
    }
}

std::vector<std::string> rows_dirs_of(const std::string& cache) { return rows_dirs_listed(cache, cache); }

std::vector<std::string> missing_segments(const std::string& cache) {
    std::vector<std::string> missing;
    const fs::path folder = fs::path(cache).parent_path();
    for (const std::string& name : listed_segments(cache)) {
        boost::system::error_code ec;
        if (!fs::is_regular_file(folder / name, ec)) missing.push_back(name);
    }
    return missing;
}

void remove_rows_dirs(const std::vector<std::string>& dirs, const std::string& keep) {
    for (const std::string& dir : dirs) {
        boost::system::error_code ec;
        if (!keep.empty() && fs::equivalent(dir, keep, ec)) continue;
        fs::remove_all(dir, ec);
    }
}

void finish_interrupted_map(const std::string& cache) {
    const std::string tmp = cache + ".tmp";
    boost::system::error_code ec;
    if (!fs::exists(tmp, ec) || rows_dirs_listed(tmp, cache).empty()) return;
    CacheInfo pending;
    try {
        pending = read_cache_info(tmp);
    } catch (const Error&) {
        return;  // not a whole map: a partial copy, update or merge
    }
    if (!pending.complete || !pending.missing_files.empty()) return;
    const std::vector<std::string> replaced = rows_dirs_of(cache);
    commit_file(tmp, cache);
    remove_rows_dirs(replaced, rows_dirs_of(cache).front());
}

}  // namespace cvtl
