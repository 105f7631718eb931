#pragma once
// Reads a complete activation cache for training: labels, splits and rows of one tap.
#include "pipeline/cache/cache_info.hpp"
#include "pipeline/cache/h5_handle.hpp"

#include <opencv2/core.hpp>

#include <H5Cpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cvtl {

class CacheReader {
public:
    // Opens `path` for `tap`. Throws cvtl::Error naming the file when it is not a complete cvtl
    // cache or lacks the tap (listing the taps it has and how to add one).
    CacheReader(const std::string& path, const std::string& tap);
    // The same through any HDF5 file driver (e.g. an in-memory image).
    CacheReader(const std::string& path, const std::string& tap, const H5::FileAccPropList& access);

    const CacheInfo& info() const { return info_; }
    const std::string& path() const { return info_.path; }
    const std::string& tap() const { return tap_; }
    const std::vector<int>& sample_shape() const { return sample_shape_; }  // [C, H, W] or [D]
    size_t sample_values() const;
    std::int64_t rows() const { return info_.rows; }
    std::int64_t rows_per_chunk() const { return chunk_rows_; }
    const std::vector<std::int32_t>& labels() const { return labels_; }
    const std::vector<std::uint8_t>& splits() const { return splits_; }

    // Rows [begin, begin + count) as float32 [count, sample...]; float16 caches are widened.
    // Thread-safe with respect to other HDF5 users (its file lives in an h5::Handle).
    cv::Mat read_rows(std::int64_t begin, std::int64_t count);

    // Augmented views (format version 2): view 0 of a row is read_rows; its views 1..view_count(row)
    // are view rows view_first(row) .. view_first(row) + view_count(row) - 1.
    int views() const { return info_.views; }
    int view_count(std::int64_t row) const { return view_count_.empty() ? 0 : view_count_[static_cast<size_t>(row)]; }
    std::int64_t view_first(std::int64_t row) const {
        return view_first_.empty() ? 0 : view_first_[static_cast<size_t>(row)];
    }
    cv::Mat read_view_rows(std::int64_t begin, std::int64_t count);

    // Reads the whole tap once and serves read_rows from memory afterwards: the sweep trains many
    // candidates on one tap and should not go back to the file for each of them.
    void hold_in_memory();
    bool in_memory() const { return !memory_.empty(); }
    std::size_t bytes() const {
        return static_cast<std::size_t>(info_.rows + info_.view_rows) * sample_values() * sizeof(float);
    }

private:
    CacheReader(CacheInfo info, const std::string& tap, const H5::FileAccPropList& access);
    void read_view_index();
    cv::Mat read_from(bool views, const cv::Mat& memory, std::int64_t begin, std::int64_t count);

    cv::Mat memory_;       // [rows, sample values] once hold_in_memory() ran
    cv::Mat view_memory_;  // [view rows, sample values] likewise
    std::vector<std::int64_t> view_first_;
    std::vector<int> view_count_;
    CacheInfo info_;
    std::string tap_;
    std::vector<int> sample_shape_;
    std::int64_t chunk_rows_ = 1;
    bool half_ = false;
    std::vector<std::int32_t> labels_;
    std::vector<std::uint8_t> splits_;
    struct Open {
        H5::H5File file;
        H5::DataSet data;   // the tap's rows
        H5::DataSet views;  // its view rows (version 2)
    };
    h5::Handle<Open> h5_;
};

}  // namespace cvtl
