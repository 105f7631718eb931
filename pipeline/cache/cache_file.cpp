#include "pipeline/cache/cache_file.hpp"
#include "pipeline/core/shape.hpp"

#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/cache_info.hpp"
#include "pipeline/cache/h5_helpers.hpp"
#include "pipeline/core/error.hpp"

#include <cvtl/version.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>

namespace cvtl {
namespace {

std::string views_json(const CacheConfig& config) {
    return nlohmann::json{{"count", config.views}, {"augment", config.augment}, {"seed", config.seed}}.dump();
}

std::string split_json(const CacheConfig& config) {
    // "hash": each sample's split is a function of its path and the seed alone (dataset.hpp).
    nlohmann::json j{{"val_fraction", config.val_fraction}, {"seed", config.seed}, {"rule", "hash"}};
    // Only when asked for: a cache without a test share keeps the attribute it always had.
    if (config.test_fraction > 0) j["test_fraction"] = config.test_fraction;
    return j.dump();
}

nlohmann::json taps_json(const std::vector<TapLayout>& taps) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& t : taps) j.push_back({{"name", t.name}, {"layer", t.layer}, {"shape", t.shape}});
    return j;
}

std::string now_utc() {
    std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

// Whole samples per chunk, aiming at ~256 KiB (inside the 64 KiB - 1 MiB band when a sample allows),
// never more samples than the dataset has, so small caches stay small.
hsize_t samples_per_chunk(size_t sample_bytes, std::int64_t dataset_size) {
    const size_t target = 256 * 1024;
    size_t k = std::min<size_t>(4096, target / std::max<size_t>(1, sample_bytes));
    k = std::min<size_t>(k, static_cast<size_t>(std::max<std::int64_t>(1, dataset_size)));
    return static_cast<hsize_t>(std::max<size_t>(1, k));
}

size_t sample_values(const TapLayout& tap) { return shape_count(tap.shape); }

void write_root_attributes(H5::H5File& file, const CacheConfig& config) {
    h5::set_string(file, cache::kAttrFormat, cache::kFormat);
    h5::set_int(file, cache::kAttrVersion, cache::kVersion);
    h5::set_string(file, cache::kAttrModelSha256, config.model_sha256);
    h5::set_string(file, cache::kAttrModelFile, config.model_file);
    // Only a Caffe model has a second file; an ONNX cache keeps the attributes it always had.
    if (!config.model_weights.empty()) h5::set_string(file, cache::kAttrModelWeights, config.model_weights);
    h5::set_string(file, cache::kAttrPreprocess, config.preprocess.to_json().dump());
    h5::set_string(file, cache::kAttrTaps, taps_json(config.taps).dump());
    h5::set_string(file, cache::kAttrDtype, to_string(config.dtype));
    h5::set_string(file, cache::kAttrPrecision, config.precision);
    h5::set_string(file, cache::kAttrCompression,
                   config.compress ? cache::kCompressionDeflate : cache::kCompressionNone);
    h5::set_string(file, cache::kAttrDataset, config.dataset);
    h5::set_string(file, cache::kAttrDatasetFingerprint, config.dataset_fingerprint);
    h5::set_int(file, cache::kAttrDatasetSize, config.dataset_size);
    h5::set_string(file, cache::kAttrSplit, split_json(config));
    h5::set_string(file, cache::kAttrViews, views_json(config));
    if (!config.shard.empty()) h5::set_string(file, cache::kAttrShard, config.shard);
    h5::set_string(file, cache::kAttrOpenCvVersion, CV_VERSION);
    h5::set_string(file, cache::kAttrCvtlVersion, kVersion);
    h5::set_string(file, cache::kAttrCreated, now_utc());
    h5::set_int(file, cache::kAttrComplete, 0);
}

void write_classes(H5::H5File& file, const std::vector<std::string>& classes) {
    hsize_t n = classes.size();
    H5::DataSet ds = file.createDataSet(cache::kClasses, h5::vlen_string(), H5::DataSpace(1, &n));
    std::vector<const char*> names;
    for (const auto& c : classes) names.push_back(c.c_str());
    if (n) ds.write(names.data(), h5::vlen_string());
}

H5::DataSet create_tap(H5::Group& taps, const TapLayout& tap, const CacheConfig& config, bool half,
                       std::int64_t max_rows) {
    const int rank = static_cast<int>(tap.shape.size()) + 1;
    std::vector<hsize_t> dims(static_cast<size_t>(rank), 0), maxdims(static_cast<size_t>(rank)),
        chunk(static_cast<size_t>(rank));
    for (size_t i = 0; i < tap.shape.size(); ++i)
        dims[i + 1] = maxdims[i + 1] = chunk[i + 1] = static_cast<hsize_t>(tap.shape[i]);
    maxdims[0] = H5S_UNLIMITED;
    chunk[0] = samples_per_chunk(sample_values(tap) * (half ? 2 : 4), max_rows);
    H5::DSetCreatPropList props;
    props.setChunk(rank, chunk.data());
    if (config.compress) {
        props.setShuffle();
        props.setDeflate(4);
    }
    const H5::DataType& stored = half ? static_cast<const H5::DataType&>(h5::float16())
                                      : static_cast<const H5::DataType&>(H5::PredType::IEEE_F32LE);
    H5::DataSet ds = taps.createDataSet(tap.name, stored, H5::DataSpace(rank, dims.data(), maxdims.data()), props);
    h5::set_string(ds, cache::kAttrTapLayer, tap.layer);
    h5::set_string(ds, cache::kAttrTapShape, nlohmann::json(tap.shape).dump());
    return ds;
}

}  // namespace

void write_cache_header(H5::H5File& file, const CacheConfig& config) {
    write_root_attributes(file, config);
    write_classes(file, config.classes);
}

CacheFile::CacheFile(const std::string& path, const CacheConfig& config)
    : path_(path), half_(config.dtype == Dtype::f16) {
    h5::quiet_errors();
    h5_.open([&] { return Open{H5::H5File(path, H5F_ACC_TRUNC), {}, {}}; });
    create_layout(config);
}

void CacheFile::create_layout(const CacheConfig& config) {
    const auto h5 = h5_.access();
    H5::H5File& file = h5->file;
    write_root_attributes(file, config);
    H5::Group samples = file.createGroup(cache::kSamplesGroup);
    h5::create_growing_1d(samples, cache::leaf(cache::kSamplesPath), h5::vlen_string(), 1024);
    h5::create_growing_1d(samples, cache::leaf(cache::kSamplesLabel), H5::PredType::STD_I32LE, 4096);
    h5::create_growing_1d(samples, cache::leaf(cache::kSamplesSplit), H5::PredType::STD_U8LE, 4096);
    h5::create_growing_1d(samples, cache::leaf(cache::kSamplesSize), H5::PredType::STD_U64LE, 4096);
    h5::create_growing_1d(samples, cache::leaf(cache::kSamplesMtime), H5::PredType::STD_I64LE, 4096);
    h5::create_growing_1d(samples, cache::leaf(cache::kSamplesSha256), h5::vlen_string(), 1024);
    H5::Group skipped = file.createGroup(cache::kSkippedGroup);
    h5::create_growing_1d(skipped, cache::leaf(cache::kSkippedPath), h5::vlen_string(), 256);
    h5::create_growing_1d(skipped, cache::leaf(cache::kSkippedReason), h5::vlen_string(), 256);
    write_classes(file, config.classes);
    H5::Group taps = file.createGroup(cache::kTapsGroup);
    for (const TapLayout& tap : config.taps)
        h5->taps.push_back(create_tap(taps, tap, config, half_, config.dataset_size));
    H5::Group views = file.createGroup(cache::kViewsGroup);
    h5::create_growing_1d(views, cache::leaf(cache::kViewsSample), H5::PredType::STD_I64LE, 4096);
    h5::create_growing_1d(views, cache::leaf(cache::kViewsIndex), H5::PredType::STD_U8LE, 4096);
    H5::Group view_taps = file.createGroup(cache::kViewTapsGroup);
    const std::int64_t view_rows = config.dataset_size * std::max(0, config.views - 1);
    for (const TapLayout& tap : config.taps)
        h5->view_taps.push_back(create_tap(view_taps, tap, config, half_, std::max<std::int64_t>(1, view_rows)));
    file.createGroup(cache::kProgress);
    commit_progress();
}

void CacheFile::commit_progress() {
    const auto h5 = h5_.access();
    H5::H5File& file = h5->file;
    H5::Group progress = file.openGroup(cache::kProgress);
    h5::set_int(progress, cache::kAttrDone, progress_.rows);
    h5::set_int(progress, cache::kAttrNextInput, progress_.inputs);
    h5::set_int(progress, cache::kAttrSkipped, progress_.skipped);
    h5::set_int(progress, cache::kAttrViewRows, progress_.views);
    file.flush(H5F_SCOPE_GLOBAL);
}

void CacheFile::write_taps(std::vector<H5::DataSet>& datasets, const std::vector<cv::Mat>& taps, hsize_t at,
                           hsize_t n) {
    for (size_t t = 0; t < datasets.size(); ++t) {
        const cv::Mat& values = taps[t];
        CVTL_ASSERT(values.isContinuous() && values.type() == CV_32F && static_cast<hsize_t>(values.size[0]) == n);
        if (half_) {
            cv::Mat halves;
            values.convertTo(halves, CV_16F);
            h5::write_rows(datasets[t], at, n, h5::float16(), halves.data);
        } else {
            h5::write_rows(datasets[t], at, n, H5::PredType::NATIVE_FLOAT, values.data);
        }
        tap_bytes_ += values.total() * (half_ ? 2 : 4);
    }
}

// Stamps of every row (a caller without files, such as a test's synthetic cache, passes none: they
// are stored empty and such rows always count as changed on update).
void CacheFile::write_stamps(H5::H5File& file, const CacheRows& rows, hsize_t at) {
    const size_t n = rows.paths.size();
    CVTL_ASSERT(rows.stamps.empty() || rows.stamps.size() == n);
    std::vector<std::uint64_t> sizes(n, 0);
    std::vector<std::int64_t> mtimes(n, 0);
    std::vector<std::string> hashes(n);
    for (size_t i = 0; i < rows.stamps.size(); ++i)
        sizes[i] = rows.stamps[i].size, mtimes[i] = rows.stamps[i].mtime_ns, hashes[i] = rows.stamps[i].sha256;
    H5::DataSet size = file.openDataSet(cache::kSamplesSize), mtime = file.openDataSet(cache::kSamplesMtime),
                sha = file.openDataSet(cache::kSamplesSha256);
    h5::write_rows(size, at, n, H5::PredType::NATIVE_UINT64, sizes.data());
    h5::write_rows(mtime, at, n, H5::PredType::NATIVE_INT64, mtimes.data());
    h5::write_strings(sha, at, hashes);
}

// View rows name their row by its index in this file: the batch's local indices are shifted.
void CacheFile::write_views(Open& h5, const CacheRows& rows) {
    const auto m = static_cast<hsize_t>(rows.view_of.size());
    CVTL_ASSERT(rows.view_index.size() == m && (m == 0 || rows.view_taps.size() == h5.view_taps.size()));
    if (m == 0) return;
    std::vector<std::int64_t> sample(m);
    for (size_t j = 0; j < m; ++j) {
        CVTL_ASSERT(rows.view_of[j] >= 0 && rows.view_of[j] < static_cast<std::int64_t>(rows.paths.size()));
        sample[j] = progress_.rows + rows.view_of[j];
    }
    const auto at = static_cast<hsize_t>(progress_.views);
    write_taps(h5.view_taps, rows.view_taps, at, m);
    H5::DataSet samples = h5.file.openDataSet(cache::kViewsSample), index = h5.file.openDataSet(cache::kViewsIndex);
    h5::write_rows(samples, at, m, H5::PredType::NATIVE_INT64, sample.data());
    h5::write_rows(index, at, m, H5::PredType::NATIVE_UINT8, rows.view_index.data());
    progress_.views += static_cast<std::int64_t>(m);
}

void CacheFile::append(const CacheRows& rows) {
    const auto n = static_cast<hsize_t>(rows.paths.size());
    const auto at = static_cast<hsize_t>(progress_.rows);
    const auto h5 = h5_.access();
    H5::H5File& file = h5->file;
    write_taps(h5->taps, rows.taps, at, n);
    write_stamps(file, rows, at);
    write_views(*h5, rows);
    H5::DataSet paths = file.openDataSet(cache::kSamplesPath), labels = file.openDataSet(cache::kSamplesLabel),
                splits = file.openDataSet(cache::kSamplesSplit);
    h5::write_strings(paths, at, rows.paths);
    h5::write_rows(labels, at, n, H5::PredType::NATIVE_INT32, rows.labels.data());
    h5::write_rows(splits, at, n, H5::PredType::NATIVE_UINT8, rows.splits.data());
    H5::DataSet skipped_paths = file.openDataSet(cache::kSkippedPath),
                skipped_reasons = file.openDataSet(cache::kSkippedReason);
    h5::write_strings(skipped_paths, static_cast<hsize_t>(progress_.skipped), rows.skipped_paths);
    h5::write_strings(skipped_reasons, static_cast<hsize_t>(progress_.skipped), rows.skipped_reasons);
    progress_.rows += static_cast<std::int64_t>(n);
    progress_.skipped += static_cast<std::int64_t>(rows.skipped_paths.size());
    progress_.inputs += rows.inputs;
    commit_progress();
}

void CacheFile::seal() {
    {
        const auto h5 = h5_.access();
        h5::set_int(h5->file, cache::kAttrComplete, 1);
        h5->file.flush(H5F_SCOPE_GLOBAL);
    }
    h5_.close();
    progress_.complete = true;
    sync_path(path_);
}

std::uint64_t CacheFile::size() const { return static_cast<std::uint64_t>(h5_.access()->file.getFileSize()); }

CacheProgress check_cache_file(const std::string& path, const CacheConfig& config, const std::string& fix) {
    if (!h5::is_hdf5(path)) throw Error(path + " exists and is not an HDF5 cache; " + fix);
    h5::File handle;
    try {
        handle.open([&] { return H5::H5File(path, H5F_ACC_RDONLY); });
    } catch (const H5::Exception&) {
        throw Error("cache " + path + " cannot be opened (damaged or in use by another process); " + fix);
    }
    const auto h5 = handle.access();
    const H5::H5File& file = *h5;
    if (!h5::has_attr(file, cache::kAttrFormat) || h5::get_string(file, cache::kAttrFormat) != cache::kFormat)
        throw Error(path + " exists and is not a cvtl cache; " + fix);
    const auto version = h5::get_int(file, cache::kAttrVersion);
    if (version != cache::kVersion)
        throw Error("cache " + path + " has format version " + std::to_string(version) + ", this cvtl writes version " +
                    std::to_string(cache::kVersion) + "; " + fix);
    const auto differs = [&](const char* attr, const std::string& expected, const std::string& what) {
        const std::string found = h5::get_string(file, attr);
        if (found != expected)
            throw Error("cache " + path + " was made with another " + what + " (cache: " + found.substr(0, 120) +
                        "; now: " + expected.substr(0, 120) + "); " + fix);
    };
    differs(cache::kAttrModelSha256, config.model_sha256,
            "model (sha256 of " + h5::get_string(file, cache::kAttrModelFile) + ")");
    differs(cache::kAttrPreprocess, config.preprocess.to_json().dump(), "preprocessing");
    differs(cache::kAttrTaps, taps_json(config.taps).dump(), "set of taps");
    differs(cache::kAttrDtype, to_string(config.dtype), "{dtype}");
    differs(cache::kAttrPrecision, config.precision, "{precision}");
    differs(cache::kAttrCompression, config.compress ? cache::kCompressionDeflate : cache::kCompressionNone,
            "compression setting");
    differs(cache::kAttrDatasetFingerprint, config.dataset_fingerprint,
            "dataset or split (files, labels or {val-fraction}/{seed} changed)");
    differs(cache::kAttrViews, views_json(config), "set of views ({views}, {augment} or {seed})");
    if (!config.shard.empty() || h5::has_attr(file, cache::kAttrShard))
        if (!h5::has_attr(file, cache::kAttrShard) || h5::get_string(file, cache::kAttrShard) != config.shard)
            throw Error(
                "cache " + path + " is " +
                (config.shard.empty() ? "a shard of a sharded extraction" : "not this shard of the extraction") + "; " +
                fix);

    H5::Group group = file.openGroup(cache::kProgress);
    CacheProgress p{h5::get_int(group, cache::kAttrDone), h5::get_int(group, cache::kAttrNextInput),
                    h5::get_int(group, cache::kAttrSkipped), h5::get_int(group, cache::kAttrViewRows),
                    h5::get_int(file, cache::kAttrComplete) == 1};
    // The counters size the copy that follows: they must agree with each other and with the file.
    const auto stored = [&](const char* name) { return static_cast<std::int64_t>(h5::rows(file.openDataSet(name))); };
    if (p.rows < 0 || p.skipped < 0 || p.inputs < p.rows || p.inputs - p.rows < p.skipped ||
        p.inputs > config.dataset_size || stored(cache::kSamplesPath) < p.rows ||
        stored(cache::kSamplesLabel) < p.rows || stored(cache::kSamplesSplit) < p.rows ||
        stored(cache::kSkippedPath) < p.skipped || stored(cache::kSkippedReason) < p.skipped || p.views < 0 ||
        p.views > p.rows * std::max(0, config.views - 1) || stored(cache::kViewsSample) < p.views ||
        stored(cache::kViewsIndex) < p.views || stored(cache::kSamplesSha256) < p.rows)
        throw Error("cache " + path + " has inconsistent progress counters; " + fix);
    return p;
}

namespace {

// Rows [begin, begin + n) of a dataset, read into `out` (of n rows of `shape`) as `type`.
void read_rows(const H5::DataSet& ds, const std::vector<int>& shape, hsize_t begin, hsize_t n, const H5::DataType& type,
               void* out) {
    std::vector<hsize_t> start(shape.size() + 1, 0), counts{n};
    counts.insert(counts.end(), shape.begin(), shape.end());
    start[0] = begin;
    H5::DataSpace space = ds.getSpace();
    space.selectHyperslab(H5S_SELECT_SET, counts.data(), start.data());
    ds.read(out, type, H5::DataSpace(static_cast<int>(counts.size()), counts.data()), space);
}

// Rows [begin, begin + n) of the taps in `group`, as float32 (float16 widened, exactly).
std::vector<cv::Mat> read_taps(const H5::H5File& file, const std::string& group, const CacheConfig& config,
                               hsize_t begin, hsize_t n) {
    std::vector<cv::Mat> taps;
    for (const TapLayout& tap : config.taps) {
        std::vector<int> full{static_cast<int>(n)};
        full.insert(full.end(), tap.shape.begin(), tap.shape.end());
        cv::Mat values(full, CV_32F);
        if (n > 0) {
            const H5::DataSet ds = file.openDataSet(cache::tap_path(group, tap.name));
            if (config.dtype == Dtype::f16) {
                cv::Mat halves(full, CV_16F);
                read_rows(ds, tap.shape, begin, n, h5::float16(), halves.data);
                halves.convertTo(values, CV_32F);
            } else {
                read_rows(ds, tap.shape, begin, n, H5::PredType::NATIVE_FLOAT, values.data);
            }
        }
        taps.push_back(values);
    }
    return taps;
}

// `hashes`: the file's /samples/sha256, read once by RowSource (re-reading its prefix per block
// would make a copy quadratic in the rows).
void read_stamps(const H5::H5File& file, hsize_t begin, hsize_t n, const std::vector<std::string>& hashes,
                 CacheRows& rows) {
    std::vector<std::uint64_t> sizes(n);
    std::vector<std::int64_t> mtimes(n);
    read_rows(file.openDataSet(cache::kSamplesSize), {}, begin, n, H5::PredType::NATIVE_UINT64, sizes.data());
    read_rows(file.openDataSet(cache::kSamplesMtime), {}, begin, n, H5::PredType::NATIVE_INT64, mtimes.data());
    for (hsize_t i = 0; i < n; ++i) rows.stamps.push_back({sizes[i], mtimes[i], hashes[begin + i]});
}

// The view rows of rows [begin, begin + n): contiguous, since views are stored in row order.
void read_views(const H5::H5File& file, const CacheConfig& config, const std::vector<std::int64_t>& view_rows,
                hsize_t begin, hsize_t n, CacheRows& rows) {
    const auto lo = std::lower_bound(view_rows.begin(), view_rows.end(), static_cast<std::int64_t>(begin));
    const auto hi = std::lower_bound(lo, view_rows.end(), static_cast<std::int64_t>(begin + n));
    const auto first = static_cast<hsize_t>(lo - view_rows.begin()), m = static_cast<hsize_t>(hi - lo);
    for (auto it = lo; it != hi; ++it) rows.view_of.push_back(*it - static_cast<std::int64_t>(begin));
    rows.view_index.resize(m);
    if (m > 0)
        read_rows(file.openDataSet(cache::kViewsIndex), {}, first, m, H5::PredType::NATIVE_UINT8,
                  rows.view_index.data());
    rows.view_taps = read_taps(file, cache::kViewTapsGroup, config, first, m);
}

// Rows [begin, begin + n) of a cache file as CacheRows, with their stamps and views.
CacheRows read_block(const H5::H5File& file, const CacheConfig& config, hsize_t begin, hsize_t n,
                     const std::vector<std::string>& paths, const std::vector<std::string>& hashes,
                     const std::vector<std::int64_t>& view_rows) {
    CacheRows rows;
    rows.paths.assign(paths.begin() + static_cast<std::ptrdiff_t>(begin),
                      paths.begin() + static_cast<std::ptrdiff_t>(begin + n));
    rows.labels.resize(n);
    rows.splits.resize(n);
    rows.inputs = static_cast<std::int64_t>(n);
    rows.taps = read_taps(file, cache::kTapsGroup, config, begin, n);  // n == 0: a file of skipped entries only
    if (n == 0) return rows;
    read_rows(file.openDataSet(cache::kSamplesLabel), {}, begin, n, H5::PredType::NATIVE_INT32, rows.labels.data());
    read_rows(file.openDataSet(cache::kSamplesSplit), {}, begin, n, H5::PredType::NATIVE_UINT8, rows.splits.data());
    read_stamps(file, begin, n, hashes, rows);
    read_views(file, config, view_rows, begin, n, rows);
    return rows;
}

// Rows per copied block: about 64 MiB of tap values, whatever the taps' size.
hsize_t block_rows(const CacheConfig& config) {
    size_t per_row = 0;
    for (const TapLayout& tap : config.taps)
        per_row += sample_values(tap) * sizeof(float) * static_cast<size_t>(std::max(1, config.views));
    return std::max<hsize_t>(1, (64u << 20) / std::max<size_t>(1, per_row));
}

}  // namespace

RowSource::RowSource(const std::string& path, const CacheConfig& config, const CacheProgress& progress)
    : path_(path), config_(config), progress_(progress) {
    h5_.open([&] { return H5::H5File(path, H5F_ACC_RDONLY); });
    const auto h5 = h5_.access();
    const H5::H5File& file = *h5;
    paths_ = h5::read_strings(file.openDataSet(cache::kSamplesPath), static_cast<hsize_t>(progress.rows));
    hashes_ = h5::read_strings(file.openDataSet(cache::kSamplesSha256), static_cast<hsize_t>(progress.rows));
    hashes_.resize(paths_.size());
    view_rows_.resize(static_cast<size_t>(progress.views));
    if (progress.views > 0)
        read_rows(file.openDataSet(cache::kViewsSample), {}, 0, view_rows_.size(), H5::PredType::NATIVE_INT64,
                  view_rows_.data());
    // The view rows' row numbers are read from the file: in order and in range, or nothing is copied.
    for (size_t j = 0; j < view_rows_.size(); ++j)
        if (view_rows_[j] < 0 || view_rows_[j] >= progress.rows || (j > 0 && view_rows_[j] < view_rows_[j - 1]))
            throw Error("cache " + path + ": /views/sample is out of order or out of range at view row " +
                        std::to_string(j) + "; the file is damaged: extract it again ({force})");
}

CacheRows RowSource::read(std::int64_t begin, std::int64_t n) const {
    CVTL_ASSERT(begin >= 0 && n >= 0 && begin + n <= progress_.rows);
    const auto h5 = h5_.access();
    return read_block(*h5, config_, static_cast<hsize_t>(begin), static_cast<hsize_t>(n), paths_, hashes_, view_rows_);
}

std::int64_t RowSource::block_rows() const { return static_cast<std::int64_t>(cvtl::block_rows(config_)); }

CacheRows RowSource::skipped() const {
    const auto h5 = h5_.access();
    CacheRows rows = read_block(*h5, config_, 0, 0, paths_, hashes_, view_rows_);
    rows.skipped_paths =
        h5::read_strings(h5->openDataSet(cache::kSkippedPath), static_cast<hsize_t>(progress_.skipped));
    rows.skipped_reasons =
        h5::read_strings(h5->openDataSet(cache::kSkippedReason), static_cast<hsize_t>(progress_.skipped));
    rows.inputs = 0;
    return rows;
}

void RowSource::read_index(std::vector<std::int32_t>& labels, std::vector<std::uint8_t>& splits,
                           std::vector<FileStamp>& stamps) const {
    const auto n = static_cast<hsize_t>(progress_.rows);
    labels.resize(n);
    splits.resize(n);
    CacheRows rows;
    if (n > 0) {
        const auto h5 = h5_.access();
        read_rows(h5->openDataSet(cache::kSamplesLabel), {}, 0, n, H5::PredType::NATIVE_INT32, labels.data());
        read_rows(h5->openDataSet(cache::kSamplesSplit), {}, 0, n, H5::PredType::NATIVE_UINT8, splits.data());
        read_stamps(*h5, 0, n, hashes_, rows);
    }
    stamps = std::move(rows.stamps);
}

void copy_rows(const std::string& from, const CacheConfig& config, const CacheProgress& progress, CacheFile& out) {
    const RowSource source(from, config, progress);
    const std::int64_t done = progress.rows, block = source.block_rows();
    for (std::int64_t b = 0; b < done || b == 0; b += block) {
        CacheRows rows = source.read(b, std::min(block, done - b));
        if (b == 0) {
            const CacheRows skipped = source.skipped();
            rows.skipped_paths = skipped.skipped_paths;
            rows.skipped_reasons = skipped.skipped_reasons;
        }
        if (b + block >= done) rows.inputs = progress.inputs - b;  // the last block closes the count
        out.append(rows);
    }
}

CacheConfig recorded_config(const CacheInfo& info) {
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

}  // namespace cvtl
