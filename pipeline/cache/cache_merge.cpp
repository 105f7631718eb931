#include "pipeline/cache/cache_merge.hpp"

#include "pipeline/cache/cache_file.hpp"
#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/cache_info.hpp"
#include "pipeline/cache/cache_map.hpp"
#include "pipeline/cache/cache_rows.hpp"
#include "pipeline/cache/h5_helpers.hpp"
#include "pipeline/cache/shards.hpp"
#include "pipeline/core/atomic_file.hpp"
#include "pipeline/core/error.hpp"

#include <boost/filesystem.hpp>

#include <algorithm>

namespace cvtl {
namespace {

namespace fs = boost::filesystem;

struct Shard {
    std::string path;
    CacheInfo info;
    ShardRecord record;
    CacheProgress progress;
};

Shard open_shard(const std::string& path) {
    Shard s{path, read_cache_info(path), {}, {}};
    if (!s.info.complete)
        throw Error("shard " + path + " is unfinished; re-run its extraction (the same command) to complete it");
    if (!s.info.attributes.contains(cache::kAttrShard))
        throw Error(path + " is not a shard (it was not extracted with {shard} K/N)");
    s.record = ShardRecord::from_json(s.info.attributes[cache::kAttrShard], "shard " + path);
    if (s.info.consumed != s.record.end - s.record.begin)
        throw Error("shard " + path + " covers " + std::to_string(s.info.consumed) + " entries, not the " +
                    std::to_string(s.record.end - s.record.begin) +
                    " of its range; the file is damaged: extract it again");
    return s;
}

// Everything that must be equal across shards, as recorded.
std::string configuration(const CacheInfo& info) {
    nlohmann::json j;
    for (const char* key : {cache::kAttrModelSha256, cache::kAttrPreprocess, cache::kAttrTaps, cache::kAttrDtype,
                            cache::kAttrPrecision, cache::kAttrCompression, cache::kAttrSplit, cache::kAttrViews})
        j[key] = info.attributes.value(key, nlohmann::json());
    j["classes"] = info.classes;
    return j.dump();
}

// Shards 0..N-1 of one extraction, in order.
std::vector<Shard> check_shards(const std::vector<std::string>& paths) {
    if (paths.empty()) throw Error("name the shard files to merge (e.g. CACHE.h5.shards/rank-*-of-N.h5)");
    std::vector<Shard> shards;
    for (const auto& p : paths) shards.push_back(open_shard(p));
    std::sort(shards.begin(), shards.end(),
              [](const Shard& a, const Shard& b) { return a.record.shard.index < b.record.shard.index; });
    const ShardRecord& first = shards[0].record;
    for (size_t i = 0; i < shards.size(); ++i) {
        const Shard& s = shards[i];
        if (s.record.shard.count != first.shard.count || s.record.dataset_fingerprint != first.dataset_fingerprint)
            throw Error("shard " + s.path + " belongs to another extraction than " + shards[0].path +
                        " (another dataset or shard count)");
        if (s.record.shard.index != static_cast<int>(i))
            throw Error("shard " + std::to_string(i) + " of " + std::to_string(first.shard.count) + " is " +
                        (s.record.shard.index > static_cast<int>(i) ? "missing" : "named twice") +
                        "; pass each of the " + std::to_string(first.shard.count) + " shards once");
        if (configuration(s.info) != configuration(shards[0].info))
            throw Error("shard " + s.path +
                        " was made with another model, preprocessing, taps, storage, split or views than " +
                        shards[0].path);
    }
    if (static_cast<int>(shards.size()) != first.shard.count)
        throw Error(std::to_string(first.shard.count - static_cast<int>(shards.size())) + " of the " +
                    std::to_string(first.shard.count) + " shards are missing; pass every shard file");
    return shards;
}

// The merged cache's configuration: the whole dataset, no shard record.
CacheConfig merged_config(const Shard& first) {
    CacheConfig c = recorded_config(first.info);
    c.dataset_fingerprint = first.record.dataset_fingerprint;
    c.dataset_size = first.record.dataset_size;
    c.shard.clear();
    return c;
}

void copy_merge(const std::string& tmp, const std::vector<Shard>& shards) {
    CacheFile out(tmp, merged_config(shards[0]));
    for (const Shard& s : shards) {
        const CacheConfig c = recorded_config(s.info);
        copy_rows(s.path, c, check_cache_file(s.path, c, "extract that shard again"), out);
    }
    out.seal();
}

void virtual_merge(const std::string& tmp, const std::string& output, const std::vector<Shard>& shards) {
    std::vector<MappedSource> sources;
    for (const Shard& s : shards)
        sources.push_back({s.path, relative_to_output(s.path, output), s.info.rows, s.info.view_rows, s.info.consumed,
                           s.info.skipped_paths, s.info.skipped_reasons});
    write_mapped_cache(tmp, merged_config(shards[0]), sources, cache::kAttrShards);
}

}  // namespace

MergeSummary merge_shards(const MergeOptions& o) {
    h5::quiet_errors();
    const std::vector<Shard> shards = check_shards(o.shards);
    if (fs::exists(o.output) && !o.force)
        throw Error(o.output + " exists; pass {force} to replace it, or merge into another path");
    const std::string tmp = o.output + ".tmp";
    finish_interrupted_map(o.output);  // never write over a finished extraction's map
    try {
        if (o.copy)
            copy_merge(tmp, shards);
        else
            virtual_merge(tmp, o.output, shards);
    } catch (const H5::Exception& e) {
        boost::system::error_code ec;
        fs::remove(tmp, ec);
        throw Error("cannot write " + o.output + ": " + e.getDetailMsg() +
                    " (check the path is writable and the disk has space)");
    }
    const std::vector<std::string> replaced = rows_dirs_of(o.output);  // {force} over an extracted cache
    commit_file(tmp, o.output);
    remove_rows_dirs(replaced);
    MergeSummary s;
    s.shards = static_cast<int>(shards.size());
    for (const Shard& sh : shards)
        s.rows += sh.info.rows, s.skipped += static_cast<std::int64_t>(sh.info.skipped_paths.size()),
            s.view_rows += sh.info.view_rows;
    s.bytes = static_cast<std::uint64_t>(fs::file_size(o.output));
    return s;
}

}  // namespace cvtl
