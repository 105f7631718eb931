#include "support/reference.hpp"

#include "pipeline/cache/h5_helpers.hpp"

#include <doctest/doctest.h>

#include <H5Cpp.h>

namespace cvtl::test {

cv::Mat read_tensor(const std::string& file, const std::string& dataset) {
    H5::H5File f(file, H5F_ACC_RDONLY);
    H5::DataSet ds = f.openDataSet(dataset);
    H5::DataSpace space = ds.getSpace();
    std::vector<hsize_t> dims(static_cast<size_t>(space.getSimpleExtentNdims()));
    space.getSimpleExtentDims(dims.data());
    std::vector<int> shape(dims.begin(), dims.end());
    cv::Mat out(shape, CV_32F);
    if (out.total() > 0) ds.read(out.ptr<float>(), H5::PredType::NATIVE_FLOAT);
    return out;
}

std::string read_root_string(const std::string& file, const std::string& name) {
    H5::H5File f(file, H5F_ACC_RDONLY);
    return h5::get_string(f, name);
}

std::vector<std::string> read_string_list(const std::string& file, const std::string& dataset) {
    H5::H5File f(file, H5F_ACC_RDONLY);
    return h5::read_strings(f.openDataSet(dataset));
}

Diff diff(const cv::Mat& a, const cv::Mat& b) {
    REQUIRE(a.total() == b.total());
    REQUIRE(a.type() == CV_32F);
    REQUIRE(b.type() == CV_32F);
    Diff d;
    const float* pa = a.ptr<float>();
    const float* pb = b.ptr<float>();
    for (size_t i = 0; i < a.total(); ++i) {
        const double e = std::abs(static_cast<double>(pa[i]) - pb[i]);
        d.max_abs = std::max(d.max_abs, e);
        d.mean_abs += e;
    }
    if (a.total()) d.mean_abs /= static_cast<double>(a.total());
    return d;
}

}  // namespace cvtl::test
