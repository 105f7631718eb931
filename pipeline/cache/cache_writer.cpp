#include "pipeline/cache/cache_writer.hpp"

#include "pipeline/cache/cache_file.hpp"
#include "pipeline/cache/cache_info.hpp"
#include "pipeline/cache/cache_map.hpp"
#include "pipeline/cache/cache_rows.hpp"
#include "pipeline/cache/dtype.hpp"
#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/h5_helpers.hpp"
#include "pipeline/core/atomic_file.hpp"
#include "pipeline/core/error.hpp"

#include <boost/filesystem.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace cvtl {
namespace {

namespace fs = boost::filesystem;

// The largest finite float16.
constexpr double kHalfMax = 65504.0;

double now_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Test hook: dies at the named moment of a commit, as a kill there would.
void test_hook_die(const char* variable, int moment) {
    if (const char* at = std::getenv(variable))
        if (std::atoi(at) == moment) std::_Exit(86);
}

std::string parent_dir(const std::string& path) {
    const fs::path parent = fs::path(path).parent_path();
    return parent.empty() ? "." : parent.string();
}

}  // namespace

CacheWriter::CacheWriter(const std::string& path, const CacheConfig& config, bool overwrite, Assembly assembly)
    : path_(path), parts_(cache::parts_dir(path)), assembly_(assembly), config_(config) {
    h5::quiet_errors();
    if (const char* rows = std::getenv("CVTL_TEST_SEGMENT_ROWS")) segment_rows_limit_ = std::max(1LL, std::atoll(rows));
    if (const char* seconds = std::getenv("CVTL_TEST_SEGMENT_SECONDS")) segment_seconds_ = std::atof(seconds);
    try {
        if (!fs::exists(parent_dir(path_))) fs::create_directories(parent_dir(path_));
        finish_interrupted_map(path_);
        fs::remove_all(parts_ + ".old");  // segments of a finished cache whose removal was interrupted
        if (overwrite) {
            fs::remove_all(parts_);
        } else if (complete_here()) {
            return;
        } else if (fs::exists(parts_)) {
            resume_segments();
        } else if (fs::exists(path_)) {
            // Not a complete cache of this configuration (complete_here said so): another model's
            // cache or not a cache is refused here; an unfinished one of ours is adopted.
            adopt_unfinished_file(
                check_cache_file(path_, config_, "write to another {output} path, or pass {force} to replace it"));
        }
        fs::create_directories(parts_);
    } catch (const H5::Exception& e) {
        throw Error("cannot write cache " + path + ": " + e.getDetailMsg() +
                    " (check the path is writable and the disk has space)");
    } catch (const fs::filesystem_error& e) {
        throw Error("cannot write cache " + path + ": " + e.code().message() +
                    " (check the path is writable and the disk has space)");
    }
}

CacheWriter::~CacheWriter() {
    try {
        if (!finished_) seal();
    } catch (...) {
        // The open segment stays a .tmp and is redone on resume; a destructor must not throw.
    }
}

// A complete cache of this configuration at PATH wins over any segments left beside it.
bool CacheWriter::complete_here() {
    if (!fs::exists(path_)) return false;
    CacheProgress p;
    try {
        p = check_cache_file(path_, config_, "");
    } catch (const Error&) {
        return false;  // another configuration, or not a cache: the checks below say which
    }
    if (!p.complete) return false;
    const std::vector<std::string> missing = missing_segments(path_);
    if (!missing.empty())  // not complete without its rows: neither redone in silence nor read as zeros
        throw Error("cache " + path_ + " lacks " + std::to_string(missing.size()) + " of its segment files (first: " +
                    missing[0] + "); put its rows directory back beside it, or pass {force} to extract it again");
    fs::remove_all(parts_);  // segments of the same configuration add nothing to a complete cache
    state_ = State::AlreadyComplete;
    done_ = p.rows, next_input_ = p.inputs, skipped_ = p.skipped;
    return true;
}

std::string CacheWriter::segment_name(std::int64_t index) const {
    char name[32];
    std::snprintf(name, sizeof name, "/seg-%06lld.h5", static_cast<long long>(index));
    return parts_ + name;
}

// A .tmp segment was interrupted before its seal: its rows are redone. Every sealed segment must be
// there, in order, made with this configuration.
void CacheWriter::resume_segments() {
    const std::string fix = "pass {force} to start the extraction again (this discards " + parts_ + ")";
    std::int64_t count = 0;
    std::vector<fs::path> interrupted;
    for (fs::directory_iterator it(parts_), end; it != end; ++it) {
        if (it->path().extension() == ".tmp")
            interrupted.push_back(it->path());
        else if (it->path().filename().string().rfind("seg-", 0) == 0)
            ++count;
    }
    for (const auto& p : interrupted) fs::remove(p);
    for (std::int64_t i = 0; i < count; ++i) {
        const std::string segment = segment_name(i);
        if (!fs::exists(segment))
            throw Error("cache " + path_ + ": segment " + segment + " is missing from the unfinished extraction; " +
                        fix);
        const CacheProgress p = check_cache_file(segment, config_, fix);
        if (!p.complete) throw Error("cache " + path_ + ": segment " + segment + " was never sealed; " + fix);
        // Each segment covers at most the dataset (checked above), so these sums are checked before they can overflow.
        if (p.inputs > config_.dataset_size - next_input_)
            throw Error("cache " + path_ + ": its segments cover more images than the dataset has; " + fix);
        done_ += p.rows, next_input_ += p.inputs, skipped_ += p.skipped;
    }
    sealed_segments_ = count;
    state_ = count > 0 ? State::Resumed : State::Created;
}

// An unfinished cache written in place by an earlier cvtl: its committed rows become segment 0.
void CacheWriter::adopt_unfinished_file(const CacheProgress& p) {
    const std::string fix = "pass {force} to extract it again";
    fs::create_directories(parts_);
    const std::string segment = segment_name(0);
    try {
        CacheFile copy(segment + ".tmp", config_);
        copy_rows(path_, config_, p, copy);
        copy.seal();
    } catch (const H5::Exception& e) {
        throw Error("cache " + path_ + " is unfinished and its committed rows cannot be read back (" +
                    e.getDetailMsg() + "); " + fix);
    }
    commit_file(segment + ".tmp", segment);
    fs::remove(path_);
    sealed_segments_ = 1;
    done_ = p.rows, next_input_ = p.inputs, skipped_ = p.skipped;
    state_ = State::Resumed;
}

void CacheWriter::check_half_range(const CacheRows& rows) const {
    if (config_.dtype != Dtype::f16) return;
    for (size_t t = 0; t < rows.taps.size(); ++t) {
        double lo = 0, hi = 0;
        if (rows.taps[t].total() > 0) cv::minMaxIdx(rows.taps[t].reshape(1, 1), &lo, &hi);
        if (t < rows.view_taps.size() &&
            rows.view_taps[t].total() > 0) {  // the augmented views are stored as float16 too
            double vlo = 0, vhi = 0;
            cv::minMaxIdx(rows.view_taps[t].reshape(1, 1), &vlo, &vhi);
            lo = std::min(lo, vlo), hi = std::max(hi, vhi);
        }
        if (std::max(-lo, hi) > kHalfMax)
            throw Error("tap " + config_.taps[t].name + " has a value of " + std::to_string(std::max(-lo, hi)) +
                        ", beyond float16's range (" + std::to_string(static_cast<int>(kHalfMax)) + "); the " +
                        std::to_string(done_) + " rows before it are kept in " + parts_ +
                        "; extract with {dtype} f32 (into another -o, or {force})");
    }
}

void CacheWriter::append(const CacheRows& rows) {
    if (state_ == State::AlreadyComplete || finished_)
        throw Error("cache " + path_ + " is complete; nothing to append");
    try {
        check_half_range(rows);  // before anything is written: the batch is refused whole
    } catch (const Error&) {
        seal();
        throw;
    }
    try {
        if (!open_) {
            open_ = std::make_unique<CacheFile>(segment_name(sealed_segments_) + ".tmp", config_);
            open_since_ = now_seconds();
        }
        open_->append(rows);
    } catch (const H5::Exception& e) {
        throw Error("cannot write cache " + path_ + ": " + e.getDetailMsg() +
                    " (is the disk full? re-run the same command to resume from row " +
                    std::to_string(done_ - (open_ ? open_->progress().rows : 0)) + ")");
    }
    // Test hook: die after the batch is written, before its segment is sealed.
    if (const char* limit = std::getenv("CVTL_TEST_DIE_BEFORE_COMMIT"))
        if (next_input_ + rows.inputs >= std::atoll(limit)) std::_Exit(86);
    done_ += static_cast<std::int64_t>(rows.paths.size());
    skipped_ += static_cast<std::int64_t>(rows.skipped_paths.size());
    next_input_ += rows.inputs;
    const std::int64_t in_segment = open_->progress().inputs, before = next_input_ - in_segment;
    const bool full = segment_rows_limit_ > 0
                          ? in_segment >= segment_rows_limit_
                          : (open_->tap_bytes() >= kSegmentBytes || now_seconds() - open_since_ >= segment_seconds_) &&
                                in_segment >= before / kSegmentShare;
    if (full) seal();
}

// Seal, then rename: the segment appears under its final name only once it is whole and durable.
void CacheWriter::seal() {
    if (!open_) return;
    const std::string segment = segment_name(sealed_segments_);
    try {
        open_->seal();
        open_.reset();
        commit_file(segment + ".tmp", segment);
    } catch (const H5::Exception& e) {
        open_.reset();
        throw Error("cannot write cache segment " + segment + ": " + e.getDetailMsg() + " (is the disk full?)");
    }
    ++sealed_segments_;
}

void CacheWriter::finish() {
    if (state_ == State::AlreadyComplete || finished_) return;
    seal();
    const std::vector<std::string> replaced = rows_dirs_of(path_);  // the rows of the cache PATH holds now
    if (sealed_segments_ == 1) {
        // One sealed segment is already the whole cache, sealed and durable: renaming it saves
        // writing every byte a second time (on a 294 MB ResNet-50 cache, 1.4 s of a 10 s run). A kill
        // before the rename resumes with nothing left to extract; after it, the cache is complete.
        commit_file(segment_name(0), path_);
        remove_parts();
    } else if (assembly_ == Assembly::copy || sealed_segments_ == 0) {  // nothing to map: an empty cache file
        copy_segments();
    } else {
        map_segments();
    }
    remove_rows_dirs(replaced, rows_dir_);
}

void CacheWriter::copy_segments() {
    const std::string tmp = path_ + ".tmp";
    try {
        CacheFile out(tmp, config_);
        for (std::int64_t i = 0; i < sealed_segments_; ++i) {
            const std::string segment = segment_name(i);
            copy_rows(segment, config_, check_cache_file(segment, config_, "re-run the same command"), out);
        }
        out.seal();
    } catch (const H5::Exception& e) {
        boost::system::error_code ec;
        fs::remove(tmp, ec);
        throw Error("cannot assemble cache " + path_ + " from " + parts_ + ": " + e.getDetailMsg() +
                    " (is the disk full? the segments are kept: re-run the same command)");
    }
    commit_file(tmp, path_);
    remove_parts();
}

// Three steps, each atomic, so a kill between any two leaves a state the next run completes
// (finish_interrupted_map): PATH.tmp, the map over the segments where they will be, written and
// made durable; PATH.parts renamed to the rows directory that map names; PATH.tmp renamed over PATH.
void CacheWriter::map_segments() {
    const std::string tmp = path_ + ".tmp";
    const std::string rows = new_rows_dir(path_);
    const std::string rows_name = fs::path(rows).filename().string();
    try {
        std::vector<MappedSource> sources;
        for (std::int64_t i = 0; i < sealed_segments_; ++i) {
            const std::string segment = segment_name(i);
            const CacheProgress p = check_cache_file(segment, config_, "re-run the same command");
            const CacheRows skipped = RowSource(segment, config_, p).skipped();
            sources.push_back({segment, rows_name + "/" + fs::path(segment).filename().string(), p.rows, p.views,
                               p.inputs, skipped.skipped_paths, skipped.skipped_reasons});
        }
        write_mapped_cache(tmp, config_, sources, cache::kAttrSegments);
    } catch (const H5::Exception& e) {
        boost::system::error_code ec;
        fs::remove(tmp, ec);
        throw Error("cannot write cache " + path_ + " over its segments in " + parts_ + ": " + e.getDetailMsg() +
                    " (is the disk full? the segments are kept: re-run the same command)");
    }
    test_hook_die("CVTL_TEST_DIE_IN_COMMIT", 1);
    boost::system::error_code ec;
    fs::rename(parts_, rows, ec);
    if (ec)
        throw Error("cannot move the segments of cache " + path_ + " from " + parts_ + " to " + rows + ": " +
                    ec.message() + " (they are kept: re-run the same command)");
    sync_path(parent_dir(path_));
    test_hook_die("CVTL_TEST_DIE_IN_COMMIT", 2);
    commit_file(tmp, path_);
    rows_dir_ = rows;
    finished_ = true;
}

void CacheWriter::remove_parts() {
    // Renamed first, so that a kill while the segments are deleted never leaves a partial set under
    // the name a re-run would resume from.
    fs::rename(parts_, parts_ + ".old");
    fs::remove_all(parts_ + ".old");
    finished_ = true;
}

std::uint64_t CacheWriter::file_size() const {
    if (finished_ || state_ == State::AlreadyComplete) {
        std::uint64_t bytes = static_cast<std::uint64_t>(fs::file_size(path_));
        if (!rows_dir_.empty())
            for (fs::directory_iterator it(rows_dir_), end; it != end; ++it)
                bytes += static_cast<std::uint64_t>(fs::file_size(it->path()));
        return bytes;
    }
    std::uint64_t bytes = open_ ? open_->size() : 0;
    for (std::int64_t i = 0; i < sealed_segments_; ++i)
        bytes += static_cast<std::uint64_t>(fs::file_size(segment_name(i)));
    return bytes;
}

}  // namespace cvtl
