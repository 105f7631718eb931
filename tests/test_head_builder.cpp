#include "plugin/block_map.hpp"
#include "pipeline/core/error.hpp"
#include "plugin/head_builder.hpp"
#include "pipeline/engine/layers/softmax_cross_entropy.hpp"
#include "plugin/model_loader.hpp"
#include "plugin/tap_forward.hpp"
#include "support/fixtures.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

#include <limits>

using namespace cvtl;

namespace {

// tiny_vgg11_bn above pool3 (conv, batch norm, ReLU, pools, classifier) for 3 classes without dropout:
// its spec and weights (the source's, plus the new output layer drawn with `seed`).
std::pair<NetworkSpec, WeightMap> vgg11_bn_head_from_pool3(std::uint64_t seed) {
    SourceModel model = load_model(test::fixture("tiny_vgg11_bn.onnx"));
    BlockMap map = map_vgg_blocks(model.net, 32, "tiny_vgg11_bn");
    HeadOptions options;
    options.from_tap = "pool3";
    options.classes = 3;
    options.dropout = 0;
    Head head = build_head(model.net, map, options);
    WeightMap weights = fresh_weights(head.spec, seed);
    for (const auto& [name, value] : head.source_weights) weights[name] = value;
    return {head.spec, weights};
}

}  // namespace

TEST_SUITE("parity") {
    TEST_CASE("a head built from the source model and fed a cached tap reproduces the full network") {
        for (const std::string name : {"tiny_vgg16", "tiny_vgg11_bn", "tiny_vgg11_zero_bias", "tiny_vgg11_odd57",
                                       "tiny_vgg11_ceil57", "tiny_vgg11_odd227"}) {
            const std::string ref = test::fixture(name + ".ref.h5");
            SourceModel model = load_model(test::fixture(name + ".onnx"));
            BlockMap map = map_vgg_blocks(model.net, model.input_size, name);
            const cv::Mat torch_logits = test::read_tensor(ref, "logits");
            const cv::Mat opencv_logits = forward_taps(model.net, map, {"logits"}, test::read_tensor(ref, "input"))[0];
            for (const std::string tap : {"input", "pool1", "pool2", "pool3", "pool4", "pool5"}) {
                CAPTURE(name);
                CAPTURE(tap);
                HeadOptions options;
                options.from_tap = tap;
                options.keep_source_output = true;
                Head head = build_head(model.net, map, options);
                CHECK(head.new_layers.empty());
                Network net(head.spec);
                load_weights(net, head.source_weights);
                const cv::Mat logits = net.forward(test::read_tensor(ref, tap), false).clone();
                CHECK(test::diff(logits, opencv_logits).max_abs <= 1e-4);
                CHECK(test::diff(logits, torch_logits).max_abs <= 1e-4);
            }
        }
    }

}  // TEST_SUITE

TEST_SUITE("unit") {
    TEST_CASE("the new output layer has our classes and the rest keeps the source weights") {
        SourceModel model = load_model(test::fixture("tiny_vgg11_bn.onnx"));
        BlockMap map = map_vgg_blocks(model.net, 32, "tiny_vgg11_bn");
        HeadOptions options;
        options.from_tap = "pool4";
        options.classes = 7;
        Head head = build_head(model.net, map, options);
        REQUIRE(head.new_layers == std::vector<std::string>{"classifier.fc8"});
        Network net(head.spec);
        CHECK(net.output_shape() == std::vector<int>{7});
        // block5 of VGG-11-BN: conv, bn, relu, conv, bn, relu, pool; then avgpool, flatten, fc6, dropout, fc7, dropout, fc8.
        std::vector<std::string> types;
        for (const auto& l : head.spec.layers) types.push_back(l.type);
        CHECK(types == std::vector<std::string>{"conv2d", "batch_norm", "relu", "conv2d", "batch_norm", "relu",
                                                "max_pool", "avg_pool", "flatten", "linear", "dropout", "linear",
                                                "dropout", "linear"});
        CHECK(head.source_weights.count("block5.bn1.running_var") == 1);
        CHECK(head.source_weights.count("classifier.fc8.weights") == 0);
        // Exact copies: the first convolution's weights equal the cv::dnn blob bit for bit.
        const cv::Mat& blob = model.net.getLayer(map.blocks[4].first_layer)->blobs[0];
        CHECK(cv::norm(head.source_weights.at("block5.conv1.weights").reshape(1, 1), blob.reshape(1, 1),
                       cv::NORM_INF) == 0);
    }

    TEST_CASE("taps inside the classifier cannot start a head") {
        SourceModel model = load_model(test::fixture("tiny_vgg16.onnx"));
        BlockMap map = map_vgg_blocks(model.net, 64, "tiny_vgg16");
        HeadOptions options;
        options.from_tap = "fc7";
        options.classes = 3;
        CHECK_THROWS_WITH_AS(build_head(model.net, map, options), doctest::Contains("inside the classifier"), Error);
    }

    TEST_CASE("fresh weights follow torchvision's initialisation and are seeded") {
        SourceModel model = load_model(test::fixture("tiny_vgg16.onnx"));
        BlockMap map = map_vgg_blocks(model.net, 64, "tiny_vgg16");
        HeadOptions options;
        options.from_tap = "input";
        options.classes = 4;
        Head head = build_head(model.net, map, options);
        const WeightMap a = fresh_weights(head.spec, 3), b = fresh_weights(head.spec, 3),
                        c = fresh_weights(head.spec, 4);
        const cv::Mat& w = a.at("block3.conv1.weights");  // [16, 8, 3, 3], He fan-out: std sqrt(2 / (16 * 9))
        cv::Scalar mean, stddev;
        cv::meanStdDev(w.reshape(1, 1), mean, stddev);
        CHECK(stddev[0] == doctest::Approx(std::sqrt(2.0 / (16 * 9))).epsilon(0.15));
        CHECK(cv::norm(a.at("block1.conv1.bias"), cv::NORM_INF) == 0);
        CHECK(cv::norm(w.reshape(1, 1), b.at("block3.conv1.weights").reshape(1, 1), cv::NORM_INF) == 0);
        CHECK(cv::norm(w.reshape(1, 1), c.at("block3.conv1.weights").reshape(1, 1), cv::NORM_INF) > 0);
    }

    TEST_CASE("backward stops at the first layer that learns and leaves frozen gradients alone") {
        const auto [spec, weights] = vgg11_bn_head_from_pool3(2);
        Network all(spec), top(spec);
        load_weights(all, weights);
        load_weights(top, weights);
        for (auto& e : top.entries())
            for (Param* p : e.layer->params())
                if (e.spec.block == "block4") {
                    p->lr_mult = 0;
                    p->grad.setTo(std::numeric_limits<float>::quiet_NaN());
                }

        const cv::Mat input = test::read_tensor(test::fixture("tiny_vgg11_bn.ref.h5"), "pool3");
        const std::vector<int> labels{1, 2};
        for (Network* net : {&all, &top}) {
            cv::Mat diff;
            softmax_cross_entropy(net->forward(input, true), labels, diff);
            net->backward(diff);
        }
        const auto all_params = all.named_params(), top_params = top.named_params();
        int frozen = 0;
        for (size_t i = 0; i < all_params.size(); ++i) {
            CAPTURE(all_params[i].first);
            const cv::Mat& got = top_params[i].second->grad;
            if (top_params[i].second->lr_mult == 0) {
                ++frozen;
                CHECK(cv::countNonZero(got == got) == 0);  // still NaN: never computed
            } else {
                CHECK(cv::norm(got, all_params[i].second->grad, cv::NORM_INF) == 0);
            }
        }
        CHECK(frozen > 0);
    }

}  // TEST_SUITE

TEST_SUITE("gradcheck") {
    TEST_CASE("a whole head's parameter gradients match finite differences of the loss") {
        // VGG-11-BN from pool3: conv, batch norm (training statistics), ReLU, max-pool, average pool,
        // flatten and fully connected layers chained as the trainer runs them.
        const auto [spec, weights] = vgg11_bn_head_from_pool3(1);
        Network net(spec);
        load_weights(net, weights);

        cv::Mat input = test::read_tensor(test::fixture("tiny_vgg11_bn.ref.h5"), "pool3");  // [2, 16, 4, 4]
        const std::vector<int> labels{0, 2};
        cv::Mat diff;
        auto loss_at = [&] { return softmax_cross_entropy(net.forward(input, true), labels, diff); };
        loss_at();
        net.backward(diff);

        cv::RNG rng(7);
        int checked = 0, agree = 0;
        for (auto& [name, p] : net.named_params()) {
            const cv::Mat analytic = p->grad.clone();
            for (int k = 0; k < 6; ++k) {
                const int i = rng.uniform(0, static_cast<int>(p->value.total()));
                float& w = p->value.ptr<float>()[i];
                const float saved = w, step = 1e-2f;
                w = saved + step;
                const double plus = loss_at();
                w = saved - step;
                const double minus = loss_at();
                w = saved;
                const double numeric = (plus - minus) / (2.0 * step);
                const double a = analytic.ptr<float>()[i];
                ++checked;
                agree += std::abs(a - numeric) / std::max({1.0, std::abs(a), std::abs(numeric)}) <= 2e-3;
            }
        }
        CAPTURE(checked);
        // A perturbation can cross a ReLU or max-pool kink; allow a handful, never a systematic error.
        CHECK(agree >= checked * 9 / 10);
    }

}  // TEST_SUITE
