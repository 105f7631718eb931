// A Caffe model with batch norm written as Caffe writes it, BatchNorm (running sums and their divisor)
// then Scale (gamma, beta), against PyTorch (tests/fixtures/make_caffe_fixture.py: tiny VGG-11 with
// batch norm, input 57). The Scale layer is the kind added in one file (pipeline/engine/kinds/scale_kind.cpp)
// to try the registry's promise: these tests read, train, fold and export it with no other change.
#include "pipeline/cache/tap_engine.hpp"
#include "pipeline/engine/layers/softmax_cross_entropy.hpp"
#include "pipeline/engine/network.hpp"
#include "pipeline/engine/weights.hpp"
#include "pipeline/train/run_state.hpp"
#include "plugin/block_map.hpp"
#include "plugin/head_builder.hpp"
#include "plugin/model_loader.hpp"
#include "plugin/tap_forward.hpp"
#include "plugin/tap_name.hpp"
#include "support/fixtures.hpp"
#include "support/reference.hpp"
#include "support/subprocess.hpp"

#include <doctest/doctest.h>

#include <opencv2/dnn.hpp>

#include <algorithm>

using namespace cvtl;

namespace {

const std::string kName = "tiny_vgg11_bn_caffe57";
const std::string kRef = kName + ".ref.h5";

// As in test_caffe_model.cpp: pool1 and pool2 carry the caffe preset's 0-255 scale, where float32
// leaves about 1e-5 of the largest magnitude.
double tolerance(const cv::Mat& reference) {
    return std::max(1e-4, 1e-5 * cv::norm(reference.reshape(1, 1), cv::NORM_INF));
}

int count_layers(const NetworkSpec& spec, const std::string& type) {
    return static_cast<int>(
        std::count_if(spec.layers.begin(), spec.layers.end(), [&](const LayerSpec& l) { return l.type == type; }));
}

}  // namespace

TEST_SUITE("parity") {
    TEST_CASE("a Caffe BatchNorm + Scale model gives PyTorch's taps on stock cv::dnn and on the fast path") {
        SourceModel model = load_model(test::fixture(kName + ".prototxt"));
        BlockMap map = map_vgg_blocks(model.net, model.input_size, kName);
        const cv::Mat input = test::read_tensor(test::fixture(kRef), "input");
        std::vector<std::string> taps = tap::all();
        taps.erase(taps.begin());  // the input is not computed
        const std::vector<cv::Mat> stock = forward_taps(model.net, map, taps, input);
        std::string warnings;
        Events events;
        events.warn = [&](const std::string& w) { warnings += w; };
        TapEngine fast(model, map, taps, {Engine::onednn, Precision::f32, Backend::cpu, 2}, events);
        const std::vector<cv::Mat> fast_out = fast(input);
        CHECK(warnings.empty());  // the fast path folded BatchNorm and Scale: no fallback to stock cv::dnn
        for (size_t i = 0; i < taps.size(); ++i) {
            CAPTURE(taps[i]);
            const cv::Mat expected = test::read_tensor(test::fixture(kRef), taps[i]);
            const double a = test::diff(stock[i], expected).max_abs, b = test::diff(fast_out[i], expected).max_abs;
            MESSAGE("tap " << taps[i] << ": max |opencv - PyTorch| " << a << ", max |onednn - PyTorch| " << b);
            CHECK(a <= tolerance(expected));
            CHECK(b <= tolerance(expected));
        }
    }

    TEST_CASE("the training engine's forward of a BatchNorm + Scale head equals PyTorch's from pool3 to logits") {
        SourceModel model = load_model(test::fixture(kName + ".prototxt"));
        BlockMap map = map_vgg_blocks(model.net, model.input_size, kName);
        HeadOptions options;
        options.from_tap = "pool3";
        options.keep_source_output = true;
        const Head head = build_head(model.net, map, options);
        CHECK(count_layers(head.spec, "batch_norm") == 4);  // blocks 4 and 5: two convolutions each
        CHECK(count_layers(head.spec, "scale") == 4);
        Network net(head.spec);
        load_weights(net, head.source_weights);
        const cv::Mat logits = net.forward(test::read_tensor(test::fixture(kRef), "pool3"), false);
        const double d = test::diff(logits, test::read_tensor(test::fixture(kRef), "logits")).max_abs;
        MESSAGE("training engine, pool3 -> logits: max |cvtl - PyTorch| " << d);
        CHECK(d <= 1e-4);
    }

    TEST_CASE("fine-tuning block 5 of a Caffe BatchNorm + Scale model trains the Scale and exports for stock OpenCV") {
        test::TempDir dir;
        const std::string cache = dir / "c.h5", run = dir / "run", onnx = dir / "model.onnx";
        const auto x = test::run_cvtl({"extract", test::fixture(kName + ".prototxt"), test::fixture("images"), "-o",
                                       cache, "--preset", "caffe", "--taps", "pool4,pool5", "--val-fraction", "0.25",
                                       "--batch", "5", "--threads", "2"});
        CAPTURE(x.err);
        REQUIRE(x.exit_code == 0);
        const auto t = test::run_cvtl({"train", cache, "-o", run, "--strategy", "finetune", "--from-block", "5",
                                       "--epochs", "3", "--batch", "4", "--threads", "2", "--seed", "1"});
        CAPTURE(t.err);
        REQUIRE(t.exit_code == 0);
        const RunState state = load_run_state(run + "/model.h5");
        const NetworkSpec spec = NetworkSpec::from_json(state.spec);
        REQUIRE(count_layers(spec, "scale") == 2);
        // Trained, not carried: the Scale's factors moved away from the Caffe model's.
        SourceModel model = load_model(test::fixture(kName + ".prototxt"));
        BlockMap map = map_vgg_blocks(model.net, model.input_size, kName);
        HeadOptions options;
        options.from_tap = "pool4";
        options.keep_source_output = true;
        const Head source = build_head(model.net, map, options);
        const std::string factors = "block5.scale1.weights";
        REQUIRE(state.weights.count(factors) == 1);
        CHECK(test::diff(state.weights.at(factors), source.source_weights.at(factors)).max_abs > 1e-6);

        const auto e = test::run_cvtl({"export", run, "-o", onnx});
        CAPTURE(e.err);
        REQUIRE(e.exit_code == 0);
        // Stock OpenCV, no cvtl code: the whole exported model on PyTorch's preprocessed input, read at
        // the logits (the last fully connected layer's output, named after it), before the Softmax ...
        cv::dnn::Net stock = cv::dnn::readNet(onnx);
        stock.setInput(test::read_tensor(test::fixture(kRef), "input"));
        std::string logits;
        for (const LayerSpec& l : spec.layers)
            if (l.type == "linear") logits = l.name;
        std::string layer;  // OpenCV 4.6 names a layer made from ONNX node N "onnx_node!N"
        for (const std::string& name : stock.getLayerNames())
            if (name.size() >= logits.size() && name.compare(name.size() - logits.size(), logits.size(), logits) == 0)
                layer = name;
        REQUIRE(!layer.empty());
        const cv::Mat exported = stock.forward(layer).clone();
        // ... against cvtl's own trained layers on PyTorch's pool4.
        Network trained(spec);
        load_weights(trained, state.weights);
        const cv::Mat expected = trained.forward(test::read_tensor(test::fixture(kRef), "pool4"), false);
        const double d = test::diff(exported.reshape(1, expected.rows), expected).max_abs;
        MESSAGE("exported BatchNorm + Scale model in stock OpenCV: max |logits - cvtl's| " << d << "; " << e.out);
        CHECK(d <= 1e-4);
    }
}  // TEST_SUITE
