#include "pipeline/engine/layer_kind.hpp"
#include "pipeline/engine/weights.hpp"
#include "plugin/block_map.hpp"
#include "pipeline/core/error.hpp"
#include "plugin/head_builder.hpp"
#include "plugin/inference_net.hpp"
#include "plugin/model_loader.hpp"
#include "plugin/tap_forward.hpp"
#include "support/fixtures.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <thread>

using namespace cvtl;

namespace {

struct FastPath {
    NetworkSpec spec;
    std::unique_ptr<InferenceNet> net;
};

FastPath fast_path(cv::dnn::Net& net, const BlockMap& map, Precision precision) {
    HeadOptions o;
    o.from_tap = "input";
    o.keep_source_output = true;
    Head head = build_head(net, map, o);
    return {head.spec, std::make_unique<InferenceNet>(head.spec, head.source_weights, precision)};
}

const std::vector<std::string> kTaps{"pool1", "pool2", "pool3", "pool4", "pool5", "fc6", "fc7", "logits"};

}  // namespace

TEST_SUITE("parity") {
    TEST_CASE("the oneDNN fast path gives every tap of every fixture within 1e-4 of PyTorch and stock cv::dnn") {
        for (const std::string name : {"tiny_vgg16", "tiny_vgg11_bn", "tiny_vgg11_zero_bias", "tiny_vgg11_odd57",
                                       "tiny_vgg11_ceil57", "tiny_vgg11_odd227"}) {
            CAPTURE(name);
            const std::string ref = test::fixture(name + ".ref.h5");
            SourceModel model = load_model(test::fixture(name + ".onnx"));
            BlockMap map = map_vgg_blocks(model.net, model.input_size, name);
            FastPath fast = fast_path(model.net, map, Precision::f32);
            const cv::Mat input = test::read_tensor(ref, "input");
            std::vector<int> layers;
            for (const auto& t : kTaps) layers.push_back(head_layer_at_tap(fast.spec, t));
            const auto ours = fast.net->forward(input, layers);
            const auto stock = forward_taps(model.net, map, kTaps, input);
            for (size_t i = 0; i < kTaps.size(); ++i) {
                CAPTURE(kTaps[i]);
                const test::Diff vs_torch = test::diff(ours[i], test::read_tensor(ref, kTaps[i]));
                CHECK(vs_torch.max_abs <= 1e-4);
                CHECK(vs_torch.mean_abs <= 1e-5);
                CHECK(test::diff(ours[i], stock[i]).max_abs <= 1e-4);
            }
            // Another batch size re-plans; one sample gives the batch's first row.
            const std::vector<cv::Range> first{cv::Range(0, 1), cv::Range::all(), cv::Range::all(), cv::Range::all()};
            const auto single = fast.net->forward(input(first).clone(), {head_layer_at_tap(fast.spec, "logits")});
            CHECK(test::diff(single[0], ours.back().row(0).clone()).max_abs <= 1e-4);
        }
    }

    TEST_CASE("bf16 taps stay within 1e-2 relative of f32") {
        if (!cpu_has_bf16()) {
            CHECK_THROWS_WITH_AS(InferenceNet({}, {}, Precision::bf16), doctest::Contains("AVX512-BF16"), Error);
            return;
        }
        SourceModel model = load_model(test::fixture("tiny_vgg16.onnx"));
        BlockMap map = map_vgg_blocks(model.net, 64, "tiny_vgg16");
        FastPath f32 = fast_path(model.net, map, Precision::f32);
        FastPath bf16 = fast_path(model.net, map, Precision::bf16);
        const cv::Mat input = test::read_tensor(test::fixture("tiny_vgg16.ref.h5"), "input");
        std::vector<int> layers;
        for (const auto& t : kTaps) layers.push_back(head_layer_at_tap(f32.spec, t));
        const auto a = f32.net->forward(input, layers), b = bf16.net->forward(input, layers);
        for (size_t i = 0; i < kTaps.size(); ++i) {
            CAPTURE(kTaps[i]);
            double range = 0;
            cv::minMaxIdx(cv::abs(a[i]), nullptr, &range);
            CHECK(test::diff(a[i], b[i]).max_abs <= 1e-2 * std::max(range, 1e-3));
        }
    }

}  // TEST_SUITE

TEST_SUITE("unit") {
    // Refused when the fast path is made, not at its first forward: the tap engine then falls back to stock cv::dnn.
    TEST_CASE("a batch norm with no convolution before it is refused when the fast path is made") {
        NetworkSpec spec;
        spec.input_shape = {4, 6, 6};
        spec.input_tap = "pool4";
        spec.layers = {
            {"block5.bn1", "block5", "batch_norm", {{"channels", 4}, {"eps", 1e-5}, {"momentum", 0.1}}},
            {"block5.pool", "block5", "max_pool", {{"kernel", 2}, {"stride", 2}, {"pad", 0}, {"ceil", false}}}};
        CHECK_THROWS_WITH_AS(InferenceNet(spec, fresh_weights(spec, 1), Precision::f32),
                             doctest::Contains("folds batch norm"), Error);
    }

    // Each plan owns its oneDNN stream and every thread has its own for the rest, so fast paths may run on
    // several threads at once (extraction pipelines, apps with their own threads).
    TEST_CASE("a residual add fuses into its convolution only where the value it overwrites is not asked for") {
        for (const std::string name : {"tiny_resnet18", "tiny_resnet50"}) {
            CAPTURE(name);
            SourceModel model = load_model(test::fixture(name + ".onnx"));
            const BlockMap map = map_blocks(model.net, 64, name);
            HeadOptions o;
            o.from_tap = "input";
            o.keep_source_output = true;
            Head head = build_head(model.net, map, o);
            InferenceNet net(head.spec, head.source_weights, Precision::f32);
            const cv::Mat input = test::read_tensor(test::fixture(name + ".ref.h5"), "input");
            // Every layer asked for: nothing may be overwritten, so no add fuses.
            std::vector<int> every(head.spec.layers.size());
            for (size_t i = 0; i < every.size(); ++i) every[i] = static_cast<int>(i);
            const std::vector<cv::Mat> all = net.forward(input, every);
            const size_t unfused_steps = net.planned_steps(), unfused_bytes = net.activation_bytes();
            const int logits = static_cast<int>(every.size()) - 1;
            const cv::Mat alone = net.forward(input, {logits})[0];
            CHECK(net.planned_steps() < unfused_steps);     // the adds fused
            CHECK(net.activation_bytes() < unfused_bytes);  // and dead activations shared bytes
            CHECK(test::diff(alone, all.back()).max_abs <= 1e-5);
            // Each value an add reads, asked for with the logits: it must come back as computed, not
            // overwritten by the sum fused into the convolution of the other branch.
            int adds = 0;
            for (const LayerSpec& layer : head.spec.layers) {
                if (layer.type != kind::add) continue;
                ++adds;
                for (const std::string& operand : layer.inputs) {
                    int j = 0;
                    while (static_cast<size_t>(j) < every.size() &&
                           head.spec.layers[static_cast<size_t>(j)].name != operand)
                        ++j;
                    REQUIRE(static_cast<size_t>(j) < every.size());
                    const std::vector<cv::Mat> both = net.forward(input, {j, logits});
                    CAPTURE(operand);
                    CHECK(test::diff(both[0], all[static_cast<size_t>(j)]).max_abs <= 1e-6);
                    CHECK(test::diff(both[1], all.back()).max_abs <= 1e-5);
                }
            }
            CHECK(adds >= 8);
        }
    }

    // Inputs of 16 channels are pinned to oneDNN's nChw16c (activation_layout), grouped ones too; a
    // shape only oneDNN's reference code takes in that layout falls back to a free layout. Either
    // way the numbers must be a convolution's: checked against a direct loop. (With oneDNN 2.6 the
    // groups of 2, 4 and 8 fall back: pinned, only its reference code takes them.)
    TEST_CASE("convolutions on 16-channel inputs match a direct loop - grouped - strided - any kernel") {
        struct Shape {
            int out, kernel, stride, groups;
        };
        for (const Shape c : {Shape{32, 3, 1, 1}, Shape{32, 3, 2, 1}, Shape{32, 1, 1, 1}, Shape{16, 3, 1, 16},
                              Shape{32, 3, 2, 2}, Shape{16, 5, 2, 4}, Shape{48, 7, 1, 8}}) {
            CAPTURE(c.out);
            CAPTURE(c.kernel);
            CAPTURE(c.stride);
            CAPTURE(c.groups);
            const int in = 16, size = 9, pad = c.kernel / 2;
            NetworkSpec spec;
            spec.input_shape = {in, size, size};
            spec.input_tap = "input";
            spec.layers = {{"conv",
                            "block1",
                            "conv2d",
                            {{"in", in},
                             {"out", c.out},
                             {"kernel", c.kernel},
                             {"stride", c.stride},
                             {"pad", pad},
                             {"groups", c.groups},
                             {"relu", false}}}};
            WeightMap weights = fresh_weights(spec, 3);
            cv::Mat& bias = weights.at("conv.bias");
            cv::randu(bias, -1, 1);  // fresh biases are 0: make them count
            cv::Mat input(std::vector<int>{2, in, size, size}, CV_32F);
            cv::randu(input, -1, 1);
            const cv::Mat got = InferenceNet(spec, weights, Precision::f32).forward(input, {0})[0];
            const int o_size = (size + 2 * pad - c.kernel) / c.stride + 1, per = in / c.groups;
            REQUIRE(got.size[2] == o_size);
            const cv::Mat& w = weights.at("conv.weights");
            const auto at = [](const cv::Mat& m, int a, int b, int y, int x) {
                const int idx[4] = {a, b, y, x};
                return static_cast<double>(m.at<float>(idx));
            };
            double worst = 0;
            for (int n = 0; n < 2; ++n)
                for (int o = 0; o < c.out; ++o)
                    for (int y = 0; y < o_size; ++y)
                        for (int x = 0; x < o_size; ++x) {
                            double sum = bias.at<float>(o);
                            const int first = o / (c.out / c.groups) * per;
                            for (int i = 0; i < per; ++i)
                                for (int ky = 0; ky < c.kernel; ++ky)
                                    for (int kx = 0; kx < c.kernel; ++kx) {
                                        const int iy = y * c.stride - pad + ky, ix = x * c.stride - pad + kx;
                                        if (iy < 0 || ix < 0 || iy >= size || ix >= size) continue;
                                        sum += at(w, o, i, ky, kx) * at(input, n, first + i, iy, ix);
                                    }
                            worst = std::max(worst, std::abs(sum - at(got, n, o, y, x)));
                        }
            CHECK(worst <= 1e-4);
        }
    }

    TEST_CASE("two fast paths running at once on two threads give the sequential results") {
        SourceModel model = load_model(test::fixture("tiny_vgg16.onnx"));
        BlockMap map = map_vgg_blocks(model.net, 64, "tiny_vgg16");
        const cv::Mat input = test::read_tensor(test::fixture("tiny_vgg16.ref.h5"), "input");
        FastPath a = fast_path(model.net, map, Precision::f32), b = fast_path(model.net, map, Precision::f32);
        const std::vector<int> logits{head_layer_at_tap(a.spec, "logits")};
        const cv::Mat expected = a.net->forward(input, logits)[0].clone();
        std::vector<cv::Mat> from_a, from_b;
        auto run = [&](FastPath& f, std::vector<cv::Mat>& out) {
            for (int i = 0; i < 20; ++i) out.push_back(f.net->forward(input, logits)[0].clone());
        };
        std::thread ta(run, std::ref(a), std::ref(from_a)), tb(run, std::ref(b), std::ref(from_b));
        ta.join();
        tb.join();
        for (const auto* results : {&from_a, &from_b})
            for (const cv::Mat& m : *results) CHECK(cv::norm(m, expected, cv::NORM_INF) == 0);
    }

}  // TEST_SUITE
