// The cache reader's own checks: the input drives a well-formed HDF5 file whose every cvtl-level
// claim may lie (counters, attribute types and sizes, tap ranks, shapes, storage types, chunking,
// label and split values, JSON records). The file is built in memory with the HDF5 API, then read
// back through the core driver by read_cache_info and CacheReader. The result is a consistent
// CacheInfo and rows of every tap, or a cvtl::Error; never a crash or an allocation the file's own
// size does not justify.
#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/cache_reader.hpp"
#include "pipeline/cache/h5_helpers.hpp"
#include "pipeline/data/preprocess.hpp"
#include "pipeline/core/error.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <H5Cpp.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

using cvtl::h5::vlen_string;

// A number that is usually plausible and sometimes hostile.
std::int64_t counter(FuzzedDataProvider& in) {
    switch (in.ConsumeIntegralInRange<int>(0, 5)) {
        case 0:
            return in.ConsumeIntegral<std::int64_t>();
        case 1:
            return -in.ConsumeIntegralInRange<std::int64_t>(1, 5);
        default:
            return in.ConsumeIntegralInRange<std::int64_t>(0, 12);
    }
}

// An integer attribute that may be stored as an array or as a string instead.
void int_attribute(H5::H5Object& obj, const char* name, FuzzedDataProvider& in) {
    const int form = in.ConsumeIntegralInRange<int>(0, 9);
    if (form == 0) {
        cvtl::h5::set_string(obj, name, in.ConsumeRandomLengthString(16));
    } else if (form == 1) {
        const hsize_t n = in.ConsumeIntegralInRange<hsize_t>(0, 64);
        std::vector<std::int64_t> values(n, counter(in));
        H5::Attribute a = obj.createAttribute(name, H5::PredType::STD_I64LE, H5::DataSpace(1, &n));
        if (n) a.write(H5::PredType::NATIVE_INT64, values.data());
    } else if (form != 2) {  // form 2: missing
        cvtl::h5::set_int(obj, name, counter(in));
    }
}

void string_dataset(H5::Group& g, const char* name, hsize_t rows, FuzzedDataProvider& in) {
    H5::DataSet ds = cvtl::h5::create_growing_1d(g, name, vlen_string(), 4);
    std::vector<std::string> values;
    for (hsize_t i = 0; i < rows; ++i) values.push_back(in.ConsumeRandomLengthString(12));
    cvtl::h5::write_strings(ds, 0, values);
}

template <typename T>
void number_dataset(H5::Group& g, const char* name, const H5::PredType& stored, const H5::PredType& memory,
                    hsize_t rows, FuzzedDataProvider& in) {
    H5::DataSet ds = cvtl::h5::create_growing_1d(g, name, stored, 8);
    std::vector<T> values;
    for (hsize_t i = 0; i < rows; ++i)
        values.push_back(in.ConsumeIntegralInRange<T>(static_cast<T>(-2), static_cast<T>(5)));
    cvtl::h5::write_rows(ds, 0, rows, memory, values.data());
}

// One tap: rank, extent, chunking and storage type all from the input; a few rows written.
void tap_dataset(H5::Group& taps, const std::string& name, FuzzedDataProvider& in) {
    const int rank = in.ConsumeIntegralInRange<int>(1, 5);
    std::vector<hsize_t> dims(static_cast<size_t>(rank)), maxdims(static_cast<size_t>(rank)),
        chunk(static_cast<size_t>(rank));
    for (int i = 0; i < rank; ++i) {
        const bool huge = in.ConsumeIntegralInRange<int>(0, 15) == 0;
        dims[static_cast<size_t>(i)] =
            huge ? in.ConsumeIntegralInRange<hsize_t>(1, hsize_t{1} << 40) : in.ConsumeIntegralInRange<hsize_t>(0, 4);
        maxdims[static_cast<size_t>(i)] = i == 0 ? H5S_UNLIMITED : dims[static_cast<size_t>(i)];
        chunk[static_cast<size_t>(i)] = std::max<hsize_t>(1, std::min<hsize_t>(dims[static_cast<size_t>(i)], 4));
    }
    const H5::PredType* types[] = {&H5::PredType::IEEE_F32LE, &H5::PredType::IEEE_F64LE, &H5::PredType::STD_I32LE,
                                   &H5::PredType::IEEE_F32BE};
    const bool half = in.ConsumeBool();
    const H5::DataType& type = half ? static_cast<const H5::DataType&>(cvtl::h5::float16())
                                    : static_cast<const H5::DataType&>(*types[in.ConsumeIntegralInRange<int>(0, 3)]);
    H5::DSetCreatPropList props;
    if (in.ConsumeIntegralInRange<int>(0, 7) != 0)
        props.setChunk(rank, chunk.data());
    else
        maxdims = dims;  // contiguous datasets cannot grow
    H5::DataSet ds = taps.createDataSet(name, type, H5::DataSpace(rank, dims.data(), maxdims.data()), props);
    hsize_t values = 1;
    for (hsize_t d : dims) values = std::min<hsize_t>(values * d, hsize_t{1} << 20);
    if (values > 0 && values <= 4096) {
        std::vector<float> data(values);
        for (float& v : data) v = in.ConsumeFloatingPoint<float>();
        ds.write(data.data(), H5::PredType::NATIVE_FLOAT);
    }
}

void root_attributes(H5::H5File& file, FuzzedDataProvider& in, const std::vector<std::string>& tap_names) {
    namespace c = cvtl::cache;
    cvtl::h5::set_string(file, c::kAttrFormat, in.ConsumeIntegralInRange<int>(0, 15) ? c::kFormat : "other");
    if (in.ConsumeIntegralInRange<int>(0, 15))
        cvtl::h5::set_int(file, c::kAttrVersion, c::kVersion);
    else
        int_attribute(file, c::kAttrVersion, in);
    int_attribute(file, c::kAttrDatasetSize, in);
    int_attribute(file, c::kAttrComplete, in);
    nlohmann::json pre = cvtl::make_preprocessing(cvtl::Preset::torchvision, 32).to_json();
    if (in.ConsumeIntegralInRange<int>(0, 7) == 0) pre["size"] = in.ConsumeIntegral<std::int64_t>();
    if (in.ConsumeIntegralInRange<int>(0, 7) == 0) pre["std"] = {in.ConsumeFloatingPoint<double>(), 1, 1};
    cvtl::h5::set_string(file, c::kAttrPreprocess,
                         in.ConsumeIntegralInRange<int>(0, 15) ? pre.dump() : in.ConsumeRandomLengthString(40));
    nlohmann::json taps = nlohmann::json::array();
    for (const auto& name : tap_names) taps.push_back({{"name", name}, {"layer", "l"}});
    if (in.ConsumeIntegralInRange<int>(0, 15) == 0) taps.push_back({{"name", in.ConsumeRandomLengthString(8)}});
    // Names from the input may not be UTF-8; the file stores whatever bytes they are.
    const std::string listed = taps.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    cvtl::h5::set_string(file, c::kAttrTaps,
                         in.ConsumeIntegralInRange<int>(0, 15) ? listed : in.ConsumeRandomLengthString(40));
    for (const char* s : {c::kAttrModelFile, c::kAttrModelSha256, c::kAttrDtype})
        if (in.ConsumeIntegralInRange<int>(0, 15))
            cvtl::h5::set_string(file, s, in.ConsumeRandomLengthString(8));
        else
            int_attribute(file, s, in);
}

// Builds the file in memory and returns its image.
std::vector<char> build_file(FuzzedDataProvider& in) {
    H5::FileAccPropList access;
    access.setCore(1 << 16, false);
    H5::H5File file("build.h5", H5F_ACC_TRUNC, H5::FileCreatPropList::DEFAULT, access);
    std::vector<std::string> tap_names;
    for (int i = in.ConsumeIntegralInRange<int>(0, 3); i > 0; --i) tap_names.push_back("t" + std::to_string(i));
    root_attributes(file, in, tap_names);
    H5::Group progress = file.createGroup(cvtl::cache::kProgress);
    for (const char* name : {cvtl::cache::kAttrDone, cvtl::cache::kAttrNextInput, cvtl::cache::kAttrSkipped})
        int_attribute(progress, name, in);
    const hsize_t rows = in.ConsumeIntegralInRange<hsize_t>(0, 8);
    H5::Group samples = file.createGroup("/samples"), skipped = file.createGroup("/skipped"),
              root = file.openGroup("/");
    number_dataset<std::int32_t>(samples, "label", H5::PredType::STD_I32LE, H5::PredType::NATIVE_INT32, rows, in);
    number_dataset<std::int8_t>(samples, "split", H5::PredType::STD_U8LE, H5::PredType::NATIVE_INT8, rows, in);
    string_dataset(samples, "path", in.ConsumeIntegralInRange<hsize_t>(0, 8), in);
    string_dataset(root, "classes", in.ConsumeIntegralInRange<hsize_t>(0, 4), in);
    string_dataset(skipped, "path", in.ConsumeIntegralInRange<hsize_t>(0, 3), in);
    string_dataset(skipped, "reason", in.ConsumeIntegralInRange<hsize_t>(0, 3), in);
    H5::Group taps = file.createGroup(cvtl::cache::kTapsGroup);
    for (const auto& name : tap_names) tap_dataset(taps, name, in);
    file.flush(H5F_SCOPE_GLOBAL);
    const ssize_t size = H5Fget_file_image(file.getId(), nullptr, 0);
    std::vector<char> image(static_cast<size_t>(std::max<ssize_t>(0, size)));
    if (size > 0) H5Fget_file_image(file.getId(), image.data(), image.size());
    return image;
}

void read_back(std::vector<char>& image) {
    H5::FileAccPropList access;
    access.setCore(1 << 16, false);
    H5Pset_file_image(access.getId(), image.data(), image.size());
    const cvtl::CacheInfo info = cvtl::read_cache_info("fuzz.h5", access);
    if (info.counts.size() != info.classes.size() || info.rows < 0 || info.consumed > info.dataset_size) std::abort();
    if (!info.complete) return;
    for (const auto& tap : info.taps) {
        cvtl::CacheReader reader("fuzz.h5", tap.name, access);
        const std::int64_t n = std::min<std::int64_t>(reader.rows(), 4);
        const cv::Mat rows = reader.read_rows(0, n);
        if (rows.size[0] != n || rows.total() != static_cast<size_t>(n) * reader.sample_values()) std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
    cvtl::h5::quiet_errors();
    FuzzedDataProvider in(data, size);
    std::vector<char> image;
    try {
        image = build_file(in);
    } catch (const H5::Exception&) {
        return 0;  // the input described something HDF5 itself refuses to write
    }
    try {
        read_back(image);
    } catch (const cvtl::Error&) {}
    return 0;
}
