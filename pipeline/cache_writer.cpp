#include "pipeline/cache_writer.hpp"

#include "pipeline/cache_format.hpp"
#include "pipeline/h5_helpers.hpp"
#include "plugin/error.hpp"

#include <cvtl/version.hpp>

#include <boost/filesystem.hpp>
#include <nlohmann/json.hpp>

#include <ctime>
#include <cstdlib>

namespace cvtl {

// The largest finite float16.
constexpr double kHalfMax = 65504.0;
namespace {

namespace fs = boost::filesystem;

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

// Rows past the last commit belong to a batch that was interrupted: drop them before resuming.
void truncate_rows(H5::DataSet ds, hsize_t n) {
    H5::DataSpace space = ds.getSpace();
    std::vector<hsize_t> dims(static_cast<size_t>(space.getSimpleExtentNdims()));
    space.getSimpleExtentDims(dims.data());
    if (dims[0] != n) {
        dims[0] = n;
        ds.extend(dims.data());
    }
}

}  // namespace

CacheWriter::CacheWriter(const std::string& path, const CacheConfig& config, bool overwrite) : path_(path) {
    h5::quiet_errors();
    half_ = config.dtype == "f16";
    for (const TapLayout& tap : config.taps) tap_names_.push_back(tap.name);
    if (config.dtype != "f32" && config.dtype != "f16")
        throw Error("--dtype must be f32 or f16, got '" + config.dtype + "'");
    try {
        if (fs::exists(path) && !overwrite) {
            try {
                reopen(config);
            } catch (const H5::Exception&) {
                // The configuration matched (mismatches are cvtl::Errors), but the file's metadata
                // refuses to grow: rebuild it from the committed rows, then resume as usual.
                file_ = H5::H5File();
                taps_.clear();
                salvage(config);
                reopen(config);
            }
        } else {
            const fs::path parent = fs::path(path).parent_path();
            if (!parent.empty() && !fs::exists(parent)) fs::create_directories(parent);
            create(config);
        }
    } catch (const H5::Exception& e) {
        throw Error("cannot write cache " + path + ": " + e.getDetailMsg() +
                    " (check the path is writable and the disk has space)");
    }
}

CacheWriter::~CacheWriter() = default;

void CacheWriter::create(const CacheConfig& config) {
    state_ = State::Created;
    file_ = H5::H5File(path_, H5F_ACC_TRUNC);
    h5::set_string(file_, cache::kAttrFormat, cache::kFormat);
    h5::set_int(file_, cache::kAttrVersion, cache::kVersion);
    h5::set_string(file_, cache::kAttrModelSha256, config.model_sha256);
    h5::set_string(file_, cache::kAttrModelFile, config.model_file);
    h5::set_string(file_, cache::kAttrPreprocess, config.preprocess.to_json().dump());
    h5::set_string(file_, cache::kAttrTaps, taps_json(config.taps).dump());
    h5::set_string(file_, cache::kAttrDtype, config.dtype);
    h5::set_string(file_, cache::kAttrPrecision, config.precision);
    h5::set_string(file_, cache::kAttrCompression, config.compress ? "shuffle+deflate" : "none");
    h5::set_string(file_, cache::kAttrDataset, config.dataset);
    h5::set_string(file_, cache::kAttrDatasetFingerprint, config.dataset_fingerprint);
    h5::set_int(file_, cache::kAttrDatasetSize, config.dataset_size);
    h5::set_string(file_, cache::kAttrSplit,
                   nlohmann::json{{"val_fraction", config.val_fraction}, {"seed", config.seed}}.dump());
    h5::set_string(file_, cache::kAttrOpenCvVersion, CV_VERSION);
    h5::set_string(file_, cache::kAttrCvtlVersion, kVersion);
    h5::set_string(file_, cache::kAttrCreated, now_utc());
    h5::set_int(file_, cache::kAttrComplete, 0);

    H5::Group samples = file_.createGroup("/samples");
    h5::create_growing_1d(samples, "path", h5::vlen_string(), 1024);
    h5::create_growing_1d(samples, "label", H5::PredType::STD_I32LE, 4096);
    h5::create_growing_1d(samples, "split", H5::PredType::STD_U8LE, 4096);
    H5::Group skipped = file_.createGroup("/skipped");
    h5::create_growing_1d(skipped, "path", h5::vlen_string(), 256);
    h5::create_growing_1d(skipped, "reason", h5::vlen_string(), 256);

    {
        hsize_t n = config.classes.size();
        H5::DataSpace space(1, &n);
        H5::DataSet classes = file_.createDataSet(cache::kClasses, h5::vlen_string(), space);
        std::vector<const char*> names;
        for (const auto& c : config.classes) names.push_back(c.c_str());
        if (n) classes.write(names.data(), h5::vlen_string());
    }

    H5::Group taps = file_.createGroup(cache::kTapsGroup);
    const H5::DataType& stored = half_ ? static_cast<const H5::DataType&>(h5::float16())
                                       : static_cast<const H5::DataType&>(H5::PredType::IEEE_F32LE);
    for (const TapLayout& tap : config.taps) {
        const int rank = static_cast<int>(tap.shape.size()) + 1;
        std::vector<hsize_t> dims(static_cast<size_t>(rank), 0), maxdims(static_cast<size_t>(rank)), chunk(static_cast<size_t>(rank));
        size_t sample_values = 1;
        for (size_t i = 0; i < tap.shape.size(); ++i) {
            dims[i + 1] = maxdims[i + 1] = chunk[i + 1] = static_cast<hsize_t>(tap.shape[i]);
            sample_values *= static_cast<size_t>(tap.shape[i]);
        }
        maxdims[0] = H5S_UNLIMITED;
        chunk[0] = samples_per_chunk(sample_values * (half_ ? 2 : 4), config.dataset_size);
        H5::DSetCreatPropList props;
        props.setChunk(rank, chunk.data());
        if (config.compress) {
            props.setShuffle();
            props.setDeflate(4);
        }
        H5::DataSet ds = taps.createDataSet(tap.name, stored, H5::DataSpace(rank, dims.data(), maxdims.data()), props);
        h5::set_string(ds, cache::kAttrTapLayer, tap.layer);
        h5::set_string(ds, cache::kAttrTapShape, nlohmann::json(tap.shape).dump());
        taps_.push_back(ds);
    }
    file_.createGroup(cache::kProgress);
    commit_progress();
}

void CacheWriter::reopen(const CacheConfig& config) {
    const std::string fix = "write to another -o path, or pass --force to replace it";
    if (!H5::H5File::isHdf5(path_)) throw Error(path_ + " exists and is not an HDF5 cache; " + fix);
    try {
        file_ = H5::H5File(path_, H5F_ACC_RDWR);
    } catch (const H5::Exception&) {
        throw Error("cache " + path_ + " cannot be opened (damaged or in use by another process); " + fix);
    }
    if (!h5::has_attr(file_, cache::kAttrFormat) || h5::get_string(file_, cache::kAttrFormat) != cache::kFormat)
        throw Error(path_ + " exists and is not a cvtl cache; " + fix);
    const auto version = h5::get_int(file_, cache::kAttrVersion);
    if (version != cache::kVersion)
        throw Error("cache " + path_ + " has format version " + std::to_string(version) + ", this cvtl writes version " +
                    std::to_string(cache::kVersion) + "; " + fix);

    auto differs = [&](const char* attr, const std::string& expected, const std::string& what) {
        const std::string found = h5::get_string(file_, attr);
        if (found != expected)
            throw Error("cache " + path_ + " was made with another " + what + " (cache: " + found.substr(0, 120) +
                        "; now: " + expected.substr(0, 120) + "); " + fix);
    };
    differs(cache::kAttrModelSha256, config.model_sha256, "model (sha256 of " + h5::get_string(file_, cache::kAttrModelFile) + ")");
    differs(cache::kAttrPreprocess, config.preprocess.to_json().dump(), "preprocessing");
    differs(cache::kAttrTaps, taps_json(config.taps).dump(), "set of taps");
    differs(cache::kAttrDtype, config.dtype, "--dtype");
    differs(cache::kAttrPrecision, config.precision, "--precision");
    differs(cache::kAttrCompression, config.compress ? "shuffle+deflate" : "none", "compression setting");
    differs(cache::kAttrDatasetFingerprint, config.dataset_fingerprint, "dataset or split (files, labels or --val-fraction/--seed changed)");

    H5::Group progress = file_.openGroup(cache::kProgress);
    done_ = h5::get_int(progress, cache::kAttrDone);
    next_input_ = h5::get_int(progress, cache::kAttrNextInput);
    skipped_ = h5::get_int(progress, cache::kAttrSkipped);
    if (h5::get_int(file_, cache::kAttrComplete) == 1) {
        state_ = State::AlreadyComplete;
        return;
    }
    state_ = State::Resumed;
    for (const TapLayout& tap : config.taps) taps_.push_back(file_.openDataSet(std::string(cache::kTapsGroup) + "/" + tap.name));
    for (auto& ds : taps_) truncate_rows(ds, static_cast<hsize_t>(done_));
    for (const char* name : {cache::kSamplesPath, cache::kSamplesLabel, cache::kSamplesSplit})
        truncate_rows(file_.openDataSet(name), static_cast<hsize_t>(done_));
    for (const char* name : {cache::kSkippedPath, cache::kSkippedReason})
        truncate_rows(file_.openDataSet(name), static_cast<hsize_t>(skipped_));
    if (std::getenv("CVTL_TEST_DAMAGED_REOPEN") && !salvaged_) throw H5::FileIException("reopen", "test hook: damaged metadata");
    file_.flush(H5F_SCOPE_GLOBAL);
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

// One block of committed rows of the damaged file, as CacheRows (f16 taps widened to f32).
CacheRows read_block(const H5::H5File& old, const CacheConfig& config, hsize_t begin, hsize_t n, const std::vector<std::string>& paths) {
    CacheRows rows;
    rows.paths.assign(paths.begin() + static_cast<std::ptrdiff_t>(begin), paths.begin() + static_cast<std::ptrdiff_t>(begin + n));
    rows.labels.resize(n);
    rows.splits.resize(n);
    if (n) read_rows(old.openDataSet(cache::kSamplesLabel), {}, begin, n, H5::PredType::NATIVE_INT32, rows.labels.data());
    if (n) read_rows(old.openDataSet(cache::kSamplesSplit), {}, begin, n, H5::PredType::NATIVE_UINT8, rows.splits.data());
    for (const TapLayout& tap : config.taps) {
        std::vector<int> full{static_cast<int>(n)};
        full.insert(full.end(), tap.shape.begin(), tap.shape.end());
        cv::Mat values(full, CV_32F), halves(full, CV_16F);
        const H5::DataSet ds = old.openDataSet(std::string(cache::kTapsGroup) + "/" + tap.name);
        if (n && config.dtype == "f16") read_rows(ds, tap.shape, begin, n, h5::float16(), halves.data), halves.convertTo(values, CV_32F);
        else if (n) read_rows(ds, tap.shape, begin, n, H5::PredType::NATIVE_FLOAT, values.data);
        rows.taps.push_back(values);
    }
    rows.inputs = static_cast<std::int64_t>(n);
    return rows;
}

}  // namespace

// Copies the committed rows of the damaged cache at path_ into a fresh cache with the same
// configuration, block by block, and puts it in its place. What was committed was flushed before
// its commit, so it reads back intact; only the interrupted batch's metadata is lost, and that
// batch is redone anyway.
void CacheWriter::salvage(const CacheConfig& config) {
    const std::string fresh = path_ + ".salvage";
    try {
        H5::H5File old(path_, H5F_ACC_RDONLY);
        H5::Group progress = old.openGroup(cache::kProgress);
        const auto done = static_cast<hsize_t>(h5::get_int(progress, cache::kAttrDone));
        const auto skipped = static_cast<size_t>(h5::get_int(progress, cache::kAttrSkipped));
        const std::int64_t next = h5::get_int(progress, cache::kAttrNextInput);
        const auto paths = h5::read_strings(old.openDataSet(cache::kSamplesPath));
        auto skipped_paths = h5::read_strings(old.openDataSet(cache::kSkippedPath));
        auto skipped_reasons = h5::read_strings(old.openDataSet(cache::kSkippedReason));
        if (paths.size() < done || skipped_paths.size() < skipped || skipped_reasons.size() < skipped ||
            next < static_cast<std::int64_t>(done + skipped))
            throw Error("cache " + path_ + " is damaged beyond its last commit; pass --force to extract it again");
        CacheWriter out(fresh, config, true);
        const hsize_t block = 1024;  // bounded memory whatever the cache size
        for (hsize_t b = 0; b < done || b == 0; b += block) {
            CacheRows rows = read_block(old, config, b, std::min(block, done - b), paths);
            if (b == 0) {
                rows.skipped_paths.assign(skipped_paths.begin(), skipped_paths.begin() + static_cast<std::ptrdiff_t>(skipped));
                rows.skipped_reasons.assign(skipped_reasons.begin(), skipped_reasons.begin() + static_cast<std::ptrdiff_t>(skipped));
            }
            if (b + block >= done) rows.inputs = next - static_cast<std::int64_t>(b);  // the last block closes the count
            out.append(rows);
        }
    } catch (const H5::Exception& e) {
        boost::system::error_code ec;
        fs::remove(fresh, ec);
        throw Error("cache " + path_ + " was damaged by an interrupted write (" + e.getDetailMsg() +
                    ") and its committed rows cannot be read back; pass --force to extract it again");
    }
    fs::rename(fresh, path_);
    salvaged_ = true;
}

void CacheWriter::commit_progress() {
    H5::Group progress = file_.openGroup(cache::kProgress);
    h5::set_int(progress, cache::kAttrDone, done_);
    h5::set_int(progress, cache::kAttrNextInput, next_input_);
    h5::set_int(progress, cache::kAttrSkipped, skipped_);
    file_.flush(H5F_SCOPE_GLOBAL);
}

void CacheWriter::append(const CacheRows& rows) {
    if (state_ == State::AlreadyComplete) throw Error("cache " + path_ + " is complete; nothing to append");
    const auto n = static_cast<hsize_t>(rows.paths.size());
    const auto at = static_cast<hsize_t>(done_);
    try {
        for (size_t t = 0; t < taps_.size(); ++t) {
            const cv::Mat& values = rows.taps[t];
            CV_Assert(values.isContinuous() && values.type() == CV_32F && static_cast<hsize_t>(values.size[0]) == n);
            if (half_) {
                // Beyond float16's range a value would be stored as inf, silently: refuse instead.
                double lo = 0, hi = 0;
                cv::minMaxIdx(values.reshape(1, 1), &lo, &hi);
                if (std::max(-lo, hi) > kHalfMax)
                    throw Error("tap " + tap_names_[t] + " has a value of " + std::to_string(std::max(-lo, hi)) + ", beyond float16's range (" +
                                std::to_string(static_cast<int>(kHalfMax)) + "); rows up to " + std::to_string(done_) + " of " + path_ +
                                " are kept; extract with --dtype f32 (into another -o, or --force)");
                cv::Mat halves;
                values.convertTo(halves, CV_16F);
                h5::write_rows(taps_[t], at, n, h5::float16(), halves.data);
            } else {
                h5::write_rows(taps_[t], at, n, H5::PredType::NATIVE_FLOAT, values.data);
            }
        }
        H5::DataSet paths = file_.openDataSet(cache::kSamplesPath);
        h5::write_strings(paths, at, rows.paths);
        H5::DataSet labels = file_.openDataSet(cache::kSamplesLabel);
        h5::write_rows(labels, at, n, H5::PredType::NATIVE_INT32, rows.labels.data());
        H5::DataSet splits = file_.openDataSet(cache::kSamplesSplit);
        h5::write_rows(splits, at, n, H5::PredType::NATIVE_UINT8, rows.splits.data());
        H5::DataSet skipped_paths = file_.openDataSet(cache::kSkippedPath);
        h5::write_strings(skipped_paths, static_cast<hsize_t>(skipped_), rows.skipped_paths);
        H5::DataSet skipped_reasons = file_.openDataSet(cache::kSkippedReason);
        h5::write_strings(skipped_reasons, static_cast<hsize_t>(skipped_), rows.skipped_reasons);
        file_.flush(H5F_SCOPE_GLOBAL);

        // Test hook: die between the data flush and the progress commit, the worst moment for a kill.
        if (const char* limit = std::getenv("CVTL_TEST_DIE_BEFORE_COMMIT"))
            if (next_input_ + rows.inputs >= std::atoll(limit)) std::_Exit(86);

        done_ += static_cast<std::int64_t>(n);
        skipped_ += static_cast<std::int64_t>(rows.skipped_paths.size());
        next_input_ += rows.inputs;
        commit_progress();
    } catch (const H5::Exception& e) {
        throw Error("cannot write cache " + path_ + ": " + e.getDetailMsg() +
                    " (is the disk full? re-run the same command to resume from row " + std::to_string(done_) + ")");
    }
}

void CacheWriter::finish() {
    h5::set_int(file_, cache::kAttrComplete, 1);
    file_.flush(H5F_SCOPE_GLOBAL);
}

std::uint64_t CacheWriter::file_size() const { return static_cast<std::uint64_t>(file_.getFileSize()); }

}  // namespace cvtl
