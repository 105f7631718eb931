#include "plugin/block_map.hpp"
#include "plugin/tap_name.hpp"
#include "plugin/model_loader.hpp"
#include "plugin/tap_forward.hpp"
#include "support/fixtures.hpp"
#include "support/reference.hpp"

#include <doctest/doctest.h>

using namespace cvtl;

TEST_SUITE("parity") {
    TEST_CASE("every tap of every fixture equals PyTorch's output") {
        for (const std::string name : {"tiny_vgg16", "tiny_vgg11_bn", "tiny_vgg11_zero_bias", "tiny_vgg11_odd57",
                                       "tiny_vgg11_ceil57", "tiny_vgg11_odd227"}) {
            CAPTURE(name);
            const std::string ref = test::fixture(name + ".ref.h5");
            SourceModel model = load_model(test::fixture(name + ".onnx"));
            BlockMap map = map_vgg_blocks(model.net, model.input_size, name);
            const cv::Mat input = test::read_tensor(ref, "input");
            const std::vector<std::string> taps = tap::all();
            const std::vector<cv::Mat> outs = forward_taps(model.net, map, taps, input);
            REQUIRE(outs.size() == taps.size());
            for (size_t i = 0; i < taps.size(); ++i) {
                CAPTURE(taps[i]);
                const test::Diff d = test::diff(outs[i], test::read_tensor(ref, taps[i]));
                CHECK(d.max_abs <= 1e-4);
                CHECK(d.mean_abs <= 1e-5);
            }
        }
    }

    TEST_CASE("a subset of taps in any order gives the same values as all taps") {
        const std::string ref = test::fixture("tiny_vgg16.ref.h5");
        SourceModel model = load_model(test::fixture("tiny_vgg16.onnx"));
        BlockMap map = map_vgg_blocks(model.net, model.input_size, "tiny_vgg16");
        const cv::Mat input = test::read_tensor(ref, "input");
        const auto outs = forward_taps(model.net, map, {"fc7", "pool2"}, input);
        CHECK(test::diff(outs[0], test::read_tensor(ref, "fc7")).max_abs <= 1e-4);
        CHECK(test::diff(outs[1], test::read_tensor(ref, "pool2")).max_abs <= 1e-4);
        // One sample at a time gives the batch's rows.
        const std::vector<cv::Range> second{cv::Range(1, 2), cv::Range::all(), cv::Range::all(), cv::Range::all()};
        const auto single = forward_taps(model.net, map, {"logits"}, input(second).clone());
        const cv::Mat batch_logits = test::read_tensor(ref, "logits");
        CHECK(test::diff(single[0], batch_logits.row(1).clone()).max_abs <= 1e-4);
    }

}  // TEST_SUITE
