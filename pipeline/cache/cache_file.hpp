#pragma once
#include "pipeline/core/atomic_file.hpp"  // sync_path: a sealed file is made durable before it is renamed
// One HDF5 cache file, written start to finish by one writer: created empty, appended to, sealed.
// CacheWriter only ever writes such a file under a temporary name and renames it once sealed, so
// a kill can lose an unsealed file but never leaves a damaged one under a final name.
#include "pipeline/cache/cache_writer.hpp"
#include "pipeline/cache/h5_handle.hpp"

#include <H5Cpp.h>

#include <cstdint>
#include <string>

namespace cvtl {

// A cache file's progress counters as its /progress group records them.
struct CacheProgress {
    std::int64_t rows = 0;     // rows in /samples and /taps
    std::int64_t inputs = 0;   // dataset entries covered (rows + skipped)
    std::int64_t skipped = 0;  // rows in /skipped
    std::int64_t views = 0;    // rows in /views
    bool complete = false;
};

class CacheFile {
public:
    // Creates (truncates) `path` with the cache layout for `config`.
    CacheFile(const std::string& path, const CacheConfig& config);
    CacheFile(const CacheFile&) = delete;
    CacheFile& operator=(const CacheFile&) = delete;

    // Writes a batch after the rows already there and records the new counters; values must already
    // fit the storage type (CacheWriter checks float16's range).
    void append(const CacheRows& rows);
    // Marks the file complete, closes it and makes it durable (fsync).
    void seal();

    const CacheProgress& progress() const { return progress_; }
    std::uint64_t size() const;                             // before seal()
    std::uint64_t tap_bytes() const { return tap_bytes_; }  // tap data appended so far

private:
    struct Open {
        H5::H5File file;
        std::vector<H5::DataSet> taps, view_taps;
    };
    void create_layout(const CacheConfig& config);
    void commit_progress();
    void write_taps(std::vector<H5::DataSet>& datasets, const std::vector<cv::Mat>& taps, hsize_t at, hsize_t n);
    void write_stamps(H5::H5File& file, const CacheRows& rows, hsize_t at);
    void write_views(Open& h5, const CacheRows& rows);

    std::string path_;
    h5::Handle<Open> h5_;
    bool half_ = false;
    CacheProgress progress_;
    std::uint64_t tap_bytes_ = 0;
};

// Checks that the cache file at `path` was made with `config` (model, preprocessing, taps, storage,
// dataset) and returns its counters, each checked against the rows the file stores. Throws
// cvtl::Error ending in `fix` when it is not a cvtl cache or was made differently.
CacheProgress check_cache_file(const std::string& path, const CacheConfig& config, const std::string& fix);

// Reads rows of a sealed or checked cache file (made with `config`, counted by `progress`) with their
// stamps and views, in blocks, for copying into another CacheFile.
class RowSource {
public:
    RowSource(const std::string& path, const CacheConfig& config, const CacheProgress& progress);
    const std::vector<std::string>& paths() const { return paths_; }
    CacheRows read(std::int64_t begin, std::int64_t n) const;  // rows [begin, begin + n), inputs = n
    CacheRows skipped() const;                                 // no rows: the skipped entries only
    // Every row's label, split and stamp (no taps): what an update compares with the dataset.
    void read_index(std::vector<std::int32_t>& labels, std::vector<std::uint8_t>& splits,
                    std::vector<FileStamp>& stamps) const;
    std::int64_t block_rows() const;  // rows per read of about 64 MiB

private:
    std::string path_;
    CacheConfig config_;
    CacheProgress progress_;
    std::vector<std::string> paths_, hashes_;
    std::vector<std::int64_t> view_rows_;  // /views/sample
    h5::File h5_;
};

// Copies the first `progress.rows` rows and `progress.skipped` skipped entries of the cache file at
// `from` (made with `config`) to the end of `out`, in blocks of bounded memory, counting
// `progress.inputs` dataset entries.
void copy_rows(const std::string& from, const CacheConfig& config, const CacheProgress& progress, CacheFile& out);

struct CacheInfo;
// The configuration the cache described by `info` records (a shard's: its own range and
// fingerprint), so that its rows can be checked and copied as a writer of that configuration would.
CacheConfig recorded_config(const CacheInfo& info);

// The root attributes (complete = 0) and /classes of a cache made with `config`.
void write_cache_header(H5::H5File& file, const CacheConfig& config);

}  // namespace cvtl
