#include "pipeline/cache/cache_file.hpp"

#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/h5_helpers.hpp"
#include "plugin/error.hpp"

#include <cvtl/version.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>

namespace cvtl {
namespace {

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

size_t sample_values(const TapLayout& tap) {
    size_t n = 1;
    for (int d : tap.shape) n *= static_cast<size_t>(d);
    return n;
}

void write_root_attributes(H5::H5File& file, const CacheConfig& config) {
    h5::set_string(file, cache::kAttrFormat, cache::kFormat);
    h5::set_int(file, cache::kAttrVersion, cache::kVersion);
    h5::set_string(file, cache::kAttrModelSha256, config.model_sha256);
    h5::set_string(file, cache::kAttrModelFile, config.model_file);
    // Only a Caffe model has a second file; an ONNX cache keeps the attributes it always had.
    if (!config.model_weights.empty()) h5::set_string(file, cache::kAttrModelWeights, config.model_weights);
    h5::set_string(file, cache::kAttrPreprocess, config.preprocess.to_json().dump());
    h5::set_string(file, cache::kAttrTaps, taps_json(config.taps).dump());
    h5::set_string(file, cache::kAttrDtype, config.dtype);
    h5::set_string(file, cache::kAttrPrecision, config.precision);
    h5::set_string(file, cache::kAttrCompression, config.compress ? "shuffle+deflate" : "none");
    h5::set_string(file, cache::kAttrDataset, config.dataset);
    h5::set_string(file, cache::kAttrDatasetFingerprint, config.dataset_fingerprint);
    h5::set_int(file, cache::kAttrDatasetSize, config.dataset_size);
    h5::set_string(file, cache::kAttrSplit, nlohmann::json{{"val_fraction", config.val_fraction}, {"seed", config.seed}}.dump());
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

H5::DataSet create_tap(H5::Group& taps, const TapLayout& tap, const CacheConfig& config, bool half) {
    const int rank = static_cast<int>(tap.shape.size()) + 1;
    std::vector<hsize_t> dims(static_cast<size_t>(rank), 0), maxdims(static_cast<size_t>(rank)), chunk(static_cast<size_t>(rank));
    for (size_t i = 0; i < tap.shape.size(); ++i) dims[i + 1] = maxdims[i + 1] = chunk[i + 1] = static_cast<hsize_t>(tap.shape[i]);
    maxdims[0] = H5S_UNLIMITED;
    chunk[0] = samples_per_chunk(sample_values(tap) * (half ? 2 : 4), config.dataset_size);
    H5::DSetCreatPropList props;
    props.setChunk(rank, chunk.data());
    if (config.compress) {
        props.setShuffle();
        props.setDeflate(4);
    }
    const H5::DataType& stored = half ? static_cast<const H5::DataType&>(h5::float16()) : static_cast<const H5::DataType&>(H5::PredType::IEEE_F32LE);
    H5::DataSet ds = taps.createDataSet(tap.name, stored, H5::DataSpace(rank, dims.data(), maxdims.data()), props);
    h5::set_string(ds, cache::kAttrTapLayer, tap.layer);
    h5::set_string(ds, cache::kAttrTapShape, nlohmann::json(tap.shape).dump());
    return ds;
}

}  // namespace

CacheFile::CacheFile(const std::string& path, const CacheConfig& config) : path_(path), half_(config.dtype == "f16") {
    h5::quiet_errors();
    h5_.open([&] { return Open{H5::H5File(path, H5F_ACC_TRUNC), {}}; });
    create_layout(config);
}

void CacheFile::create_layout(const CacheConfig& config) {
    const auto h5 = h5_.access();
    H5::H5File& file = h5->file;
    write_root_attributes(file, config);
    H5::Group samples = file.createGroup("/samples");
    h5::create_growing_1d(samples, "path", h5::vlen_string(), 1024);
    h5::create_growing_1d(samples, "label", H5::PredType::STD_I32LE, 4096);
    h5::create_growing_1d(samples, "split", H5::PredType::STD_U8LE, 4096);
    H5::Group skipped = file.createGroup("/skipped");
    h5::create_growing_1d(skipped, "path", h5::vlen_string(), 256);
    h5::create_growing_1d(skipped, "reason", h5::vlen_string(), 256);
    write_classes(file, config.classes);
    H5::Group taps = file.createGroup(cache::kTapsGroup);
    for (const TapLayout& tap : config.taps) h5->taps.push_back(create_tap(taps, tap, config, half_));
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
    file.flush(H5F_SCOPE_GLOBAL);
}

void CacheFile::append(const CacheRows& rows) {
    const auto n = static_cast<hsize_t>(rows.paths.size());
    const auto at = static_cast<hsize_t>(progress_.rows);
    const auto h5 = h5_.access();
    H5::H5File& file = h5->file;
    std::vector<H5::DataSet>& tap_data = h5->taps;
    for (size_t t = 0; t < tap_data.size(); ++t) {
        const cv::Mat& values = rows.taps[t];
        CV_Assert(values.isContinuous() && values.type() == CV_32F && static_cast<hsize_t>(values.size[0]) == n);
        if (half_) {
            cv::Mat halves;
            values.convertTo(halves, CV_16F);
            h5::write_rows(tap_data[t], at, n, h5::float16(), halves.data);
        } else {
            h5::write_rows(tap_data[t], at, n, H5::PredType::NATIVE_FLOAT, values.data);
        }
        tap_bytes_ += values.total() * (half_ ? 2 : 4);
    }
    H5::DataSet paths = file.openDataSet(cache::kSamplesPath), labels = file.openDataSet(cache::kSamplesLabel),
                splits = file.openDataSet(cache::kSamplesSplit);
    h5::write_strings(paths, at, rows.paths);
    h5::write_rows(labels, at, n, H5::PredType::NATIVE_INT32, rows.labels.data());
    h5::write_rows(splits, at, n, H5::PredType::NATIVE_UINT8, rows.splits.data());
    H5::DataSet skipped_paths = file.openDataSet(cache::kSkippedPath), skipped_reasons = file.openDataSet(cache::kSkippedReason);
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

void sync_path(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error("cannot open " + path + " to make it durable");
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) throw Error("cannot make " + path + " durable (fsync failed: is the disk full or failing?)");
}

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
            throw Error("cache " + path + " was made with another " + what + " (cache: " + found.substr(0, 120) + "; now: " + expected.substr(0, 120) +
                        "); " + fix);
    };
    differs(cache::kAttrModelSha256, config.model_sha256, "model (sha256 of " + h5::get_string(file, cache::kAttrModelFile) + ")");
    differs(cache::kAttrPreprocess, config.preprocess.to_json().dump(), "preprocessing");
    differs(cache::kAttrTaps, taps_json(config.taps).dump(), "set of taps");
    differs(cache::kAttrDtype, config.dtype, "{dtype}");
    differs(cache::kAttrPrecision, config.precision, "{precision}");
    differs(cache::kAttrCompression, config.compress ? "shuffle+deflate" : "none", "compression setting");
    differs(cache::kAttrDatasetFingerprint, config.dataset_fingerprint, "dataset or split (files, labels or {val-fraction}/{seed} changed)");

    H5::Group group = file.openGroup(cache::kProgress);
    CacheProgress p{h5::get_int(group, cache::kAttrDone), h5::get_int(group, cache::kAttrNextInput), h5::get_int(group, cache::kAttrSkipped),
                    h5::get_int(file, cache::kAttrComplete) == 1};
    // The counters size the copy that follows: they must agree with each other and with the file.
    const auto stored = [&](const char* name) { return static_cast<std::int64_t>(h5::rows(file.openDataSet(name))); };
    if (p.rows < 0 || p.skipped < 0 || p.inputs < p.rows || p.inputs - p.rows < p.skipped || p.inputs > config.dataset_size || stored(cache::kSamplesPath) < p.rows ||
        stored(cache::kSamplesLabel) < p.rows || stored(cache::kSamplesSplit) < p.rows || stored(cache::kSkippedPath) < p.skipped ||
        stored(cache::kSkippedReason) < p.skipped)
        throw Error("cache " + path + " has inconsistent progress counters; " + fix);
    return p;
}

namespace {

// Rows [begin, begin + n) of a dataset, read into `out` (of n rows of `shape`) as `type`.
void read_rows(const H5::DataSet& ds, const std::vector<int>& shape, hsize_t begin, hsize_t n, const H5::DataType& type, void* out) {
    std::vector<hsize_t> start(shape.size() + 1, 0), counts{n};
    counts.insert(counts.end(), shape.begin(), shape.end());
    start[0] = begin;
    H5::DataSpace space = ds.getSpace();
    space.selectHyperslab(H5S_SELECT_SET, counts.data(), start.data());
    ds.read(out, type, H5::DataSpace(static_cast<int>(counts.size()), counts.data()), space);
}

// Rows [begin, begin + n) of a cache file as CacheRows (float16 taps widened to float32, exactly).
CacheRows read_block(const H5::H5File& file, const CacheConfig& config, hsize_t begin, hsize_t n, const std::vector<std::string>& paths) {
    CacheRows rows;
    rows.paths.assign(paths.begin() + static_cast<std::ptrdiff_t>(begin), paths.begin() + static_cast<std::ptrdiff_t>(begin + n));
    rows.labels.resize(n);
    rows.splits.resize(n);
    rows.inputs = static_cast<std::int64_t>(n);
    if (n == 0) {   // a file of skipped entries only: empty taps of the right shape
        for (const TapLayout& tap : config.taps) {
            std::vector<int> full{0};
            full.insert(full.end(), tap.shape.begin(), tap.shape.end());
            rows.taps.emplace_back(full, CV_32F);
        }
        return rows;
    }
    read_rows(file.openDataSet(cache::kSamplesLabel), {}, begin, n, H5::PredType::NATIVE_INT32, rows.labels.data());
    read_rows(file.openDataSet(cache::kSamplesSplit), {}, begin, n, H5::PredType::NATIVE_UINT8, rows.splits.data());
    for (const TapLayout& tap : config.taps) {
        std::vector<int> full{static_cast<int>(n)};
        full.insert(full.end(), tap.shape.begin(), tap.shape.end());
        cv::Mat values(full, CV_32F);
        const H5::DataSet ds = file.openDataSet(std::string(cache::kTapsGroup) + "/" + tap.name);
        if (config.dtype == "f16") {
            cv::Mat halves(full, CV_16F);
            read_rows(ds, tap.shape, begin, n, h5::float16(), halves.data);
            halves.convertTo(values, CV_32F);
        } else {
            read_rows(ds, tap.shape, begin, n, H5::PredType::NATIVE_FLOAT, values.data);
        }
        rows.taps.push_back(values);
    }
    return rows;
}

// Rows per copied block: about 64 MiB of tap values, whatever the taps' size.
hsize_t block_rows(const CacheConfig& config) {
    size_t per_row = 0;
    for (const TapLayout& tap : config.taps) per_row += sample_values(tap) * sizeof(float);
    return std::max<hsize_t>(1, (64u << 20) / std::max<size_t>(1, per_row));
}

}  // namespace

void copy_rows(const std::string& from, const CacheConfig& config, const CacheProgress& progress, CacheFile& out) {
    const h5::File handle(from, H5F_ACC_RDONLY);
    const auto h5 = handle.access();
    const H5::H5File& file = *h5;
    const auto done = static_cast<hsize_t>(progress.rows);
    const auto skipped = static_cast<hsize_t>(progress.skipped);
    const auto paths = h5::read_strings(file.openDataSet(cache::kSamplesPath), done);
    const hsize_t block = block_rows(config);
    for (hsize_t b = 0; b < done || b == 0; b += block) {
        CacheRows rows = read_block(file, config, b, std::min(block, done - b), paths);
        if (b == 0) {
            rows.skipped_paths = h5::read_strings(file.openDataSet(cache::kSkippedPath), skipped);
            rows.skipped_reasons = h5::read_strings(file.openDataSet(cache::kSkippedReason), skipped);
        }
        if (b + block >= done) rows.inputs = progress.inputs - static_cast<std::int64_t>(b);  // the last block closes the count
        out.append(rows);
    }
}

}  // namespace cvtl
