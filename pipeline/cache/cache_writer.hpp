#pragma once
#include "pipeline/cache/dtype.hpp"
#include "pipeline/data/file_stamp.hpp"
#include "pipeline/data/preprocess.hpp"

#include <opencv2/core.hpp>

#include <H5Cpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cvtl {

// Where a tap comes from and the shape of one sample's activation: [C, H, W] or [D].
struct TapLayout {
    std::string name;
    std::string layer;
    std::vector<int> shape;
};

// Everything that binds a cache to what produced it; a cache is resumed only by an identical one.
struct CacheConfig {
    std::string model_sha256;
    std::string model_file;
    std::string model_weights;  // Caffe: the .caffemodel; empty for ONNX
    Preprocessing preprocess;
    std::vector<TapLayout> taps;
    Dtype dtype = Dtype::f32;       // storage type of the taps (recorded by its name, dtype.hpp)
    std::string precision = "f32";  // arithmetic the network ran in: f32 or bf16
    bool compress = false;          // shuffle + deflate
    std::string dataset;
    std::string dataset_fingerprint;
    std::int64_t dataset_size = 0;
    std::vector<std::string> classes;
    double val_fraction = 0.1;
    double test_fraction = 0;
    std::uint32_t seed = 0;        // of the split and of the views
    int views = 1;                 // K: views per training row, view 0 the plain image
    std::string augment = "none";  // the canonical SPEC of views 1..K-1
    std::string shard;             // a shard of a sharded extraction: its ShardRecord as JSON; "" otherwise
};

// One batch of extracted rows, in dataset order.
struct CacheRows {
    std::vector<std::string> paths;
    std::vector<std::int32_t> labels;
    std::vector<std::uint8_t> splits;
    std::vector<cv::Mat> taps;      // per CacheConfig::taps entry: float32 [rows, ...] continuous
    std::vector<FileStamp> stamps;  // per row
    // Augmented views, in row order: view row j is view view_index[j] of row view_of[j] of this batch.
    std::vector<std::int64_t> view_of;
    std::vector<std::uint8_t> view_index;
    std::vector<cv::Mat> view_taps;  // per tap: float32 [view rows, ...] continuous
    std::vector<std::string> skipped_paths;
    std::vector<std::string> skipped_reasons;
    std::int64_t inputs = 0;  // dataset entries covered: rows + skipped
};

class CacheFile;
struct CacheProgress;

// Writes an HDF5 activation cache so that a kill at any moment loses at most the last segment's
// rows and never damages committed ones (docs/reliability.md, "Crash-consistent extraction").
// Rows go to segment files in PATH.parts/, each written under a temporary name, sealed (flushed,
// fsynced) and renamed into place after about kSegmentSeconds or kSegmentBytes; renames are atomic,
// so every segment under its final name is whole. A re-run resumes after the sealed segments.
// finish() makes PATH, and a reader never sees a half-written cache: an existing cache at PATH stays
// until its replacement is complete, then is replaced by a rename.
// - One segment is renamed to PATH itself.
// - Several are mapped (Assembly::map): PATH.parts becomes PATH.rows-XXXXXXXX (cache_rows.hpp) and
//   PATH is a small file of HDF5 virtual datasets over its segments (cache_map.hpp), so no row is
//   written twice and the disk never holds two copies.
// - Or copied (Assembly::copy) into one self-contained PATH: a shard (merged by mapping in turn) or
//   --single-file.
class CacheWriter {
public:
    enum class State { Created, Resumed, AlreadyComplete };
    enum class Assembly { map, copy };
    static constexpr double kSegmentSeconds = 30;
    // 30 s bounds the work a kill loses. The byte bound only caps a segment's size: at 1 GiB, a job
    // under 30 s writes one segment, which finish() renames instead of copying.
    static constexpr std::uint64_t kSegmentBytes = 1ull << 30;
    // A segment also covers at least 1/kSegmentShare of the entries sealed before it. So a job of
    // any length makes a few hundred segments at most (about 64 (1 + ln(T / 32 min)) for a job of T:
    // 308 for a day, 438 for a week), which a mapped cache's reader can keep open under the usual
    // limit of 1,024 files (open_files.hpp); a kill loses at most 30 s or 1/64 of the work done.
    static constexpr std::int64_t kSegmentShare = 64;

    // Prepares `path`: resumes the segments of an unfinished run made with an identical config,
    // reports a complete cache of an identical config as AlreadyComplete, or starts afresh.
    // `overwrite` discards unfinished segments and replaces the file at `path` when finished.
    // Throws cvtl::Error when the existing cache or segments were made differently, or are not a
    // cache.
    CacheWriter(const std::string& path, const CacheConfig& config, bool overwrite, Assembly assembly = Assembly::map);
    ~CacheWriter();  // seals the open segment, so rows appended before an error are kept
    CacheWriter(const CacheWriter&) = delete;
    CacheWriter& operator=(const CacheWriter&) = delete;

    State state() const { return state_; }
    std::int64_t done() const { return done_; }              // rows appended (sealed or not)
    std::int64_t next_input() const { return next_input_; }  // dataset entries consumed
    std::int64_t skipped() const { return skipped_; }
    std::int64_t segments() const { return sealed_segments_; }  // sealed so far (after finish: all)
    // After finish(): where a mapped cache's rows stay, "" when PATH holds them all.
    const std::string& rows_dir() const { return rows_dir_; }
    void append(const CacheRows& rows);
    void finish();                    // seals, and makes PATH from the segments (above)
    std::uint64_t file_size() const;  // bytes on disk: the segments, or PATH (and its rows) once finished

private:
    bool complete_here();
    void resume_segments();
    void adopt_unfinished_file(const CacheProgress& checked);
    void seal();
    void copy_segments();
    void map_segments();
    void remove_parts();
    void check_half_range(const CacheRows& rows) const;
    std::string segment_name(std::int64_t index) const;

    std::string path_, parts_, rows_dir_;
    Assembly assembly_;
    CacheConfig config_;
    std::unique_ptr<CacheFile> open_;  // the segment being written, under its .tmp name
    double open_since_ = 0;            // steady-clock seconds when it was opened
    std::int64_t sealed_segments_ = 0;
    std::int64_t segment_rows_limit_ = 0;       // test hook: rows per segment (0: by time and size)
    double segment_seconds_ = kSegmentSeconds;  // test hook: CVTL_TEST_SEGMENT_SECONDS
    bool finished_ = false;
    State state_ = State::Created;
    std::int64_t done_ = 0, next_input_ = 0, skipped_ = 0;
};

}  // namespace cvtl
