// Backbones beyond VGG: narrow torchvision ResNet-18, ResNet-50 and MobileNetV2 (random weights, non-trivial
// batch-norm statistics, input 64; tests/fixtures/make_fixtures.py --only backbones) against PyTorch's
// references: the block map, every tap through every engine, and one training step of a residual stage.
#include "pipeline/cache/tap_engine.hpp"
#include "pipeline/engine/layer_kind.hpp"
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

#include <algorithm>

using namespace cvtl;

namespace {

const std::vector<std::string> kBackbones{"tiny_resnet18", "tiny_resnet50", "tiny_mobilenet_v2"};

std::string ref(const std::string& name) { return test::fixture(name + ".ref.h5"); }

// float32 through a few dozen layers of batch-normalised sums: 1e-4 of the reference's largest value.
double tolerance(const cv::Mat& reference) {
    return std::max(1e-5, 1e-4 * cv::norm(reference.reshape(1, 1), cv::NORM_INF));
}

std::vector<int> sample_shape(const cv::Mat& batch) {
    return std::vector<int>(batch.size.p + 1, batch.size.p + batch.dims);
}

std::vector<std::string> computed_taps() {
    std::vector<std::string> taps = tap::all(tap::Style::graph);
    taps.erase(taps.begin());  // the input is not computed
    return taps;
}

// The training engine's value at `tap`: the source network from the input up to it, forward in eval mode.
cv::Mat engine_tap(SourceModel& model, const BlockMap& map, const std::string& tap, const cv::Mat& input) {
    HeadOptions o;
    o.from_tap = tap::input;
    o.keep_source_output = true;
    if (tap != tap::logits) o.until_tap = tap;
    const Head head = build_head(model.net, map, o);
    Network net(head.spec);
    load_weights(net, head.source_weights);
    return net.forward(input, false).clone();
}

}  // namespace

TEST_SUITE("parity") {
    TEST_CASE("ResNet-18, ResNet-50 and MobileNetV2 map to five structural blocks with PyTorch's tap shapes") {
        for (const std::string& name : kBackbones) {
            CAPTURE(name);
            SourceModel model = load_model(test::fixture(name + ".onnx"));
            CHECK(model.input_size == 64);
            // MobileNetV2's 35 ReLU6 export as Clip with Constant bounds, which stock OpenCV 4.6 refuses.
            CHECK(model.repaired_clips == (name == "tiny_mobilenet_v2" ? 35 : 0));
            const BlockMap map = map_blocks(model.net, 64, name);
            CHECK(map.backbone == Backbone::graph);
            REQUIRE(map.taps.size() == tap::all(tap::Style::graph).size());
            for (size_t i = 0; i < map.taps.size(); ++i) {
                CAPTURE(map.taps[i].name);
                CHECK(map.taps[i].name == tap::all(tap::Style::graph)[i]);
                CHECK(map.taps[i].shape == sample_shape(test::read_tensor(ref(name), map.taps[i].name)));
            }
            REQUIRE(map.blocks.size() == 6);
            for (int b = 0; b < 5; ++b) CHECK(map.blocks[static_cast<size_t>(b)].convolutions > 0);
        }
    }

    TEST_CASE("every backbone tap matches PyTorch on stock cv::dnn, the fast path and the training engine") {
        const std::vector<std::string> taps = computed_taps();
        for (const std::string& name : kBackbones) {
            SourceModel model = load_model(test::fixture(name + ".onnx"));
            const BlockMap map = map_blocks(model.net, 64, name);
            const cv::Mat input = test::read_tensor(ref(name), "input");
            const std::vector<cv::Mat> stock = forward_taps(model.net, map, taps, input);
            std::string warnings;
            Events events;
            events.warn = [&](const std::string& w) { warnings += w; };
            TapEngine fast(model, map, taps, {Engine::onednn, Precision::f32, Backend::cpu, 2}, events);
            const std::vector<cv::Mat> fast_out = fast(input);
            CAPTURE(name);
            CHECK(warnings.empty());  // no fallback to stock cv::dnn
            for (size_t i = 0; i < taps.size(); ++i) {
                CAPTURE(taps[i]);
                const cv::Mat expected = test::read_tensor(ref(name), taps[i]);
                const cv::Mat engine = engine_tap(model, map, taps[i], input);
                const double a = test::diff(stock[i], expected).max_abs, b = test::diff(fast_out[i], expected).max_abs,
                             c = test::diff(engine, expected).max_abs;
                MESSAGE(name << " " << taps[i] << ": max |opencv - PyTorch| " << a << ", |onednn - PyTorch| " << b
                             << ", |training engine - PyTorch| " << c);
                CHECK(a <= tolerance(expected));
                CHECK(b <= tolerance(expected));
                CHECK(c <= tolerance(expected));
            }
        }
    }

    // One training step of ResNet-18's layer4 and a new classifier against PyTorch's (the ref file's
    // `group`); frozen: batch norm with frozen statistics against PyTorch's eval()-mode batch norm.
    void check_training_step(const std::string& group, bool frozen) {
        const std::string name = "tiny_resnet18";
        SourceModel model = load_model(test::fixture(name + ".onnx"));
        const BlockMap map = map_blocks(model.net, 64, name);
        HeadOptions o;
        o.from_tap = "block4";
        o.classes = 5;
        o.dropout = 0;
        Head head = build_head(model.net, map, o);
        REQUIRE(head.new_layers.size() == 1);
        const std::string fc = head.new_layers[0];
        head.source_weights[fc + ".weights"] = test::read_tensor(ref(name), group + "fc.weight");
        head.source_weights[fc + ".bias"] = test::read_tensor(ref(name), group + "fc.bias");
        Network net(head.spec);
        load_weights(net, head.source_weights);
        net.set_frozen_statistics(frozen);
        const WeightMap before = save_weights(net);

        const cv::Mat labels_mat = test::read_tensor(ref(name), group + "labels");
        std::vector<int> labels;
        for (size_t i = 0; i < labels_mat.total(); ++i) labels.push_back(static_cast<int>(labels_mat.ptr<float>()[i]));
        const cv::Mat logits = net.forward(test::read_tensor(ref(name), group + "input"), true).clone();
        CHECK(test::diff(logits, test::read_tensor(ref(name), group + "logits")).max_abs <= 1e-4);
        cv::Mat diff_logits;
        softmax_cross_entropy(logits, labels, diff_logits);
        net.backward(diff_logits);

        // cvtl's layers follow PyTorch's execution order; the convolutions' biases (PyTorch's have none,
        // cvtl's are zero) have no counterpart.
        std::vector<std::string> torch;
        for (int unit = 0; unit < 2; ++unit) {
            const std::string u = "layer4." + std::to_string(unit) + ".";
            for (const char* p : {"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight", "bn2.bias"})
                torch.push_back(u + p);
            if (unit == 0)
                for (const char* p : {"downsample.0.weight", "downsample.1.weight", "downsample.1.bias"})
                    torch.push_back(u + p);
        }
        torch.push_back("fc.weight");
        torch.push_back("fc.bias");
        std::vector<std::pair<std::string, Param*>> ours;
        for (auto& [param_name, p] : net.named_params()) {
            const bool conv_bias = param_name.find(".conv") != std::string::npos && p->name == "bias";
            if (!conv_bias) ours.emplace_back(param_name, p);
        }
        REQUIRE(ours.size() == torch.size());
        for (size_t i = 0; i < ours.size(); ++i) {
            CAPTURE(ours[i].first);
            CAPTURE(torch[i]);
            const cv::Mat expected = test::read_tensor(ref(name), group + "grad/" + torch[i]);
            const double d = test::diff(ours[i].second->grad, expected).max_abs;
            MESSAGE(ours[i].first << " vs " << torch[i] << ": max |grad - PyTorch's| " << d);
            CHECK(d <= tolerance(expected));
        }
        // Frozen statistics are the source's after the step; trained ones moved towards the batch's.
        bool moved = false;
        for (const auto& [key, value] : save_weights(net))
            if (key.find("running_") != std::string::npos) moved |= cv::norm(value, before.at(key), cv::NORM_INF) > 0;
        CHECK(moved == !frozen);
    }

    TEST_CASE("one training step of ResNet-18's layer4 and a new classifier gives PyTorch's gradients") {
        check_training_step("step/", false);
    }

    TEST_CASE("the same step with frozen batch-norm statistics gives PyTorch's eval()-mode gradients") {
        check_training_step("step_frozen/", true);
    }
}  // TEST_SUITE

TEST_SUITE("parity") {
    TEST_CASE("fine-tuning ResNet-18 from block 4 exports a graph stock OpenCV loads with cvtl's logits") {
        test::TempDir dir;
        const std::string name = "tiny_resnet18", cache = dir / "c.h5", run = dir / "run", onnx = dir / "m.onnx";
        const auto x =
            test::run_cvtl({"extract", test::fixture(name + ".onnx"), test::fixture("images"), "-o", cache, "--taps",
                            "block3,block4,features", "--val-fraction", "0.25", "--batch", "5", "--threads", "2"});
        CAPTURE(x.err);
        REQUIRE(x.exit_code == 0);
        CHECK(x.out.find("onednn f32") != std::string::npos);  // the fast path ran the residual graph
        const auto t = test::run_cvtl({"train", cache, "-o", run, "--strategy", "finetune", "--from-block", "4",
                                       "--epochs", "2", "--batch", "4", "--threads", "2", "--seed", "1"});
        CAPTURE(t.err);
        REQUIRE(t.exit_code == 0);
        const auto e = test::run_cvtl({"export", run, "-o", onnx});
        CAPTURE(e.err);
        REQUIRE(e.exit_code == 0);
        // Stock OpenCV, no cvtl code, on PyTorch's preprocessed input, read before the Softmax at the last
        // fully connected layer; against cvtl's trained layers on PyTorch's block3.
        const RunState state = load_run_state(run + "/model.h5");
        const NetworkSpec spec = NetworkSpec::from_json(state.spec);
        CHECK(std::any_of(spec.layers.begin(), spec.layers.end(), [](const LayerSpec& l) { return l.type == "add"; }));
        cv::dnn::Net stock = cv::dnn::readNet(onnx);
        stock.setInput(test::read_tensor(ref(name), "input"));
        std::string logits, layer;
        for (const LayerSpec& l : spec.layers)
            if (l.type == "linear") logits = l.name;
        for (const std::string& n : stock.getLayerNames())
            if (n.size() >= logits.size() && n.compare(n.size() - logits.size(), logits.size(), logits) == 0) layer = n;
        REQUIRE(!layer.empty());
        const cv::Mat exported = stock.forward(layer).clone();
        Network trained(spec);
        load_weights(trained, state.weights);
        const cv::Mat expected = trained.forward(test::read_tensor(ref(name), "block3"), false);
        const double d = test::diff(exported.reshape(1, expected.rows), expected).max_abs;
        MESSAGE("exported fine-tuned ResNet-18 in stock OpenCV: max |logits - cvtl's| " << d);
        CHECK(d <= 1e-4);
    }

    TEST_CASE("cvtl sweep on a MobileNetV2 cache runs to a best.onnx that stock OpenCV loads") {
        test::TempDir dir;
        const std::string cache = dir / "c.h5";
        const auto x =
            test::run_cvtl({"extract", test::fixture("tiny_mobilenet_v2.onnx"), test::fixture("images"), "-o", cache,
                            "--taps", "block4,features", "--val-fraction", "0.25", "--batch", "6", "--threads", "2"});
        CAPTURE(x.err);
        REQUIRE(x.exit_code == 0);
        const auto s = test::run_cvtl({"sweep", cache, "-o", dir / "sweep", "--only", "classifier,finetune-b5",
                                       "--folds", "2", "--steps", "6", "--batch", "4", "--threads", "2"},
                                      {"CVTL_PROGRESS_SECONDS=0"});
        CAPTURE(s.err);
        REQUIRE(s.exit_code == 0);
        const std::string csv = test::read_file(dir / "sweep/sweep.csv");
        CHECK(csv.find("classifier-features") != std::string::npos);
        CHECK(csv.find("finetune-b5") != std::string::npos);
        CHECK(csv.find("probe-features") == std::string::npos);  // the same model as the new classifier
        cv::dnn::Net stock = cv::dnn::readNet(dir / "sweep/best.onnx");
        const int shape[] = {2, 3, 64, 64};
        stock.setInput(cv::Mat(4, shape, CV_32F, cv::Scalar(0.1)));
        const cv::Mat prob = stock.forward();
        CHECK(prob.total() == 2u * 3u);  // the fixture images' three classes
    }
}  // TEST_SUITE

TEST_SUITE("unit") {
    TEST_CASE("a globally pooled model without five blocks is refused with the block ends found") {
        SourceModel model = load_model(test::fixture("not_vgg.onnx"));
        try {
            map_blocks(model.net, 32, "not_vgg.onnx");
            FAIL("expected an error");
        } catch (const Error& e) {
            const std::string msg = e.what();
            CAPTURE(msg);
            CHECK(msg.find("not_vgg.onnx cannot be mapped to five blocks: found 2 blocks ending at") !=
                  std::string::npos);
            CHECK(msg.find("(1/2)") != std::string::npos);  // the first max-pool, at half the input size
            CHECK(msg.find('\n') == std::string::npos);
        }
    }

    TEST_CASE("cvtl inspect prints a MobileNetV2's blocks and reports the Clip repair") {
        const auto r = test::run_cvtl({"inspect", test::fixture("tiny_mobilenet_v2.onnx")});
        CAPTURE(r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(r.out.find("repaired 35 ONNX Clip nodes") != std::string::npos);
        CHECK(r.out.find("backbone graph") != std::string::npos);
        CHECK(r.out.find("block4   24x4x4") != std::string::npos);
        CHECK(r.out.find("features 1280") != std::string::npos);
    }
}  // TEST_SUITE
