// A Caffe model (deploy.prototxt + .caffemodel) through every command that reads a source model, against
// PyTorch's outputs (tests/fixtures/make_caffe_fixture.py: tiny VGG-11, input 57, ceil-mode pools).
#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/extractor.hpp"
#include "pipeline/cache/tap_engine.hpp"
#include "pipeline/engine/layers/softmax_cross_entropy.hpp"
#include "pipeline/engine/network.hpp"
#include "pipeline/engine/weights.hpp"
#include "pipeline/train/run_state.hpp"
#include "plugin/block_map.hpp"
#include "plugin/tap_name.hpp"
#include "pipeline/core/error.hpp"
#include "plugin/model_loader.hpp"
#include "pipeline/core/sha256.hpp"
#include "plugin/tap_forward.hpp"
#include "support/fixtures.hpp"
#include "support/reference.hpp"
#include "support/subprocess.hpp"

#include <doctest/doctest.h>

#include <boost/filesystem.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>

using namespace cvtl;

namespace {

const std::string kName = "tiny_vgg11_caffe57";
const std::string kRef = kName + ".ref.h5";
const std::vector<std::string> kClasses = {"cat", "dog", "fish"};

// The fixture with its weights moved away from the prototxt (and renamed), so that only --weights,
// or what a previous command recorded, can find them.
struct SplitModel {
    test::TempDir dir;
    std::string prototxt = dir / "deploy.prototxt";
    std::string weights = dir / "weights.bin.caffemodel";
    SplitModel() {
        test::write_file(prototxt, test::read_file(test::fixture(kName + ".prototxt")));
        test::write_file(weights, test::read_file(test::fixture(kName + ".caffemodel")));
    }
};

// 1e-4, or 1e-5 of the reference's largest magnitude where that is larger: pool1 and pool2 carry the
// caffe preset's 0-255 scale (up to 111 here), where float32's 7 digits leave about 1e-5 relative.
double tolerance(const cv::Mat& reference) {
    return std::max(1e-4, 1e-5 * cv::norm(reference.reshape(1, 1), cv::NORM_INF));
}

std::vector<std::string> reference_paths() {
    return nlohmann::json::parse(test::read_root_string(test::fixture(kRef), "paths")).get<std::vector<std::string>>();
}

// Rows [N, classes] from `cvtl predict --json --top-k 3` output, in reference order.
cv::Mat predicted_probabilities(const std::string& out) {
    const std::vector<std::string> paths = reference_paths();
    cv::Mat probs(static_cast<int>(paths.size()), static_cast<int>(kClasses.size()), CV_32F, cv::Scalar(-1));
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
        const auto j = nlohmann::json::parse(line);
        const std::string path = j.at("path");
        for (size_t row = 0; row < paths.size(); ++row) {
            if (path.size() < paths[row].size() ||
                path.compare(path.size() - paths[row].size(), std::string::npos, paths[row]) != 0)
                continue;
            for (const auto& t : j.at("top")) {
                const auto col =
                    std::find(kClasses.begin(), kClasses.end(), t.at("class").get<std::string>()) - kClasses.begin();
                probs.at<float>(static_cast<int>(row), static_cast<int>(col)) = t.at("probability").get<float>();
            }
        }
    }
    return probs;
}

// What a run's trained layers give on PyTorch's activations at the run's tap: the reference for a
// Caffe source's export, whose frozen layers are the Caffe model's.
cv::Mat run_on_reference(const std::string& run) {
    const RunState state = load_run_state(run + "/model.h5");
    Network trained(NetworkSpec::from_json(state.spec));
    load_weights(trained, state.weights);
    return softmax_rows(
        trained.forward(test::read_tensor(test::fixture(kRef), state.meta.at("tap").get<std::string>()), false));
}

std::vector<std::string> extract_args(const SplitModel& m, const std::string& cache) {
    return {"extract",
            m.prototxt,
            test::fixture("images"),
            "-o",
            cache,
            "--weights",
            m.weights,
            "--preset",
            "caffe",
            "--taps",
            "pool3,pool4,pool5,fc7",
            "--val-fraction",
            "0.25",
            "--batch",
            "5",
            "--threads",
            "2"};
}

}  // namespace

TEST_SUITE("parity") {
    TEST_CASE("a Caffe model loads with its declared input size and every tap equals PyTorch's on both engines") {
        SourceModel model = load_model(test::fixture(kName + ".prototxt"));
        CHECK(model.format == ModelFormat::caffe);
        CHECK(model.input_size == 57);  // from the Input layer: no --size needed
        CHECK(model.weights == test::fixture(kName + ".caffemodel"));
        CHECK(model.sha256 ==
              sha256_bytes(sha256_file(test::fixture(kName + ".prototxt")) + sha256_file(model.weights)));
        BlockMap map = map_vgg_blocks(model.net, model.input_size, kName);
        const std::string ref = test::fixture(kRef);
        const cv::Mat input = test::read_tensor(ref, "input");
        std::vector<std::string> taps = tap::all();
        taps.erase(taps.begin());  // the input is not computed
        const std::vector<cv::Mat> stock = forward_taps(model.net, map, taps, input);
        std::string warnings;
        Events events;
        events.warn = [&](const std::string& w) { warnings += w; };
        TapEngine fast(model, map, taps, {Engine::onednn, Precision::f32, Backend::cpu, 2}, events);
        const std::vector<cv::Mat> fast_out = fast(input);
        CHECK(warnings.empty());  // no fallback to stock cv::dnn
        CHECK(fast.description() == "onednn f32");
        for (size_t i = 0; i < taps.size(); ++i) {
            CAPTURE(taps[i]);
            const cv::Mat expected = test::read_tensor(ref, taps[i]);
            const double a = test::diff(stock[i], expected).max_abs, b = test::diff(fast_out[i], expected).max_abs;
            MESSAGE("tap " << taps[i] << ": max |opencv - PyTorch| " << a << ", max |onednn - PyTorch| " << b);
            CHECK(a <= tolerance(expected));
            CHECK(b <= tolerance(expected));
        }
    }

    TEST_CASE("cvtl extract of a Caffe model with --weights caches PyTorch's taps and records both files") {
        SplitModel m;
        const std::string cache = m.dir / "c.h5";
        const auto r = test::run_cvtl(extract_args(m, cache));
        CAPTURE(r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(test::read_root_string(cache, cache::kAttrModelFile) == m.prototxt);
        CHECK(test::read_root_string(cache, cache::kAttrModelWeights) == m.weights);
        CHECK(test::read_string_list(cache, cache::kSamplesPath) == reference_paths());
        for (const std::string tap : {"pool3", "pool4", "pool5", "fc7"}) {
            const double d =
                test::diff(test::read_tensor(cache, "/taps/" + tap), test::read_tensor(test::fixture(kRef), tap))
                    .max_abs;
            MESSAGE("extract " << tap << ": max |cache - PyTorch| " << d);
            CHECK(d <= 1e-4);
        }
        const auto c = test::run_cvtl({"cache", cache});
        CHECK(c.out.find("deploy.prototxt + " + m.weights) != std::string::npos);
    }

    TEST_CASE("cvtl predict and evaluate run a Caffe source model as it is with PyTorch's probabilities") {
        SplitModel m;
        test::write_file(m.dir / "labels.txt", "cat\ndog\nfish\n");
        const cv::Mat expected = softmax_rows(test::read_tensor(test::fixture(kRef), "logits"));
        for (const std::string engine : {"onednn", "opencv"}) {  // opencv: the prototxt's own Softmax
            CAPTURE(engine);
            const auto r = test::run_cvtl({"predict", m.prototxt, test::fixture("images"), "--weights", m.weights,
                                           "--labels", m.dir / "labels.txt", "--preset", "caffe", "--json", "--top-k",
                                           "3", "--engine", engine});
            CAPTURE(r.err);
            REQUIRE(r.exit_code == 0);
            const double d = test::diff(predicted_probabilities(r.out), expected).max_abs;
            MESSAGE("predict (" << engine << ") source model: max |cvtl - PyTorch| " << d);
            CHECK(d <= 1e-4);
        }
        const auto e = test::run_cvtl({"evaluate", m.prototxt, test::fixture("images"), "--weights", m.weights,
                                       "--labels", m.dir / "labels.txt", "--preset", "caffe", "--top-k", "3"});
        CAPTURE(e.err);
        CHECK(e.exit_code == 0);
        CHECK(e.out.find("evaluated 12 images (0 skipped)") != std::string::npos);
        CHECK(e.out.find("top-3 1.0000") != std::string::npos);
    }

    TEST_CASE(
        "train then export then predict and evaluate from a Caffe cache find the weights the cache and the run "
        "recorded") {
        SplitModel m;
        const std::string cache = m.dir / "c.h5";
        REQUIRE(test::run_cvtl(extract_args(m, cache)).exit_code == 0);
        // A probe never loads the source while training; a fine-tune builds blocks 4-5 from the Caffe layers.
        for (const std::vector<std::string>& strategy :
             std::vector<std::vector<std::string>>{{"--strategy", "classifier", "--head", "linear", "--tap", "fc7"},
                                                   {"--strategy", "finetune", "--from-block", "4"}}) {
            CAPTURE(strategy[1]);
            const std::string run = m.dir / ("run-" + strategy[1]), onnx = m.dir / ("model-" + strategy[1] + ".onnx");
            std::vector<std::string> train{"train",   cache, "-o",        run, "--epochs", "2",
                                           "--batch", "4",   "--threads", "2", "--seed",   "1"};
            train.insert(train.end(), strategy.begin(), strategy.end());
            const auto t = test::run_cvtl(train);
            CAPTURE(t.err);
            REQUIRE(t.exit_code == 0);
            CHECK(load_run_state(run + "/model.h5").meta.at("source_model_weights") == m.weights);
            const auto x = test::run_cvtl({"export", run, "-o", onnx});
            CAPTURE(x.err);
            REQUIRE(x.exit_code == 0);
            const auto p = test::run_cvtl({"predict", onnx, test::fixture("images"), "--json", "--top-k", "3"});
            REQUIRE(p.exit_code == 0);
            const double d = test::diff(predicted_probabilities(p.out), run_on_reference(run)).max_abs;
            MESSAGE(strategy[1] << ": max |exported model - trained layers on PyTorch's "
                                << load_run_state(run + "/model.h5").meta.at("tap") << "| " << d << "; " << x.out);
            CHECK(d <= 1e-4);
            const auto e = test::run_cvtl({"evaluate", onnx, test::fixture("images")});
            CHECK(e.exit_code == 0);
            CHECK(e.out.find("evaluated 12 images (0 skipped)") != std::string::npos);
        }
    }

    TEST_CASE("cvtl sweep on a Caffe cache trains and exports its winner from the weights the cache recorded") {
        SplitModel m;
        const std::string cache = m.dir / "c.h5";
        REQUIRE(test::run_cvtl(extract_args(m, cache)).exit_code == 0);
        const auto s = test::run_cvtl({"sweep", cache, "-o", m.dir / "sweep", "--only", "finetune-b5", "--folds", "2",
                                       "--steps", "10", "--batch", "4", "--threads", "2"},
                                      {"CVTL_PROGRESS_SECONDS=0"});
        CAPTURE(s.err);
        REQUIRE(s.exit_code == 0);
        // A log sees the sweep move inside each training: candidate, fold and epoch.
        CHECK(s.err.find("cvtl: sweep rung 1/") != std::string::npos);
        CHECK(s.err.find(" fold 1, epoch 1/") != std::string::npos);
        CHECK(s.err.find('\r') == std::string::npos);
        const auto p =
            test::run_cvtl({"predict", m.dir / "sweep/best.onnx", test::fixture("images"), "--json", "--top-k", "3"});
        REQUIRE(p.exit_code == 0);
        std::string winner;  // the one candidate retrained on all labelled samples
        for (const auto& e : boost::filesystem::directory_iterator(m.dir / "sweep/runs"))
            if (boost::filesystem::exists(e.path() / "all")) winner = (e.path() / "all").string();
        REQUIRE(!winner.empty());
        const double d = test::diff(predicted_probabilities(p.out), run_on_reference(winner)).max_abs;
        MESSAGE("sweep finetune-b5: max |exported winner - trained layers on PyTorch's pool4| " << d);
        CHECK(d <= 1e-4);
    }

}  // TEST_SUITE

TEST_SUITE("unit") {
    TEST_CASE("cvtl inspect reads a Caffe model's size from its prototxt and names --weights when they are elsewhere") {
        const auto r = test::run_cvtl({"inspect", test::fixture(kName + ".prototxt")});
        CAPTURE(r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(r.out.find("(caffe, sha256") != std::string::npos);
        CHECK(r.out.find("input    3x57x57\n") != std::string::npos);  // not "(from --size)"
        CHECK(r.out.find("pool1    4x29x29") != std::string::npos);    // ceil mode: floor would give 28
        CHECK(r.out.find("pool5    8x2x2") != std::string::npos);
        CHECK(r.out.find("logits   3 ") != std::string::npos);

        SplitModel m;
        const auto missing = test::run_cvtl({"inspect", m.prototxt});
        CHECK(missing.exit_code == 1);
        CHECK(missing.err.find("pass --weights FILE") != std::string::npos);
        CHECK(test::run_cvtl({"inspect", m.prototxt, "--weights", m.weights}).exit_code == 0);
        const auto onnx = test::run_cvtl({"inspect", test::fixture("tiny_vgg16.onnx"), "--weights", m.weights});
        CHECK(onnx.exit_code == 1);
        CHECK(onnx.err.find("Caffe models (.prototxt) only") != std::string::npos);
    }

    TEST_CASE(
        "choose_model: a named prototxt brings its own weights and the recorded ones go with the recorded prototxt") {
        const ModelFiles recorded{"a.prototxt", "w/a.caffemodel"};
        CHECK(choose_model({"", ""}, recorded).weights == "w/a.caffemodel");
        CHECK(choose_model({"", "x.caffemodel"}, recorded).weights == "x.caffemodel");
        CHECK(choose_model({"b.prototxt", ""}, recorded).weights.empty());
        CHECK(choose_model({"b.prototxt", ""}, recorded).path == "b.prototxt");
    }

    TEST_CASE("a cache whose recorded Caffe weights are gone is trained from --weights and other weights are refused") {
        SplitModel m;
        const std::string cache = m.dir / "c.h5";
        REQUIRE(test::run_cvtl(extract_args(m, cache)).exit_code == 0);
        const std::string moved = m.dir / "moved.caffemodel";
        boost::filesystem::rename(m.weights, moved);
        const std::vector<std::string> train{"train",        cache, "-o",       m.dir / "run", "--strategy", "finetune",
                                             "--from-block", "5",   "--epochs", "1",           "--batch",    "4",
                                             "--threads",    "2"};
        const auto lost = test::run_cvtl(train);
        CHECK(lost.exit_code == 1);
        CHECK(lost.err.find("--weights") != std::string::npos);
        std::vector<std::string> found = train;
        found.insert(found.end(), {"--weights", moved});
        CHECK(test::run_cvtl(found).exit_code == 0);
        // Other weights for the same prototxt are another model: the cache's sha256 refuses them.
        // NetParameter.name (field 1) once more: still a valid caffemodel, with other bytes.
        test::write_file(m.dir / "other.caffemodel", test::read_file(moved) + std::string("\x0a\x01x"));
        std::vector<std::string> other = train;
        other.insert(other.end(), {"--weights", m.dir / "other.caffemodel", "--force"});
        const auto refused = test::run_cvtl(other);
        CHECK(refused.exit_code == 1);
        CHECK(refused.err.find("another model") != std::string::npos);
    }

}  // TEST_SUITE
