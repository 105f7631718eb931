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
    const CacheInfo info = packable(path);
    const bool in_place = fs::exists(output) && fs::equivalent(path, output);
    if (!in_place && fs::exists(output) && !force)
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
    s.bytes = static_cast<std::uint64_t>(fs::file_size(output));
    return s;
}

}  // namespace cvtl
