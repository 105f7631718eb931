// Classifies images with a model exported by `cvtl export`, using nothing but OpenCV.
//
//   classify MODEL.onnx IMAGE...
//
// MODEL.json (written next to MODEL.onnx) gives the class names and the preprocessing; the ONNX
// file itself is a plain network that cv::dnn::readNetFromONNX loads.
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

namespace {

struct Preprocessing {
    int size = 224;
    bool crop = true;  // shorter side to round(size*256/224), centre crop; else stretch to size x size
    bool rgb = true;
    double scale = 1.0 / 255.0;
    std::vector<double> mean, std;
};

Preprocessing read_preprocessing(const cv::FileNode& p) {
    Preprocessing pre;
    pre.size = (int)p["size"];
    pre.crop = (std::string)p["resize"] != "stretch";
    pre.rgb = (std::string)p["channels"] == "RGB";
    pre.scale = (double)p["scale"];
    p["mean"] >> pre.mean;
    p["std"] >> pre.std;
    return pre;
}

// [1, 3, S, S] float32, as cvtl's presets define it.
cv::Mat to_blob(const cv::Mat& bgr, const Preprocessing& pre) {
    const int S = pre.size;
    cv::Mat resized;
    if (!pre.crop) {
        cv::resize(bgr, resized, cv::Size(S, S), 0, 0, cv::INTER_LINEAR);
    } else {
        const int shorter = (int)std::floor(S * 256.0 / 224.0 + 0.5);
        const bool wide = bgr.rows <= bgr.cols;
        const int longer =
            (int)std::floor((wide ? bgr.cols : bgr.rows) * (double)shorter / (wide ? bgr.rows : bgr.cols) + 0.5);
        const cv::Size target = wide ? cv::Size(longer, shorter) : cv::Size(shorter, longer);
        cv::resize(bgr, resized, target, 0, 0, cv::INTER_LINEAR);
        resized = resized(cv::Rect((target.width - S) / 2, (target.height - S) / 2, S, S));
    }
    cv::Mat planes[3];
    cv::split(resized, planes);
    cv::Mat blob(std::vector<int>{1, 3, S, S}, CV_32F);
    for (int c = 0; c < 3; ++c) {
        cv::Mat out(S, S, CV_32F, blob.ptr<float>() + c * S * S);
        planes[pre.rgb ? 2 - c : c].convertTo(out, CV_32F, pre.scale / pre.std[c], -pre.mean[c] / pre.std[c]);
    }
    return blob;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s MODEL.onnx IMAGE...\n", argv[0]);
        return 2;
    }
    const std::string model = argv[1];
    const std::string sidecar = model.substr(0, model.rfind('.')) + ".json";
    cv::FileStorage fs(sidecar, cv::FileStorage::READ);
    if (!fs.isOpened()) {
        std::fprintf(stderr, "classify: cannot read %s (written by cvtl export next to the model)\n", sidecar.c_str());
        return 1;
    }
    std::vector<std::string> classes;
    for (const auto& c : fs["classes"]) classes.push_back((std::string)c);
    const Preprocessing pre = read_preprocessing(fs["preprocess"]);

    cv::dnn::Net net = cv::dnn::readNetFromONNX(model);
    int status = 0;
    for (int i = 2; i < argc; ++i) {
        const cv::Mat image = cv::imread(argv[i], cv::IMREAD_COLOR);
        if (image.empty()) {
            std::fprintf(stderr, "classify: cannot read image %s\n", argv[i]);
            status = 1;
            continue;
        }
        net.setInput(to_blob(image, pre));
        const cv::Mat prob = net.forward().reshape(1, 1);
        std::vector<int> order(classes.size());
        std::iota(order.begin(), order.end(), 0);
        std::sort(order.begin(), order.end(), [&](int a, int b) { return prob.at<float>(a) > prob.at<float>(b); });
        std::printf("%s:", argv[i]);
        for (size_t k = 0; k < std::min<size_t>(3, order.size()); ++k)
            std::printf(" %s (%.4f)", classes[order[k]].c_str(), prob.at<float>(order[k]));
        std::printf("\n");
    }
    return status;
}
