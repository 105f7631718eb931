#include "pipeline/engine/kinds/kind_support.hpp"

#include "pipeline/core/error.hpp"

namespace cvtl {

int square_param(const std::vector<size_t>& per_axis, const std::string& what, const std::string& layer) {
    if (per_axis.empty()) return 0;
    for (size_t x : per_axis)
        if (x != per_axis[0])
            throw Error("layer " + layer + " has a non-square " + what + "; cvtl trains square VGG layers only");
    return static_cast<int>(per_axis[0]);
}

cv::Mat reshaped_copy(const cv::Mat& blob, const std::vector<int>& shape) {
    cv::Mat copy = blob.clone();
    CVTL_ASSERT(copy.type() == CV_32F);
    return copy.reshape(1, shape);
}

cv::Mat filled(int n, float value) { return cv::Mat(std::vector<int>{n}, CV_32F, cv::Scalar(value)); }

cv::Mat bias_or_zero(const cv::dnn::Layer& layer, int out) {
    return layer.blobs.size() > 1 ? reshaped_copy(layer.blobs[1], {out}) : filled(out, 0);
}

const nlohmann::json& ArgReader::value(const char* name) const {
    if (!args_.is_object() || !args_.contains(name)) wrong(name, "present");
    return args_.at(name);
}

void ArgReader::wrong(const char* name, const std::string& expected) const {
    const std::string found = args_.is_object() && args_.contains(name) ? args_.at(name).dump() : "nothing";
    throw Error(std::string("a ") + kind_ + "'s argument '" + name + "' must be " + expected + ", found " + found);
}

int ArgReader::integer(const char* name, int min) const {
    const nlohmann::json& v = value(name);
    if (!v.is_number_integer() || v.get<std::int64_t>() < min || v.get<std::int64_t>() > (1 << 30))
        wrong(name, "an integer from " + std::to_string(min) + " to 2^30");
    return v.get<int>();
}

int ArgReader::integer(const char* name, int min, int absent) const {
    return args_.is_object() && args_.contains(name) ? integer(name, min) : absent;
}

float ArgReader::number(const char* name, float min, float max) const {
    const nlohmann::json& v = value(name);
    if (!v.is_number() || !(v.get<double>() >= min && v.get<double>() <= max))
        wrong(name, "a number from " + std::to_string(min) + " to " + std::to_string(max));
    return v.get<float>();
}

bool ArgReader::flag(const char* name) const {
    const nlohmann::json& v = value(name);
    if (!v.is_boolean()) wrong(name, "true or false");
    return v.get<bool>();
}

bool ArgReader::flag(const char* name, bool absent) const {
    return args_.is_object() && args_.contains(name) ? flag(name) : absent;
}

std::uint64_t ArgReader::unsigned_integer(const char* name) const {
    const nlohmann::json& v = value(name);
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0))
        wrong(name, "an integer >= 0");
    return v.get<std::uint64_t>();
}

}  // namespace cvtl
