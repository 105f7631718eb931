#include "pipeline/cache/cache_info.hpp"

#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/h5_handle.hpp"
#include "pipeline/cache/h5_helpers.hpp"
#include "pipeline/cache/h5_virtual.hpp"
#include "pipeline/cache/open_files.hpp"
#include "pipeline/data/preprocess.hpp"
#include "pipeline/core/error.hpp"

#include <boost/filesystem.hpp>

#include <algorithm>
#include <tuple>

namespace cvtl {
namespace {

// Attributes written by other tools are kept for display only when they are one string or one
// integer; reading anything else into one value would let the file size the write.
nlohmann::json attribute_value(H5::Attribute& attr) {
    if (attr.getSpace().getSimpleExtentNpoints() != 1) return nullptr;
    if (attr.getTypeClass() == H5T_STRING) {
        std::string s;
        attr.read(attr.getStrType(), s);
        if (!s.empty() && (s[0] == '{' || s[0] == '[')) return nlohmann::json::parse(s, nullptr, false);
        return s;
    }
    if (attr.getTypeClass() != H5T_INTEGER) return nullptr;
    std::int64_t v = 0;
    attr.read(H5::PredType::NATIVE_INT64, &v);
    return v;
}

const std::string kDamaged = "; the file is damaged: extract it again ({force})";

// The progress counters are numbers from the file: they must agree with each other, with what the
// file stores and with the file's size (each row takes at least one byte of it) before anything
// sizes a buffer or a read by them.
void check_counts(const CacheInfo& info, std::int64_t skipped, hsize_t stored_rows, hsize_t file_bytes) {
    // Written so that no sum can overflow: every value may be anything an int64 holds.
    if (info.rows < 0 || skipped < 0 || info.consumed < info.rows || info.consumed - info.rows < skipped ||
        info.dataset_size < info.consumed || static_cast<hsize_t>(info.consumed) > file_bytes)
        throw Error("cache " + info.path + " has inconsistent progress counters (rows " + std::to_string(info.rows) +
                    ", skipped " + std::to_string(skipped) + ", consumed " + std::to_string(info.consumed) +
                    ", dataset " + std::to_string(info.dataset_size) + ")" + kDamaged);
    if (static_cast<hsize_t>(info.rows) > stored_rows)
        throw Error("cache " + info.path + " claims " + std::to_string(info.rows) + " rows but stores " +
                    std::to_string(stored_rows) + " labels" + kDamaged);
    if (info.complete && info.consumed != info.dataset_size)
        throw Error("cache " + info.path + " is marked complete after " + std::to_string(info.consumed) + " of " +
                    std::to_string(info.dataset_size) + " images" + kDamaged);
}

// A tap's shape sizes every buffer that holds its rows: [rows, D] or [rows, C, H, W], each sample
// dimension positive and one sample small enough for OpenCV's int-indexed matrices.
void check_tap(const CacheInfo& info, const CacheTapInfo& t) {
    const std::string where = "cache " + info.path + ": tap " + t.name;
    if (t.dims.size() < 2 || t.dims.size() > 4 || t.chunk.size() != t.dims.size() || t.chunk[0] == 0)
        throw Error(where + " has an unexpected layout (rank " + std::to_string(t.dims.size()) + ")" + kDamaged);
    std::uint64_t values = 1;
    for (size_t i = 1; i < t.dims.size(); ++i) {
        if (t.dims[i] == 0 || t.dims[i] > (1u << 30) || (values *= t.dims[i]) > (1u << 28))
            throw Error(where + " has an impossible sample shape" + kDamaged);
    }
    if (t.dims[0] < static_cast<std::uint64_t>(info.rows))
        throw Error(where + " stores fewer rows than the " + std::to_string(info.rows) + " committed" + kDamaged);
}

void read_counts(H5::H5File& file, CacheInfo& info) {
    if (info.rows == 0) return;
    const auto n = static_cast<hsize_t>(info.rows);
    std::vector<std::int32_t> labels(n);
    std::vector<std::uint8_t> splits(n);
    const hsize_t start = 0;
    for (auto [name, type, out] :
         {std::tuple{cache::kSamplesLabel, H5::PredType::NATIVE_INT32, static_cast<void*>(labels.data())},
          std::tuple{cache::kSamplesSplit, H5::PredType::NATIVE_UINT8, static_cast<void*>(splits.data())}}) {
        H5::DataSet ds = file.openDataSet(name);
        if (h5::rows(ds) < n)
            throw Error("cache " + info.path + ": " + name + " stores fewer rows than the " + std::to_string(n) +
                        " committed" + kDamaged);
        H5::DataSpace space = ds.getSpace();
        space.selectHyperslab(H5S_SELECT_SET, &n, &start);
        ds.read(out, type, H5::DataSpace(1, &n), space);
    }
    for (size_t i = 0; i < n; ++i)
        if (labels[i] >= 0 && static_cast<size_t>(labels[i]) < info.classes.size() && splits[i] < 3)
            ++info.counts[static_cast<size_t>(labels[i])][splits[i]];
}

CacheTapInfo read_tap(H5::Group& taps, const nlohmann::json& tap, const std::string& path) {
    CacheTapInfo t;
    t.name = tap.at("name").get<std::string>();
    t.layer = tap.at("layer").get<std::string>();
    H5::DataSet ds = taps.openDataSet(t.name);
    const H5::DataType type = ds.getDataType();
    if (type.getClass() != H5T_FLOAT || (type.getSize() != 2 && type.getSize() != 4))
        throw Error("cache " + path + ": tap " + t.name + " does not store float16 or float32 values" + kDamaged);
    t.dtype = type.getSize() == 2 ? Dtype::f16 : Dtype::f32;
    H5::DataSpace space = ds.getSpace();
    std::vector<hsize_t> dims(static_cast<size_t>(std::max(0, space.getSimpleExtentNdims())));
    space.getSimpleExtentDims(dims.data());
    std::vector<hsize_t> chunk(dims.size());
    const H5::DSetCreatPropList props = ds.getCreatePlist();
    if (props.getLayout() == H5D_VIRTUAL) {
        // A merged sharded cache: rows live in the shards; readers group rows as a shard's chunks would.
        chunk = dims;
        chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(dims.empty() ? 1 : dims[0], 256));
    } else if (props.getLayout() != H5D_CHUNKED ||
               props.getChunk(static_cast<int>(chunk.size()), chunk.data()) != static_cast<int>(chunk.size())) {
        throw Error("cache " + path + ": tap " + t.name + " is not stored in chunks of its own rank" + kDamaged);
    }
    t.dims.assign(dims.begin(), dims.end());
    t.chunk.assign(chunk.begin(), chunk.end());
    t.stored_bytes = props.getLayout() == H5D_VIRTUAL ? h5::virtual_stored_bytes(ds, path) : ds.getStorageSize();
    return t;
}

// The attributes that train, sweep and export use as values must have the types they expect, and
// the preprocessing record must be valid, before any of them is trusted.
void check_attributes(const CacheInfo& info) {
    for (const char* name : {cache::kAttrModelFile, cache::kAttrModelWeights, cache::kAttrModelSha256,
                             cache::kAttrDatasetFingerprint, cache::kAttrDtype})
        if (info.attributes.contains(name) && !info.attributes[name].is_string())
            throw Error("cache " + info.path + ": attribute " + name + " is not a string" + kDamaged);
    if (!info.attributes.contains(cache::kAttrPreprocess))
        throw Error("cache " + info.path + " has no preprocessing record" + kDamaged);
    Preprocessing::from_json(info.attributes[cache::kAttrPreprocess], "cache " + info.path);
}

// Version 2: how many views each training row has, and the view rows' count, checked against what
// the file stores (a version 1 cache has view 0 only).
void read_views(H5::H5File& file, CacheInfo& info, H5::Group& progress) {
    const nlohmann::json& views = info.attributes[cache::kAttrViews];
    if (!views.is_object() || !views.contains("count") || !views["count"].is_number_integer() ||
        views["count"].get<std::int64_t>() < 1 || views["count"].get<std::int64_t>() > 255 ||
        !views.value("augment", nlohmann::json()).is_string())
        throw Error("cache " + info.path + " records its views in an unreadable form" + kDamaged);
    info.views = views["count"].get<int>();
    info.augment = views["augment"].get<std::string>();
    info.view_rows = h5::get_int(progress, cache::kAttrViewRows);
    const auto stored = static_cast<std::int64_t>(std::min<hsize_t>(h5::rows(file.openDataSet(cache::kViewsSample)),
                                                                    h5::rows(file.openDataSet(cache::kViewsIndex))));
    // rows is bounded by the file's size (check_counts), so rows x 254 cannot overflow.
    if (info.view_rows < 0 || info.view_rows > info.rows * (info.views - 1) || info.view_rows > stored)
        throw Error("cache " + info.path + " claims " + std::to_string(info.view_rows) + " view rows for " +
                    std::to_string(info.rows) + " rows and stores " + std::to_string(stored) + kDamaged);
    H5::Group taps = file.openGroup(cache::kViewTapsGroup);
    for (const CacheTapInfo& t : info.taps) {
        CacheTapInfo v = read_tap(taps, {{"name", t.name}, {"layer", t.layer}}, info.path);
        if (v.dims.size() != t.dims.size() || !std::equal(v.dims.begin() + 1, v.dims.end(), t.dims.begin() + 1) ||
            v.dtype != t.dtype || v.dims[0] < static_cast<std::uint64_t>(info.view_rows))
            throw Error("cache " + info.path + ": the views of tap " + t.name +
                        " differ in shape or type from its rows" + kDamaged);
        info.view_bytes += v.stored_bytes;
    }
}

// A cache of mapped rows (cache_map.hpp) takes few bytes of its own file: the bound on its counters
// is what its row files hold (those that exist; a missing one reads as zeros and is reported).
hsize_t listed_bytes(CacheInfo& info, const char* attr, std::vector<std::string>& names) {
    const nlohmann::json& listed = info.attributes.value(attr, nlohmann::json());
    if (!listed.is_array()) return 0;
    const boost::filesystem::path dir = boost::filesystem::absolute(info.path).parent_path();
    hsize_t bytes = 0;
    for (const auto& name : listed) {
        if (!name.is_string())
            throw Error("cache " + info.path + " lists its " + attr + " in an unreadable form" + kDamaged);
        names.push_back(name.get<std::string>());
        boost::system::error_code ec;
        const auto size = boost::filesystem::file_size(dir / names.back(), ec);
        if (!ec)
            bytes += size;
        else
            info.missing_files.push_back(names.back());
    }
    return bytes;
}

hsize_t row_file_bytes(CacheInfo& info) {
    return listed_bytes(info, cache::kAttrShards, info.shards) +
           listed_bytes(info, cache::kAttrSegments, info.segments);
}

void read_contents(H5::H5File& file, CacheInfo& info) {
    info.version = h5::get_int(file, cache::kAttrVersion);
    if (info.version < cache::kOldestReadable || info.version > cache::kVersion)
        throw Error("cache " + info.path + " has format version " + std::to_string(info.version) +
                    "; this cvtl reads versions " + std::to_string(cache::kOldestReadable) + " to " +
                    std::to_string(cache::kVersion) + " (a newer cvtl wrote it?)");
    for (int i = 0; i < file.getNumAttrs(); ++i) {
        H5::Attribute attr = file.openAttribute(static_cast<unsigned>(i));
        info.attributes[attr.getName()] = attribute_value(attr);
    }
    check_attributes(info);
    info.complete = h5::get_int(file, cache::kAttrComplete) == 1;
    info.dataset_size = h5::get_int(file, cache::kAttrDatasetSize);
    H5::Group progress = file.openGroup(cache::kProgress);
    info.rows = h5::get_int(progress, cache::kAttrDone);
    info.consumed = h5::get_int(progress, cache::kAttrNextInput);
    const auto skipped = h5::get_int(progress, cache::kAttrSkipped);
    const hsize_t file_bytes = file.getFileSize() + row_file_bytes(info);
    info.disk_bytes = file_bytes;
    check_counts(info, skipped, h5::rows(file.openDataSet(cache::kSamplesLabel)), file_bytes);

    info.classes = h5::read_strings(file.openDataSet(cache::kClasses), file_bytes);
    info.counts.assign(info.classes.size(), {0, 0, 0});
    read_counts(file, info);
    info.skipped_paths = h5::read_strings(file.openDataSet(cache::kSkippedPath), static_cast<hsize_t>(skipped));
    info.skipped_reasons = h5::read_strings(file.openDataSet(cache::kSkippedReason), info.skipped_paths.size());
    info.skipped_reasons.resize(info.skipped_paths.size());

    H5::Group taps = file.openGroup(cache::kTapsGroup);
    const nlohmann::json& listed = info.attributes[cache::kAttrTaps];
    if (!listed.is_array()) throw Error("cache " + info.path + " lists its taps in an unreadable form" + kDamaged);
    for (const auto& tap : listed) {
        info.taps.push_back(read_tap(taps, tap, info.path));
        check_tap(info, info.taps.back());
    }
    if (info.version >= 2) read_views(file, info, progress);
}

}  // namespace

void require_row_files(const CacheInfo& info) {
    const std::uint64_t files = info.shards.size() + info.segments.size();
    const std::uint64_t limit = open_files_limit();
    if (files > 0 && files + kOpenFilesReserve > limit)
        throw Error("cache " + info.path + " reads its rows from " + std::to_string(files) +
                    " files, and this process may open only " + std::to_string(limit) +
                    " (past that HDF5 reads rows as zeros); raise the limit (ulimit -n " +
                    std::to_string(files + kOpenFilesReserve) +
                    "), or extract or merge it again as one file ({single-file}, {copy})");
    if (info.missing_files.empty()) return;
    const std::string missing = std::to_string(info.missing_files.size()) +
                                " of them are missing (first: " + info.missing_files[0] + ", relative to the cache)";
    if (!info.shards.empty())
        throw Error("cache " + info.path + " is merged from shards and " + missing +
                    "; put them back beside it, or merge again with {copy} for a self-contained file");
    throw Error("cache " + info.path + " keeps its rows in " + std::to_string(info.segments.size()) +
                " segment files and " + missing +
                "; a cache travels with its rows directory: put it back beside the cache, or extract again with "
                "{force}");
}

CacheInfo read_cache_info(const std::string& path) {
    h5::quiet_errors();
    if (!boost::filesystem::exists(path)) {
        if (boost::filesystem::exists(cache::parts_dir(path)))
            throw Error("cache " + path + " is unfinished: its extraction has committed rows in " +
                        cache::parts_dir(path) +
                        " but has not completed; run the same extraction again to complete it");
        throw Error("cache " + path + " does not exist");
    }
    try {
        if (!h5::is_hdf5(path)) throw Error(path + " is not an HDF5 file (is it a cvtl cache?)");
    } catch (const H5::Exception& e) {
        throw Error("cache " + path + " cannot be read: " + e.getDetailMsg() + " (truncated or damaged?)");
    }
    return read_cache_info(path, H5::FileAccPropList::DEFAULT);
}

CacheInfo read_cache_info(const std::string& path, const H5::FileAccPropList& access) {
    h5::quiet_errors();
    CacheInfo info;
    info.path = path;
    try {
        const h5::File handle(path, H5F_ACC_RDONLY, access);
        const auto h5 = handle.access();
        H5::H5File& file = *h5;
        if (!h5::has_attr(file, cache::kAttrFormat) || h5::get_string(file, cache::kAttrFormat) != cache::kFormat)
            throw Error(path + " is an HDF5 file but not a cvtl cache (no format=\"cvtl-cache\" attribute)");
        read_contents(file, info);
    } catch (const H5::Exception& e) {
        throw Error("cache " + path + " cannot be read: " + e.getDetailMsg() + " (truncated or damaged?)");
    } catch (const nlohmann::json::exception& e) {
        throw Error("cache " + path + " has malformed metadata: " + e.what());
    }
    return info;
}

}  // namespace cvtl
