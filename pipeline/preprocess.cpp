#include "pipeline/preprocess.hpp"

#include "plugin/error.hpp"

#include <opencv2/imgproc.hpp>

#include <cmath>

namespace cvtl {
namespace {

int round_half_up(double x) { return static_cast<int>(std::floor(x + 0.5)); }

}  // namespace

nlohmann::json Preprocessing::to_json() const {
    return {{"preset", preset}, {"size", size}, {"resize", crop ? "shorter-side-256/224-center-crop" : "stretch"},
            {"channels", rgb ? "RGB" : "BGR"}, {"scale", scale}, {"mean", mean}, {"std", std}};
}

Preprocessing Preprocessing::from_json(const nlohmann::json& j) {
    Preprocessing p;
    p.preset = j.at("preset").get<std::string>();
    p.size = j.at("size").get<int>();
    p.crop = j.at("resize").get<std::string>() != "stretch";
    p.rgb = j.at("channels").get<std::string>() == "RGB";
    p.scale = j.at("scale").get<double>();
    p.mean = j.at("mean").get<std::array<double, 3>>();
    p.std = j.at("std").get<std::array<double, 3>>();
    return p;
}

Preprocessing make_preprocessing(const std::string& preset, int size,
                                 const std::optional<std::array<double, 3>>& mean,
                                 const std::optional<std::array<double, 3>>& std) {
    if (size < 8 || size > 4096) throw Error("input size " + std::to_string(size) + " is out of range (8..4096)");
    Preprocessing p;
    p.preset = preset;
    p.size = size;
    if (preset == "torchvision") {
        p.mean = {0.485, 0.456, 0.406};
        p.std = {0.229, 0.224, 0.225};
    } else if (preset == "caffe") {
        p.rgb = false;
        p.scale = 1.0;
        p.mean = {103.939, 116.779, 123.68};
    } else if (preset == "raw") {
        p.crop = false;
    } else {
        throw Error("unknown preprocessing preset '" + preset + "' (expected torchvision, caffe or raw)");
    }
    if (mean) p.mean = *mean;
    if (std) p.std = *std;
    for (double s : p.std)
        if (!(s > 0.0)) throw Error("--std values must be positive");
    return p;
}

void preprocess_image(const cv::Mat& bgr8, const Preprocessing& p, float* dst) {
    CV_Assert(bgr8.type() == CV_8UC3);
    const int S = p.size;
    cv::Mat resized;
    if (!p.crop) {
        cv::resize(bgr8, resized, cv::Size(S, S), 0, 0, cv::INTER_LINEAR);
    } else {
        const int rows = bgr8.rows, cols = bgr8.cols;
        const int shorter = round_half_up(S * 256.0 / 224.0);
        const cv::Size target = rows <= cols ? cv::Size(round_half_up(static_cast<double>(cols) * shorter / rows), shorter)
                                             : cv::Size(shorter, round_half_up(static_cast<double>(rows) * shorter / cols));
        cv::resize(bgr8, resized, target, 0, 0, cv::INTER_LINEAR);
        resized = resized(cv::Rect((target.width - S) / 2, (target.height - S) / 2, S, S));
    }
    // Planar output: channel c of the network reads BGR channel 2-c when it wants RGB.
    cv::Mat planes[3];
    cv::split(resized, planes);
    for (int c = 0; c < 3; ++c) {
        cv::Mat out(S, S, CV_32F, dst + static_cast<size_t>(c) * S * S);
        const cv::Mat& src = planes[p.rgb ? 2 - c : c];
        src.convertTo(out, CV_32F, p.scale / p.std[c], -p.mean[c] / p.std[c]);
    }
}

}  // namespace cvtl
