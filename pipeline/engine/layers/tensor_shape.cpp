#include "pipeline/engine/layers/tensor_shape.hpp"
#include "pipeline/core/shape.hpp"

#include "pipeline/core/error.hpp"

namespace cvtl {

std::string shape_string(const std::vector<int>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

std::vector<int> mat_shape(const cv::Mat& m) { return std::vector<int>(m.size.p, m.size.p + m.dims); }

int element_count(const std::vector<int>& shape) { return static_cast<int>(shape_count(shape)); }

void check_at_least(int value, int min, const std::string& layer, const std::string& name) {
    if (value < min)
        throw Error(layer + " expects " + name + " >= " + std::to_string(min) + ", found " + std::to_string(value));
}

int batch_size(const cv::Mat& src, const std::vector<int>& sample, const std::string& layer) {
    if (sample.empty()) throw Error(layer + " expects setup() before use, found no input shape");
    std::vector<int> expected{0};
    expected.insert(expected.end(), sample.begin(), sample.end());
    const std::vector<int> found = mat_shape(src);
    bool fits = src.type() == CV_32F && src.isContinuous() && found.size() == expected.size() && found[0] >= 1;
    for (size_t i = 1; fits && i < found.size(); ++i) fits = found[i] == expected[i];
    if (!fits) {
        std::string want = shape_string(expected);
        want.replace(1, 1, "N");
        throw Error(layer + " expects a continuous float32 tensor " + want + ", found " + shape_string(found) +
                    (src.type() == CV_32F ? "" : " of another type") + (src.isContinuous() ? "" : " (not continuous)"));
    }
    return found[0];
}

void check_batch(const cv::Mat& m, int n, const std::vector<int>& sample, const std::string& what) {
    if (batch_size(m, sample, what) != n)
        throw Error(what + " expects batch " + std::to_string(n) + ", found " + shape_string(mat_shape(m)));
}

void check_param(Param& param, const std::vector<int>& shape, const std::string& layer) {
    const cv::Mat& value = param.value;
    if (value.type() != CV_32F || !value.isContinuous() || value.total() != static_cast<size_t>(element_count(shape)))
        throw Error(layer + " expects " + param.name + " as a continuous float32 tensor " + shape_string(shape) +
                    ", found " + shape_string(mat_shape(value)) + (value.type() == CV_32F ? "" : " of another type"));
    param.grad.create(value.dims, value.size.p, CV_32F);
}

Param make_param(const std::string& name, const std::vector<int>& shape, float value, float decay_mult) {
    const int dims = static_cast<int>(shape.size());
    return Param{name, cv::Mat(dims, shape.data(), CV_32F, cv::Scalar(value)),
                 cv::Mat::zeros(dims, shape.data(), CV_32F), 1.0f, decay_mult};
}

void make_output(cv::Mat& dst, int n, const std::vector<int>& sample, const cv::Mat& input) {
    if (dst.u != nullptr && dst.u == input.u) dst.release();
    std::vector<int> shape{n};
    shape.insert(shape.end(), sample.begin(), sample.end());
    dst.create(static_cast<int>(shape.size()), shape.data(), CV_32F);
}

}  // namespace cvtl
