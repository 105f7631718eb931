#include "pipeline/cache/cache_pack.hpp"

#include "pipeline/cache/cache_file.hpp"
#include "pipeline/cache/cache_info.hpp"
#include "pipeline/cache/cache_rows.hpp"
#include "pipeline/cache/h5_helpers.hpp"
#include "pipeline/core/atomic_file.hpp"
#include "pipeline/core/error.hpp"

#include <boost/filesystem.hpp>

namespace cvtl {

namespace fs = boost::filesystem;

namespace {

CacheInfo packable(const std::string& path) {
    const CacheInfo info = read_cache_info(path);
    if (!info.complete) throw Error("cache " + path + " is unfinished; complete it first by re-running its extraction");
    if (info.segments.empty() && info.shards.empty())
        throw Error("cache " + path + " is already one self-contained file; nothing to pack");
    require_row_files(info);
    return info;
}

}  // namespace

PackSummary pack_cache(const std::string& path, const std::string& output, bool force) {
    h5::quiet_errors();
    finish_interrupted_map(path);  // a finished extraction whose commit a kill cut short
    const CacheInfo info = packable(path);
    boost::system::error_code ec;
    const bool exists = fs::exists(output, ec), in_place = exists && fs::equivalent(path, output, ec);
    if (!in_place && exists && !force)
        throw Error(output + " exists; pass {force} to replace it, or pack into another path");
    const CacheConfig config = recorded_config(info);
    const std::string tmp = output + ".tmp";
    try {
        CacheFile out(tmp, config);
        copy_rows(path, config, check_cache_file(path, config, "extract it again"), out);
        out.seal();
    } catch (const H5::Exception& e) {
        boost::system::error_code ec;
        fs::remove(tmp, ec);
        throw Error("cannot pack " + path + " into " + output + ": " + e.getDetailMsg() + " (is the disk full? " +
                    path + " is unchanged)");
    }
    const std::vector<std::string> replaced = rows_dirs_of(output);
    commit_file(tmp, output);
    remove_rows_dirs(replaced);
    PackSummary s;
    s.rows = info.rows, s.view_rows = info.view_rows;
    s.files = static_cast<int>(info.segments.size() + info.shards.size());
    s.bytes = static_cast<std::uint64_t>(fs::file_size(output, ec));
    return s;
}

}  // namespace cvtl
