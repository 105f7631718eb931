// Networks as graphs: a layer that reads two earlier layers (residual addition), and a value read by
// two layers (the fork before a residual unit), whose gradient is the sum of its readers'.
#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/tensor_shape.hpp"
#include "pipeline/engine/network.hpp"
#include "support/naive_kernels.hpp"

#include <doctest/doctest.h>

using namespace cvtl;

namespace {

nlohmann::json conv(int in, int out, int kernel) {
    return {{"in", in}, {"out", out}, {"kernel", kernel}, {"stride", 1}, {"pad", kernel / 2}, {"relu", false}};
}

// input [2, 4, 4] -> conv1 -> conv2 -> conv3 -> add(conv1, conv3) -> flatten -> fc. Linear throughout, so
// central differences are exact up to float32 rounding: any error is a wrong gradient.
NetworkSpec residual_spec() {
    NetworkSpec spec;
    spec.input_shape = {2, 4, 4};
    spec.input_tap = "block1";
    spec.layers = {{"b.conv1", "block2", "conv2d", conv(2, 3, 3)},
                   {"b.conv2", "block2", "conv2d", conv(3, 3, 3)},
                   {"b.conv3", "block2", "conv2d", conv(3, 3, 1)},
                   {"b.add", "block2", "add", {{"relu", false}}, {"b.conv1", "b.conv3"}},
                   {"c.flatten", "classifier", "flatten", nlohmann::json::object()},
                   {"c.fc", "classifier", "linear", {{"in", 48}, {"out", 3}, {"relu", false}}}};
    return spec;
}

double objective(Network& net, const cv::Mat& input, const cv::Mat& r) {
    const cv::Mat& y = net.forward(input, true);
    double sum = 0;
    for (size_t i = 0; i < y.total(); ++i) sum += static_cast<double>(y.ptr<float>()[i]) * r.ptr<float>()[i];
    return sum;
}

}  // namespace

TEST_SUITE("gradcheck") {
    TEST_CASE("a residual graph's gradients match finite differences, the fork summing both readers") {
        Network net(residual_spec());
        CHECK(net.inputs_of(3) == std::vector<int>{1, 3});  // conv1's and conv3's outputs
        std::uint64_t seed = 30;
        for (auto& [name, p] : net.named_params())
            p->value = test::random_tensor(mat_shape(p->value), seed++, -0.5f, 0.5f);
        const cv::Mat input = test::random_tensor({2, 2, 4, 4}, 40);
        const cv::Mat r = test::random_tensor({2, 3}, 41);
        objective(net, input, r);
        net.backward(r);
        double worst = 0;
        for (auto& [name, p] : net.named_params()) {
            const cv::Mat analytic = p->grad.clone();
            for (size_t i = 0; i < p->value.total(); ++i) {
                float& x = p->value.ptr<float>()[i];
                const float x0 = x, h = 1e-2f;
                x = x0 + h;
                const double up = objective(net, input, r);
                x = x0 - h;
                const double down = objective(net, input, r);
                x = x0;
                const double numeric = (up - down) / (2.0 * h), a = analytic.ptr<float>()[i];
                worst = std::max(worst, std::abs(a - numeric) / std::max({1.0, std::abs(a), std::abs(numeric)}));
            }
        }
        MESSAGE("worst relative error " << worst);
        CHECK(worst <= 1e-3);
    }

    TEST_CASE("a graph's inputs survive the run file, and a layer may only read layers before it") {
        const NetworkSpec spec = NetworkSpec::from_json(residual_spec().to_json());
        CHECK(spec.layers[3].inputs == std::vector<std::string>{"b.conv1", "b.conv3"});
        CHECK(spec.layers[2].inputs.empty());
        CHECK(!residual_spec().to_json()["layers"][0].contains("inputs"));  // a chain is stored as before graphs
        NetworkSpec wrong = residual_spec();
        wrong.layers[3].inputs = {"b.conv1", "c.fc"};
        CHECK_THROWS_WITH_AS(Network{wrong},
                             doctest::Contains("layer b.add reads 'c.fc', which is not a layer before it"), Error);
        wrong.layers[3].inputs = {"b.conv1"};
        CHECK_THROWS_WITH_AS(Network{wrong}, doctest::Contains("reads 2 inputs, given 1"), Error);
        wrong.layers[3].inputs = {"b.conv1", "input"};  // [3, 4, 4] + [2, 4, 4]
        CHECK_THROWS_WITH_AS(Network{wrong}, doctest::Contains("adds inputs of different shapes"), Error);
    }
}  // TEST_SUITE
