// A tiny external OpenCV app built against an installed cvtl (tests/consumer/run.sh): it registers
// cvtl's oneDNN convolution, reads a model with plain cv::dnn::readNet, and checks that the outputs
// match stock OpenCV's and that cvtl's layers were really used. Prints one line; exit 0 on success.
#include <plugin/onednn_convolution_layer.hpp>
#include <cvtl/version.hpp>

#include <opencv2/dnn.hpp>
#include <opencv2/dnn/all_layers.hpp>

#include <cstdio>

namespace {

struct Run {
    std::vector<cv::Mat> outputs;  // every convolution's output, then the net's
    int opencv_convolutions = 0;   // convolution layers that are OpenCV's own class
};

// The final output of these tiny models hardly depends on the input, so every convolution's output
// is compared, not only the last one.
Run forward(const std::string& model, const cv::Mat& input) {
    cv::dnn::Net net = cv::dnn::readNet(model);
    std::vector<std::string> names;
    for (const std::string& name : net.getLayerNames())
        if (net.getLayer(name)->type == "Convolution") names.push_back(name);
    names.push_back(net.getLayerNames().back());
    net.setInput(input);
    Run run;
    net.forward(run.outputs, names);
    for (const std::string& name : names) {
        const cv::Ptr<cv::dnn::Layer> layer = net.getLayer(name);
        if (layer->type == "Convolution" && dynamic_cast<cv::dnn::BaseConvolutionLayer*>(layer.get()))
            ++run.opencv_convolutions;
    }
    return run;
}

double scaled_difference(const cv::Mat& a, const cv::Mat& b) {
    double largest = 0;
    cv::minMaxIdx(cv::abs(a.reshape(1, 1)), nullptr, &largest);
    return cv::norm(a.reshape(1, 1), b.reshape(1, 1), cv::NORM_INF) / std::max(1.0, largest);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: consumer MODEL.onnx SIZE\n");
        return 2;
    }
    const int size = std::atoi(argv[2]);
    cv::Mat input(std::vector<int>{2, 3, size, size}, CV_32F);
    cv::RNG(7).fill(input, cv::RNG::UNIFORM, -1.0, 1.0);
    const Run stock = forward(argv[1], input);
    cvtl::register_onednn_convolution();
    const Run ours = forward(argv[1], input);
    cvtl::unregister_onednn_convolution();
    double error = 0;
    for (size_t i = 0; i < stock.outputs.size(); ++i)
        error = std::max(error, scaled_difference(stock.outputs[i], ours.outputs[i]));
    const bool ok = stock.opencv_convolutions > 0 && ours.opencv_convolutions == 0 && error < 1e-4;
    std::printf(
        "consumer: cvtl %s, %d convolutions moved from OpenCV to cvtl, max scaled difference over their outputs %.2e: "
        "%s\n",
        cvtl::kVersion, stock.opencv_convolutions - ours.opencv_convolutions, error, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
