#include "pipeline/cache/cache_reader.hpp"
#include "pipeline/core/shape.hpp"

#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/dtype.hpp"
#include "pipeline/cache/h5_helpers.hpp"
#include "pipeline/core/error.hpp"

#include <utility>

namespace cvtl {

CacheReader::CacheReader(const std::string& path, const std::string& tap)
    : CacheReader(read_cache_info(path), tap, H5::FileAccPropList::DEFAULT) {}

CacheReader::CacheReader(const std::string& path, const std::string& tap, const H5::FileAccPropList& access)
    : CacheReader(read_cache_info(path, access), tap, access) {}

CacheReader::CacheReader(CacheInfo info, const std::string& tap, const H5::FileAccPropList& access)
    : info_(std::move(info)), tap_(tap) {
    const std::string& path = info_.path;
    require_row_files(info_);
    if (!info_.complete)
        throw Error("cache " + path + " is unfinished (" + std::to_string(info_.consumed) + " of " +
                    std::to_string(info_.dataset_size) + " images); run the same extraction again to complete it");
    const CacheTapInfo* found = nullptr;
    std::string names;
    for (const auto& t : info_.taps) {
        names += (names.empty() ? "" : ",") + t.name;
        if (t.name == tap) found = &t;
    }
    if (!found)
        throw Error("cache " + path + " has no tap '" + tap + "' (it has " + names + "); extract it with {taps} " +
                    names + "," + tap + " into a new cache");
    if (info_.rows == 0) throw Error("cache " + path + " holds no samples");
    for (size_t i = 1; i < found->dims.size(); ++i) sample_shape_.push_back(static_cast<int>(found->dims[i]));
    chunk_rows_ = static_cast<std::int64_t>(found->chunk[0]);
    half_ = found->dtype == Dtype::f16;

    try {
        h5_.open([&] {
            H5::H5File file(path, H5F_ACC_RDONLY, H5::FileCreatPropList::DEFAULT, access);
            H5::DataSet data = file.openDataSet(cache::tap_path(cache::kTapsGroup, tap));
            H5::DataSet views =
                info_.version >= 2 ? file.openDataSet(cache::tap_path(cache::kViewTapsGroup, tap)) : H5::DataSet();
            return Open{file, data, views};
        });
        const auto h5 = h5_.access();
        labels_.resize(static_cast<size_t>(info_.rows));
        splits_.resize(static_cast<size_t>(info_.rows));
        auto read_first_rows = [&](const char* name, const H5::DataType& type, void* out) {
            H5::DataSet ds = h5->file.openDataSet(name);
            H5::DataSpace space = ds.getSpace();
            hsize_t start = 0, count = static_cast<hsize_t>(info_.rows);
            space.selectHyperslab(H5S_SELECT_SET, &count, &start);
            H5::DataSpace memory(1, &count);
            ds.read(out, type, memory, space);
        };
        read_first_rows(cache::kSamplesLabel, H5::PredType::NATIVE_INT32, labels_.data());
        read_first_rows(cache::kSamplesSplit, H5::PredType::NATIVE_UINT8, splits_.data());
        read_view_index();
    } catch (const H5::Exception& e) {
        throw Error("cache " + path + " cannot be read: " + e.getDetailMsg());
    }
    for (std::int32_t l : labels_)
        if (l < 0 || static_cast<size_t>(l) >= info_.classes.size())
            throw Error("cache " + path + " has a label " + std::to_string(l) + " outside its " +
                        std::to_string(info_.classes.size()) + " classes");
}

size_t CacheReader::sample_values() const { return shape_count(sample_shape_); }

// Which view rows belong to which row. /views/sample is read from the file: it must be in row order,
// in range, and give a row no more than K-1 views, or training would read past what it owns.
void CacheReader::read_view_index() {
    if (info_.view_rows == 0) return;
    const auto h5 = h5_.access();
    std::vector<std::int64_t> sample(static_cast<size_t>(info_.view_rows));
    H5::DataSet ds = h5->file.openDataSet(cache::kViewsSample);
    H5::DataSpace space = ds.getSpace();
    hsize_t start = 0, count = sample.size();
    space.selectHyperslab(H5S_SELECT_SET, &count, &start);
    ds.read(sample.data(), H5::PredType::NATIVE_INT64, H5::DataSpace(1, &count), space);
    view_first_.assign(static_cast<size_t>(info_.rows), 0);
    view_count_.assign(static_cast<size_t>(info_.rows), 0);
    for (size_t j = 0; j < sample.size(); ++j) {
        const std::int64_t r = sample[j];
        if (r < 0 || r >= info_.rows || (j > 0 && r < sample[j - 1]))
            throw Error("cache " + info_.path + ": /views/sample is out of order or out of range at view row " +
                        std::to_string(j) + "; the file is damaged: extract it again ({force})");
        auto& n = view_count_[static_cast<size_t>(r)];
        if (n == 0) view_first_[static_cast<size_t>(r)] = static_cast<std::int64_t>(j);
        if (++n > info_.views - 1)
            throw Error("cache " + info_.path + ": row " + std::to_string(r) + " has more views than the " +
                        std::to_string(info_.views) + " recorded; the file is damaged: extract it again ({force})");
    }
}

cv::Mat CacheReader::read_rows(std::int64_t begin, std::int64_t count) {
    return read_from(false, memory_, begin, count);
}

cv::Mat CacheReader::read_view_rows(std::int64_t begin, std::int64_t count) {
    if (begin < 0 || count < 0 || begin + count > info_.view_rows)
        throw Error("cache " + info_.path + ": view rows out of range");
    return read_from(true, view_memory_, begin, count);
}

cv::Mat CacheReader::read_from(bool views, const cv::Mat& memory, std::int64_t begin, std::int64_t count) {
    std::vector<int> shape{static_cast<int>(count)};
    shape.insert(shape.end(), sample_shape_.begin(), sample_shape_.end());
    cv::Mat out(shape, CV_32F);
    if (count == 0) return out;
    if (!memory.empty()) {
        memory.rowRange(static_cast<int>(begin), static_cast<int>(begin + count))
            .copyTo(cv::Mat(static_cast<int>(count), memory.cols, CV_32F, out.data));
        return out;
    }
    try {
        const auto h5 = h5_.access();
        const H5::DataSet& data = views ? h5->views : h5->data;
        H5::DataSpace space = data.getSpace();
        std::vector<hsize_t> start(shape.size(), 0), counts(shape.begin(), shape.end());
        start[0] = static_cast<hsize_t>(begin);
        space.selectHyperslab(H5S_SELECT_SET, counts.data(), start.data());
        H5::DataSpace mem(static_cast<int>(counts.size()), counts.data());
        if (half_) {
            cv::Mat halves(shape, CV_16F);
            data.read(halves.data, h5::float16(), mem, space);
            halves.convertTo(out, CV_32F);
        } else {
            data.read(out.data, H5::PredType::NATIVE_FLOAT, mem, space);
        }
    } catch (const H5::Exception& e) {
        throw Error("cache " + info_.path + ": cannot read " + (views ? "view rows " : "rows ") +
                    std::to_string(begin) + ".." + std::to_string(begin + count) + " of tap " + tap_ + ": " +
                    e.getDetailMsg() + " (truncated or damaged file?)");
    }
    return out;
}

void CacheReader::hold_in_memory() {
    if (!memory_.empty()) return;
    const cv::Mat all = read_rows(0, info_.rows);
    memory_ = all.reshape(1, static_cast<int>(info_.rows)).clone();
    if (info_.view_rows > 0)
        view_memory_ = read_view_rows(0, info_.view_rows).reshape(1, static_cast<int>(info_.view_rows)).clone();
}

}  // namespace cvtl
