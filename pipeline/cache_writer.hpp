#pragma once
#include "pipeline/preprocess.hpp"

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
    Preprocessing preprocess;
    std::vector<TapLayout> taps;
    std::string dtype = "f32";        // storage type of the taps: f32 or f16
    std::string precision = "f32";    // arithmetic the network ran in: f32 or bf16
    bool compress = false;            // shuffle + deflate
    std::string dataset;
    std::string dataset_fingerprint;
    std::int64_t dataset_size = 0;
    std::vector<std::string> classes;
    double val_fraction = 0.1;
    std::uint32_t seed = 0;
};

// One batch of extracted rows, in dataset order.
struct CacheRows {
    std::vector<std::string> paths;
    std::vector<std::int32_t> labels;
    std::vector<std::uint8_t> splits;
    std::vector<cv::Mat> taps;        // per CacheConfig::taps entry: float32 [rows, ...] continuous
    std::vector<std::string> skipped_paths;
    std::vector<std::string> skipped_reasons;
    std::int64_t inputs = 0;          // dataset entries covered: rows + skipped
};

// Appends batches to an HDF5 activation cache. Progress is committed only after the rows it
// counts are flushed, so a killed extraction resumes from its last committed batch and produces
// the same content as an uninterrupted run.
class CacheWriter {
public:
    enum class State { Created, Resumed, AlreadyComplete };

    // Creates `path`, or reopens an unfinished cache made with an identical config (truncating rows
    // written after the last commit). `overwrite` replaces any existing file. Throws cvtl::Error
    // when the existing file is another model's or preprocessing's cache, or is not a cache.
    CacheWriter(const std::string& path, const CacheConfig& config, bool overwrite);
    ~CacheWriter();
    CacheWriter(const CacheWriter&) = delete;
    CacheWriter& operator=(const CacheWriter&) = delete;

    State state() const { return state_; }
    std::int64_t done() const { return done_; }            // rows committed
    std::int64_t next_input() const { return next_input_; } // dataset entries consumed
    std::int64_t skipped() const { return skipped_; }

    void append(const CacheRows& rows);
    void finish();                     // marks the cache complete
    std::uint64_t file_size() const;

private:
    void create(const CacheConfig& config);
    void reopen(const CacheConfig& config);
    void commit_progress();
    void salvage(const CacheConfig& config);

    std::string path_;
    bool salvaged_ = false;
    H5::H5File file_;
    std::vector<H5::DataSet> taps_;
    std::vector<std::string> tap_names_;   // for messages
    bool half_ = false;
    State state_ = State::Created;
    std::int64_t done_ = 0, next_input_ = 0, skipped_ = 0;
};

}  // namespace cvtl
