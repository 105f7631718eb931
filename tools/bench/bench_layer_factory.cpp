// Stock cv::dnn against cv::dnn with cvtl's convolution registered in LayerFactory
// (plugin/onednn_convolution_layer.hpp): the same readNet + forward loop an OpenCV app runs, interleaved,
// same random batch. Prints ms per image for both, the ratio, and the largest output difference.
//   cvtl_bench_layer_factory MODEL.onnx [--size 224] [--batch 8] [--reps 3] [--threads 2]
#include "pipeline/engine/layers/onednn_context.hpp"
#include "plugin/onednn_convolution_layer.hpp"

#include <CLI/CLI.hpp>
#include <opencv2/dnn.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace {

double forward_ms(cv::dnn::Net& net, const cv::Mat& blob, cv::Mat& out) {
    const auto t = std::chrono::steady_clock::now();
    net.setInput(blob);
    out = net.forward().clone();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"cv::dnn forward: stock vs cvtl's convolution registered through LayerFactory"};
    std::string model;
    int size = 224, batch = 8, reps = 3, threads = 2;
    app.add_option("model", model, "ONNX model")->required();
    app.add_option("--size", size, "input size")->capture_default_str();
    app.add_option("--batch", batch, "images per forward")->capture_default_str();
    app.add_option("--reps", reps, "timed forwards of each (the median is reported)")->capture_default_str();
    app.add_option("--threads", threads, "cv::setNumThreads and OpenMP threads")->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    cv::setNumThreads(threads);
    cvtl::set_engine_threads(threads);
    cv::Mat blob({batch, 3, size, size}, CV_32F);
    cv::randn(blob, 0.0, 1.0);
    cv::dnn::Net stock = cv::dnn::readNet(model);
    cvtl::register_onednn_convolution();
    cv::dnn::Net ours = cv::dnn::readNet(model);

    cv::Mat a, b;
    forward_ms(stock, blob, a);  // warm-up: layer instances, allocation, weight packing
    forward_ms(ours, blob, b);
    cvtl::unregister_onednn_convolution();
    std::vector<double> stock_ms, ours_ms;
    for (int r = 0; r < reps; ++r) {
        stock_ms.push_back(forward_ms(stock, blob, a) / batch);
        ours_ms.push_back(forward_ms(ours, blob, b) / batch);
    }
    std::sort(stock_ms.begin(), stock_ms.end());
    std::sort(ours_ms.begin(), ours_ms.end());
    const double s = stock_ms[stock_ms.size() / 2], o = ours_ms[ours_ms.size() / 2];
    std::printf(
        "{\"batch\": %d, \"threads\": %d, \"stock_ms_per_image\": %.1f, \"layer_factory_ms_per_image\": %.1f, "
        "\"speedup\": %.2f, \"max_abs_diff\": %.3g}\n",
        batch, threads, s, o, s / o, cv::norm(a, b, cv::NORM_INF));
    return 0;
}
