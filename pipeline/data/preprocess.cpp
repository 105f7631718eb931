#include "pipeline/data/preprocess.hpp"

#include "pipeline/core/error.hpp"

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdint>

namespace cvtl {
namespace {

int round_half_up(double x) { return static_cast<int>(std::floor(x + 0.5)); }

}  // namespace

nlohmann::json Preprocessing::to_json() const {
    return {{"preset", to_string(preset)},
            {"size", size},
            {"resize", crop ? "shorter-side-256/224-center-crop" : "stretch"},
            {"channels", rgb ? "RGB" : "BGR"},
            {"scale", scale},
            {"mean", mean},
            {"std", std}};
}

Preprocessing Preprocessing::from_json(const nlohmann::json& j, const std::string& source) {
    Preprocessing p;
    try {
        p.preset = parse_preset(j.at("preset").get<std::string>());
        // Read as a 64-bit integer first: a float or a huge value must not be narrowed into range.
        if (!j.at("size").is_number_integer()) throw Error("the input size must be an integer");
        const std::int64_t size = j.at("size").get<std::int64_t>();
        if (size < kMinInputSize || size > kMaxInputSize)
            throw Error("input size " + std::to_string(size) + " is out of range");
        p.size = static_cast<int>(size);
        const std::string resize = j.at("resize").get<std::string>(), channels = j.at("channels").get<std::string>();
        if (resize != "stretch" && resize != "shorter-side-256/224-center-crop")
            throw Error("unknown resize '" + resize + "'");
        if (channels != "RGB" && channels != "BGR") throw Error("unknown channel order '" + channels + "'");
        p.crop = resize != "stretch";
        p.rgb = channels == "RGB";
        p.scale = j.at("scale").get<double>();
        p.mean = j.at("mean").get<std::array<double, 3>>();
        p.std = j.at("std").get<std::array<double, 3>>();
        p.validate();
    } catch (const nlohmann::json::exception& e) {
        throw Error(source + ": its preprocessing record is malformed (" + e.what() +
                    "); re-export or re-extract to rewrite it");
    } catch (const Error& e) {
        throw Error(source + ": its preprocessing record is invalid (" + e.message() +
                    "); re-export or re-extract to rewrite it");
    }
    return p;
}

// Every number is checked before it sizes a buffer or divides: the record may come from any file.
void Preprocessing::validate() const {
    if (size < kMinInputSize || size > kMaxInputSize)
        throw Error("input size " + std::to_string(size) + " is out of range (" + std::to_string(kMinInputSize) + ".." +
                    std::to_string(kMaxInputSize) + ")");
    // Bounds far beyond any real preprocessing, chosen so that (pixel * scale - mean) / std stays
    // finite in float for every 8-bit pixel: a record may not turn images into inf or NaN.
    if (!(scale >= 1e-6 && scale <= 1e6)) throw Error("the pixel scale must be in [1e-6, 1e6]");
    for (double m : mean)
        if (!(std::fabs(m) <= 1e6)) throw Error("mean values must be finite and within +-1e6");
    for (double s : std)
        if (!(s >= 1e-6 && s <= 1e6)) throw Error("std values must be in [1e-6, 1e6]");
}

Preprocessing make_preprocessing(Preset preset, int size, const std::optional<std::array<double, 3>>& mean,
                                 const std::optional<std::array<double, 3>>& std) {
    Preprocessing p;
    p.preset = preset;
    p.size = size;
    if (preset == Preset::torchvision) {
        p.mean = {0.485, 0.456, 0.406};
        p.std = {0.229, 0.224, 0.225};
    } else if (preset == Preset::caffe) {
        p.rgb = false;
        p.scale = 1.0;
        p.mean = {103.939, 116.779, 123.68};
    } else {
        p.crop = false;  // raw
    }
    if (mean) p.mean = *mean;
    if (std) p.std = *std;
    p.validate();
    return p;
}

void preprocess_image(const cv::Mat& bgr8, const Preprocessing& p, float* dst) {
    CVTL_ASSERT(bgr8.type() == CV_8UC3);
    const int S = p.size;
    cv::Mat resized;
    if (!p.crop) {
        cv::resize(bgr8, resized, cv::Size(S, S), 0, 0, cv::INTER_LINEAR);
    } else {
        const int rows = bgr8.rows, cols = bgr8.cols;
        const int shorter = round_half_up(S * 256.0 / 224.0);
        const cv::Size target = rows <= cols
                                    ? cv::Size(round_half_up(static_cast<double>(cols) * shorter / rows), shorter)
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
