#include "pipeline/cache/cache_merge.hpp"

#include "pipeline/cache/cache_file.hpp"
#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/cache_info.hpp"
#include "pipeline/cache/h5_helpers.hpp"
#include "pipeline/cache/h5_virtual.hpp"
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

// The cache configuration a shard records (its own dataset range and fingerprint).
CacheConfig config_of(const CacheInfo& info) {
    const nlohmann::json& a = info.attributes;
    CacheConfig c;
    c.model_sha256 = a.value(cache::kAttrModelSha256, std::string());
    c.model_file = a.value(cache::kAttrModelFile, std::string());
    c.model_weights = a.value(cache::kAttrModelWeights, std::string());
    c.preprocess = Preprocessing::from_json(a.at(cache::kAttrPreprocess), "cache " + info.path);
    for (const auto& t : info.taps)
        c.taps.push_back({t.name, t.layer, std::vector<int>(t.dims.begin() + 1, t.dims.end())});
    c.dtype = parse_dtype(a.value(cache::kAttrDtype, std::string("f32")), info.path);
    c.precision = a.value(cache::kAttrPrecision, std::string("f32"));
    c.compress = a.value(cache::kAttrCompression, std::string()) == cache::kCompressionDeflate;
    c.dataset = a.value(cache::kAttrDataset, std::string());
    c.dataset_fingerprint = a.value(cache::kAttrDatasetFingerprint, std::string());
    c.dataset_size = info.dataset_size;
    c.classes = info.classes;
    c.val_fraction = a.at(cache::kAttrSplit).value("val_fraction", 0.1);
    c.seed = a.at(cache::kAttrSplit).value("seed", 0u);
    c.test_fraction = a.at(cache::kAttrSplit).value("test_fraction", 0.0);
    c.views = info.views;
    c.augment = info.augment;
    c.shard = a.contains(cache::kAttrShard) ? a[cache::kAttrShard].dump() : "";
    return c;
}

// The merged cache's configuration: the whole dataset, no shard record.
CacheConfig merged_config(const Shard& first) {
    CacheConfig c = config_of(first.info);
    c.dataset_fingerprint = first.record.dataset_fingerprint;
    c.dataset_size = first.record.dataset_size;
    c.shard.clear();
    return c;
}

std::string relative_to_output(const std::string& shard, const std::string& output) {
    const fs::path dir = fs::absolute(output).parent_path();
    return fs::relative(fs::absolute(shard), dir).generic_string();
}

void copy_merge(const std::string& tmp, const std::vector<Shard>& shards) {
    CacheFile out(tmp, merged_config(shards[0]));
    for (const Shard& s : shards) {
        const CacheConfig c = config_of(s.info);
        copy_rows(s.path, c, check_cache_file(s.path, c, "extract that shard again"), out);
    }
    out.seal();
}

}  // namespace

namespace {

std::vector<h5::VirtualSource> sources(const std::vector<Shard>& shards, const std::string& output,
                                       const std::string& dataset, bool views) {
    std::vector<h5::VirtualSource> out;
    for (const Shard& s : shards)
        out.push_back({relative_to_output(s.path, output), dataset,
                       static_cast<hsize_t>(views ? s.info.view_rows : s.info.rows)});
    return out;
}

void map_samples(H5::H5File& file, const std::vector<Shard>& shards, const std::string& output) {
    H5::Group samples = file.createGroup(cache::kSamplesGroup);
    const std::pair<const char*, const H5::DataType*> columns[] = {
        {cache::kSamplesPath, &h5::vlen_string()},        {cache::kSamplesLabel, &H5::PredType::STD_I32LE},
        {cache::kSamplesSplit, &H5::PredType::STD_U8LE},  {cache::kSamplesSize, &H5::PredType::STD_U64LE},
        {cache::kSamplesMtime, &H5::PredType::STD_I64LE}, {cache::kSamplesSha256, &h5::vlen_string()}};
    for (const auto& c : columns)
        h5::create_virtual(samples, cache::leaf(c.first), *c.second, {}, sources(shards, output, c.first, false));
}

void map_taps(H5::H5File& file, const char* group, const std::vector<Shard>& shards, const std::string& output,
              bool views) {
    H5::Group taps = file.createGroup(group);
    const bool half = shards[0].info.taps.empty() ? false : shards[0].info.taps[0].dtype == Dtype::f16;
    const H5::DataType& stored = half ? static_cast<const H5::DataType&>(h5::float16())
                                      : static_cast<const H5::DataType&>(H5::PredType::IEEE_F32LE);
    for (const CacheTapInfo& t : shards[0].info.taps) {
        const std::vector<hsize_t> sample(t.dims.begin() + 1, t.dims.end());
        H5::DataSet ds = h5::create_virtual(taps, t.name, stored, sample,
                                            sources(shards, output, cache::tap_path(group, t.name), views));
        h5::set_string(ds, cache::kAttrTapLayer, t.layer);
        h5::set_string(ds, cache::kAttrTapShape, nlohmann::json(std::vector<hsize_t>(sample)).dump());
    }
}

// /views/sample names rows of its own shard: shifted by the rows of the shards before it, so it is
// stored, not mapped. /views/view is mapped.
void write_view_rows(H5::H5File& file, const std::vector<Shard>& shards, const std::string& output) {
    H5::Group views = file.createGroup(cache::kViewsGroup);
    std::vector<std::int64_t> rows;
    std::int64_t offset = 0;
    for (const Shard& s : shards) {
        std::vector<std::int64_t> local(static_cast<size_t>(s.info.view_rows));
        if (!local.empty()) {
            const H5::H5File shard(s.path, H5F_ACC_RDONLY);
            const H5::DataSet ds = shard.openDataSet(cache::kViewsSample);
            H5::DataSpace space = ds.getSpace();
            const hsize_t start = 0, count = local.size();
            space.selectHyperslab(H5S_SELECT_SET, &count, &start);
            ds.read(local.data(), H5::PredType::NATIVE_INT64, H5::DataSpace(1, &count), space);
        }
        for (std::int64_t r : local) rows.push_back(r + offset);
        offset += s.info.rows;
    }
    H5::DataSet sample = h5::create_growing_1d(views, cache::leaf(cache::kViewsSample), H5::PredType::STD_I64LE, 4096);
    h5::write_rows(sample, 0, rows.size(), H5::PredType::NATIVE_INT64, rows.data());
    h5::create_virtual(views, cache::leaf(cache::kViewsIndex), H5::PredType::STD_U8LE, {},
                       sources(shards, output, cache::kViewsIndex, true));
}

void write_skipped_and_progress(H5::H5File& file, const std::vector<Shard>& shards,
                                const std::vector<std::string>& names) {
    std::vector<std::string> paths, reasons;
    std::int64_t rows = 0, consumed = 0, views = 0;
    for (const Shard& s : shards) {
        paths.insert(paths.end(), s.info.skipped_paths.begin(), s.info.skipped_paths.end());
        reasons.insert(reasons.end(), s.info.skipped_reasons.begin(), s.info.skipped_reasons.end());
        rows += s.info.rows, consumed += s.info.consumed, views += s.info.view_rows;
    }
    H5::Group skipped = file.createGroup(cache::kSkippedGroup);
    H5::DataSet p = h5::create_growing_1d(skipped, cache::leaf(cache::kSkippedPath), h5::vlen_string(), 256),
                r = h5::create_growing_1d(skipped, cache::leaf(cache::kSkippedReason), h5::vlen_string(), 256);
    h5::write_strings(p, 0, paths);
    h5::write_strings(r, 0, reasons);
    H5::Group progress = file.createGroup(cache::kProgress);
    h5::set_int(progress, cache::kAttrDone, rows);
    h5::set_int(progress, cache::kAttrNextInput, consumed);
    h5::set_int(progress, cache::kAttrSkipped, static_cast<std::int64_t>(paths.size()));
    h5::set_int(progress, cache::kAttrViewRows, views);
    h5::set_string(file, cache::kAttrShards, nlohmann::json(names).dump());
    h5::set_int(file, cache::kAttrComplete, 1);
}

void virtual_merge(const std::string& tmp, const std::string& output, const std::vector<Shard>& shards) {
    h5::Lock lock;
    std::vector<std::string> names;
    for (const Shard& s : shards) names.push_back(relative_to_output(s.path, output));
    {
        H5::H5File file(tmp, H5F_ACC_TRUNC);
        write_cache_header(file, merged_config(shards[0]));
        map_samples(file, shards, output);
        map_taps(file, cache::kTapsGroup, shards, output, false);
        write_view_rows(file, shards, output);
        map_taps(file, cache::kViewTapsGroup, shards, output, true);
        write_skipped_and_progress(file, shards, names);
        file.flush(H5F_SCOPE_GLOBAL);
    }
    sync_path(tmp);
}

}  // namespace

MergeSummary merge_shards(const MergeOptions& o) {
    h5::quiet_errors();
    const std::vector<Shard> shards = check_shards(o.shards);
    if (fs::exists(o.output) && !o.force)
        throw Error(o.output + " exists; pass {force} to replace it, or merge into another path");
    const std::string tmp = o.output + ".tmp";
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
    commit_file(tmp, o.output);
    MergeSummary s;
    s.shards = static_cast<int>(shards.size());
    for (const Shard& sh : shards)
        s.rows += sh.info.rows, s.skipped += static_cast<std::int64_t>(sh.info.skipped_paths.size()),
            s.view_rows += sh.info.view_rows;
    s.bytes = static_cast<std::uint64_t>(fs::file_size(o.output));
    return s;
}

}  // namespace cvtl
