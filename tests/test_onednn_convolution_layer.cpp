// cvtl's convolution registered in cv::dnn::LayerFactory: a plain cv::dnn::readNet then runs it, and
// the network's outputs stay within 1e-4 of stock cv::dnn and of PyTorch.
#include "plugin/onednn_convolution_layer.hpp"
#include "support/fixtures.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <opencv2/dnn.hpp>
#include <opencv2/dnn/all_layers.hpp>

#include <algorithm>

using namespace cvtl;

namespace {

// Convolution layers of `net`: how many are OpenCV's own and how many cvtl's.
std::pair<int, int> convolutions(cv::dnn::Net& net) {
    int opencv = 0, ours = 0;
    for (const std::string& name : net.getLayerNames()) {
        const cv::Ptr<cv::dnn::Layer> layer = net.getLayer(name);
        if (layer->type != "Convolution") continue;
        if (dynamic_cast<cv::dnn::BaseConvolutionLayer*>(layer.get()))
            ++opencv;
        else
            ++ours;
    }
    return {opencv, ours};
}

cv::Mat run(cv::dnn::Net& net, const cv::Mat& input) {
    net.setInput(input);
    return net.forward().clone();
}

double scaled(const cv::Mat& got, const cv::Mat& ref) {
    double ref_max = 0;
    cv::minMaxIdx(ref.reshape(1, 1), nullptr, &ref_max);
    double ref_min = 0;
    cv::minMaxIdx(ref.reshape(1, 1), &ref_min, nullptr);
    return test::diff(got, ref).max_abs / std::max({1.0, ref_max, -ref_min});
}

}  // namespace

TEST_SUITE("parity") {
    TEST_CASE("a cv::dnn app gets cvtl's oneDNN convolution through LayerFactory and the same outputs") {
        for (const auto& entry : {std::pair<std::string, int>{"tiny_vgg16", 13}, {"tiny_vgg11_bn", 8}}) {
            const std::string& name = entry.first;
            const int layers = entry.second;
            CAPTURE(name);
            const std::string model = test::fixture(name + ".onnx"), ref = test::fixture(name + ".ref.h5");
            const cv::Mat input = test::read_tensor(ref, "input");
            cv::dnn::Net stock = cv::dnn::readNet(model);
            const cv::Mat expected = run(stock, input);

            register_onednn_convolution();
            register_onednn_convolution();  // idempotent
            cv::dnn::Net with_cvtl = cv::dnn::readNet(model);
            const cv::Mat got = run(with_cvtl, input);
            const cv::Mat again = run(with_cvtl, input.rowRange(0, 1).clone());  // another batch size: new plan
            unregister_onednn_convolution();
            cv::dnn::Net restored = cv::dnn::readNet(model);

            const auto [opencv_in_cvtl, ours] = convolutions(with_cvtl);
            CHECK(ours == layers);
            CHECK(opencv_in_cvtl == 0);
            CHECK(convolutions(restored).second == 0);
            CHECK(scaled(got, expected) <= 1e-4);
            CHECK(scaled(got, test::read_tensor(ref, "logits")) <= 1e-4);
            CHECK(scaled(again, expected.rowRange(0, 1)) <= 1e-4);
            CHECK(test::diff(run(restored, input), expected).max_abs == 0);
        }
    }

    TEST_CASE("convolutions cvtl leaves to OpenCV (groups dilation) give stock results inside the registered layer") {
        struct Case {
            int group, dilation, stride;
            bool relu;
        };
        for (const Case c : {Case{1, 1, 1, true}, Case{1, 1, 2, false}, Case{2, 1, 1, true}, Case{1, 2, 1, true}}) {
            CAPTURE(c.group);
            CAPTURE(c.dilation);
            CAPTURE(c.stride);
            const int in = 8, out = 6;
            cv::dnn::LayerParams conv;
            conv.name = "conv";
            conv.type = "Convolution";
            conv.set("kernel_size", 3);
            conv.set("num_output", out);
            conv.set("pad", c.dilation);
            conv.set("stride", c.stride);
            conv.set("group", c.group);
            conv.set("dilation", c.dilation);
            conv.set("bias_term", true);
            cv::Mat weights({out, in / c.group, 3, 3}, CV_32F), bias(1, out, CV_32F);
            cv::randn(weights, 0.0, 0.3);
            cv::randn(bias, 0.0, 0.3);
            conv.blobs = {weights, bias};
            cv::dnn::LayerParams relu;
            relu.name = "relu";
            relu.type = "ReLU";
            auto build = [&] {
                cv::dnn::Net net;
                net.addLayerToPrev(conv.name, conv.type, conv);
                if (c.relu) net.addLayerToPrev(relu.name, relu.type, relu);
                return net;
            };
            cv::Mat input({2, in, 9, 11}, CV_32F);
            cv::randn(input, 0.0, 1.0);
            cv::dnn::Net stock = build();
            const cv::Mat expected = run(stock, input);
            register_onednn_convolution();
            cv::dnn::Net with_cvtl = build();
            const cv::Mat got = run(with_cvtl, input);  // cv::dnn creates the layer instances here
            unregister_onednn_convolution();
            CHECK(convolutions(with_cvtl).second == 1);
            CHECK(got.size == expected.size);
            CHECK(scaled(got, expected) <= 1e-4);
        }
    }

}  // TEST_SUITE
