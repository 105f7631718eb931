#include "pipeline/cache/cache_reader.hpp"

#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/h5_helpers.hpp"
#include "plugin/error.hpp"

#include <utility>

namespace cvtl {

CacheReader::CacheReader(const std::string& path, const std::string& tap) : CacheReader(read_cache_info(path), tap, H5::FileAccPropList::DEFAULT) {}

CacheReader::CacheReader(const std::string& path, const std::string& tap, const H5::FileAccPropList& access)
    : CacheReader(read_cache_info(path, access), tap, access) {}

CacheReader::CacheReader(CacheInfo info, const std::string& tap, const H5::FileAccPropList& access) : info_(std::move(info)), tap_(tap) {
    const std::string& path = info_.path;
    if (!info_.complete)
        throw Error("cache " + path + " is unfinished (" + std::to_string(info_.consumed) + " of " +
                    std::to_string(info_.dataset_size) + " images); re-run the same cvtl extract command to complete it");
    const CacheTapInfo* found = nullptr;
    std::string names;
    for (const auto& t : info_.taps) {
        names += (names.empty() ? "" : ",") + t.name;
        if (t.name == tap) found = &t;
    }
    if (!found)
        throw Error("cache " + path + " has no tap '" + tap + "' (it has " + names + "); extract it with {taps} " + names + "," + tap +
                    " into a new cache");
    if (info_.rows == 0) throw Error("cache " + path + " holds no samples");
    for (size_t i = 1; i < found->dims.size(); ++i) sample_shape_.push_back(static_cast<int>(found->dims[i]));
    chunk_rows_ = static_cast<std::int64_t>(found->chunk[0]);
    half_ = found->dtype == "f16";

    try {
        h5_.open([&] {
            H5::H5File file(path, H5F_ACC_RDONLY, H5::FileCreatPropList::DEFAULT, access);
            H5::DataSet data = file.openDataSet(std::string(cache::kTapsGroup) + "/" + tap);
            return Open{file, data};
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
    } catch (const H5::Exception& e) {
        throw Error("cache " + path + " cannot be read: " + e.getDetailMsg());
    }
    for (std::int32_t l : labels_)
        if (l < 0 || static_cast<size_t>(l) >= info_.classes.size())
            throw Error("cache " + path + " has a label " + std::to_string(l) + " outside its " + std::to_string(info_.classes.size()) + " classes");
}

size_t CacheReader::sample_values() const {
    size_t n = 1;
    for (int d : sample_shape_) n *= static_cast<size_t>(d);
    return n;
}

cv::Mat CacheReader::read_rows(std::int64_t begin, std::int64_t count) {
    std::vector<int> shape{static_cast<int>(count)};
    shape.insert(shape.end(), sample_shape_.begin(), sample_shape_.end());
    cv::Mat out(shape, CV_32F);
    if (count == 0) return out;
    if (!memory_.empty()) {
        memory_.rowRange(static_cast<int>(begin), static_cast<int>(begin + count)).copyTo(cv::Mat(static_cast<int>(count), memory_.cols, CV_32F, out.data));
        return out;
    }
    try {
        const auto h5 = h5_.access();
        H5::DataSpace space = h5->data.getSpace();
        std::vector<hsize_t> start(shape.size(), 0), counts(shape.begin(), shape.end());
        start[0] = static_cast<hsize_t>(begin);
        space.selectHyperslab(H5S_SELECT_SET, counts.data(), start.data());
        H5::DataSpace memory(static_cast<int>(counts.size()), counts.data());
        if (half_) {
            cv::Mat halves(shape, CV_16F);
            h5->data.read(halves.data, h5::float16(), memory, space);
            halves.convertTo(out, CV_32F);
        } else {
            h5->data.read(out.data, H5::PredType::NATIVE_FLOAT, memory, space);
        }
    } catch (const H5::Exception& e) {
        throw Error("cache " + info_.path + ": cannot read rows " + std::to_string(begin) + ".." + std::to_string(begin + count) +
                    " of tap " + tap_ + ": " + e.getDetailMsg() + " (truncated or damaged file?)");
    }
    return out;
}

void CacheReader::hold_in_memory() {
    if (!memory_.empty()) return;
    const cv::Mat all = read_rows(0, info_.rows);
    memory_ = all.reshape(1, static_cast<int>(info_.rows)).clone();
}

}  // namespace cvtl
