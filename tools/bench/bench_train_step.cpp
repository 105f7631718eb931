// cvtl_bench_train_step: per-image time of one training step (forward in training mode, softmax
// cross-entropy, backward, SGD momentum 0.9 + weight decay 5e-4) on VGG-16's cached-head shapes.
// tools/bench/torch_train_step.py times the same steps in PyTorch; bench_train.sh compares the two.
//
//   (a) classifier  pool5 [512, 7, 7] -> flatten -> fc 25088->4096 ReLU, dropout -> fc 4096->4096 ReLU,
//                   dropout -> fc 4096->10
//   (b) finetune5   pool4 [512, 14, 14] -> 3x (conv3x3 512->512 pad 1, ReLU) -> max pool 2 ->
//                   avg pool kernel 1 (torchvision's AdaptiveAvgPool2d(7), the identity at 7x7, kept
//                   because build_head keeps it) -> the classifier of (a)
//   (c) probe       fc7 [4096] -> fc 4096->10
//
// Prints one JSON line per case: {"impl": "cvtl", "case", "ms_per_image" (median over repetitions), ...}.
// --profile adds one line per case with each layer's forward and backward time (medians over steps).
// --frozen-model VGG16.onnx adds case "frozen": the stock cv::dnn forward of blocks 1-4
// (to pool4) and blocks 1-5 (to pool5) at 224x224, what training without the cache re-runs every epoch.
#include "pipeline/engine/optimizer.hpp"
#include "plugin/block_map.hpp"
#include "pipeline/core/error.hpp"
#include "plugin/head_builder.hpp"
#include "pipeline/engine/layers/onednn_context.hpp"
#include "pipeline/engine/layers/softmax_cross_entropy.hpp"
#include "plugin/model_loader.hpp"
#include "pipeline/engine/network.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;
using cvtl::LayerSpec;
using cvtl::NetworkSpec;
using nlohmann::json;

constexpr int kClasses = 10;
constexpr double kLearningRate = 1e-3;  // small: the random labels must not make the run diverge

struct Options {
    std::string cases = "a,b,c";
    int batch_a = 32, batch_b = 16, batch_c = 32;
    int threads = 2;
    std::string precision = "f32";  // f32 | bf16: the arithmetic of the products (Network::set_precision)
    std::string optimizer = "sgd";  // sgd (momentum 0.9) | adam | adamw, weight decay 5e-4 for all
    int warmup = 3;                 // untimed steps first: primitive creation, first-touch of buffers
    int reps = 5;                   // ms_per_image is the median over these
    int min_steps = 2;              // each repetition runs at least this many steps ...
    double min_rep_s = 1;           // ... and at least this long
    bool profile = false;
    std::string frozen_model;  // ONNX VGG-16; empty: no frozen-forward timing
    int frozen_batch = 16;
    int frozen_reps = 3;
};

struct Case {
    std::string id, what;
    NetworkSpec spec;
    int batch;
};

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

json rounded(double v, int digits = 3) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return json::parse(buf);
}

// CPU time (clock ticks) the whole machine and this process have used: their difference over a measurement is
// what other processes took, which marks a disturbed measurement (the machine is shared).
struct CpuSample {
    long long machine = 0, own = 0;
    Clock::time_point at = Clock::now();
};

CpuSample cpu_sample() {
    CpuSample s;
    std::ifstream stat("/proc/stat");
    std::string cpu;
    stat >> cpu;
    long long v = 0;
    for (int field = 0; field < 8 && stat >> v; ++field)
        if (field != 3 && field != 4) s.machine += v;  // all but idle and iowait (steal counts: the host took it)
    std::ifstream self("/proc/self/stat");
    std::string line;
    std::getline(self, line);
    std::istringstream rest(line.substr(line.rfind(')') + 2));  // after "pid (comm) "
    std::string skip;
    for (int field = 3; field < 14; ++field) rest >> skip;
    long long utime = 0, stime = 0;
    rest >> utime >> stime;
    s.own = utime + stime;
    return s;
}

// Percent of the machine's CPU capacity used by other processes between `a` and `b`; null under a second,
// where the clock ticks (1/100 s) are too coarse to tell.
json foreign_cpu_percent(const CpuSample& a, const CpuSample& b) {
    const double seconds = std::chrono::duration<double>(b.at - a.at).count();
    if (seconds < 1) return json();
    const double capacity =
        seconds * static_cast<double>(sysconf(_SC_CLK_TCK)) * std::max(1u, std::thread::hardware_concurrency());
    return rounded(std::max(0.0, 100.0 * static_cast<double>((b.machine - a.machine) - (b.own - a.own)) / capacity), 1);
}

// Flatten, then fc6..fc8 as torchvision's VGG classifier (named as build_head names them): ReLU fused into
// fc6/fc7, dropout 0.5 after each, a new 10-class output layer.
void add_classifier(std::vector<LayerSpec>& layers) {
    layers.push_back({"classifier.flatten", "classifier", "flatten", json::object()});
    layers.push_back({"classifier.fc1", "classifier", "linear", {{"in", 512 * 7 * 7}, {"out", 4096}, {"relu", true}}});
    layers.push_back({"classifier.dropout1", "classifier", "dropout", {{"p", 0.5}, {"seed", 1}}});
    layers.push_back({"classifier.fc2", "classifier", "linear", {{"in", 4096}, {"out", 4096}, {"relu", true}}});
    layers.push_back({"classifier.dropout2", "classifier", "dropout", {{"p", 0.5}, {"seed", 2}}});
    layers.push_back({"classifier.fc3", "classifier", "linear", {{"in", 4096}, {"out", kClasses}, {"relu", false}}});
}

std::vector<Case> make_cases(const Options& o) {
    std::vector<Case> cases;
    for (size_t start = 0; !o.cases.empty() && start <= o.cases.size();) {
        size_t end = o.cases.find(',', start);
        if (end == std::string::npos) end = o.cases.size();
        const std::string id = o.cases.substr(start, end - start);
        start = end + 1;
        Case c{id, "", {}, 0};
        if (id == "a") {
            c.what = "classifier on pool5";
            c.batch = o.batch_a;
            c.spec.input_shape = {512, 7, 7};
            c.spec.input_tap = "pool5";
            add_classifier(c.spec.layers);
        } else if (id == "b") {
            c.what = "finetune block5 on pool4";
            c.batch = o.batch_b;
            c.spec.input_shape = {512, 14, 14};
            c.spec.input_tap = "pool4";
            for (int i = 1; i <= 3; ++i)
                c.spec.layers.push_back(
                    {"block5.conv" + std::to_string(i),
                     "block5",
                     "conv2d",
                     {{"in", 512}, {"out", 512}, {"kernel", 3}, {"stride", 1}, {"pad", 1}, {"relu", true}}});
            c.spec.layers.push_back(
                {"block5.pool", "block5", "max_pool", {{"kernel", 2}, {"stride", 2}, {"pad", 0}, {"ceil", false}}});
            c.spec.layers.push_back({"classifier.avgpool",
                                     "classifier",
                                     "avg_pool",
                                     {{"kernel", 1}, {"stride", 1}, {"pad", 0}, {"include_pad", true}}});
            add_classifier(c.spec.layers);
        } else if (id == "c") {
            c.what = "linear probe on fc7";
            c.batch = o.batch_c;
            c.spec.input_shape = {4096};
            c.spec.input_tap = "fc7";
            c.spec.layers.push_back(
                {"probe.linear", "classifier", "linear", {{"in", 4096}, {"out", kClasses}, {"relu", false}}});
        } else {
            throw cvtl::Error("--cases expects a comma-separated list of a, b, c; found '" + id + "'");
        }
        cases.push_back(std::move(c));
    }
    return cases;
}

// A cached activation batch: post-ReLU/max-pool values, so uniform in [0, 1).
cv::Mat random_input(const Case& c, std::mt19937& rng) {
    std::vector<int> shape{c.batch};
    shape.insert(shape.end(), c.spec.input_shape.begin(), c.spec.input_shape.end());
    cv::Mat input(shape, CV_32F);
    std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
    for (size_t i = 0; i < input.total(); ++i) input.ptr<float>()[i] = uniform(rng);
    return input;
}

struct StepTimes {
    double forward = 0, loss = 0, backward = 0, optimizer = 0;
};

// One step as the trainer runs it (pipeline/train/trainer.cpp); returns how long each phase took.
StepTimes train_step(cvtl::Network& net, cvtl::Optimizer& optimizer, const cv::Mat& input,
                     const std::vector<int>& labels, cv::Mat& diff) {
    StepTimes t;
    auto mark = Clock::now();
    const cv::Mat& logits = net.forward(input, true);
    t.forward = ms_since(mark);
    mark = Clock::now();
    cvtl::softmax_cross_entropy(logits, labels, diff);
    t.loss = ms_since(mark);
    mark = Clock::now();
    net.backward(diff);
    t.backward = ms_since(mark);
    mark = Clock::now();
    optimizer.step(kLearningRate);
    t.optimizer = ms_since(mark);
    return t;
}

json time_case(const Case& c, cvtl::Network& net, cvtl::Optimizer& optimizer, const cv::Mat& input,
               const std::vector<int>& labels, const Options& o) {
    cv::Mat diff;
    for (int i = 0; i < o.warmup; ++i) train_step(net, optimizer, input, labels, diff);
    std::vector<double> per_image;
    std::vector<StepTimes> steps;
    const CpuSample before = cpu_sample();
    for (int r = 0; r < o.reps; ++r) {
        const auto start = Clock::now();
        int n = 0;
        while (n < o.min_steps || ms_since(start) < 1000 * o.min_rep_s) {
            steps.push_back(train_step(net, optimizer, input, labels, diff));
            ++n;
        }
        per_image.push_back(ms_since(start) / (n * c.batch));
    }
    const json foreign = foreign_cpu_percent(before, cpu_sample());
    auto phase = [&](double StepTimes::*field) {
        std::vector<double> v;
        for (const StepTimes& s : steps) v.push_back(s.*field);
        return rounded(median(v));
    };
    std::vector<json> reps;
    for (double v : per_image) reps.push_back(rounded(v));
    const double ms = median(per_image);
    return {{"impl", "cvtl"},
            {"case", c.id},
            {"what", c.what},
            {"batch", c.batch},
            {"threads", o.threads},
            {"precision", o.precision},
            {"optimizer", o.optimizer},
            {"ms_per_image", rounded(ms)},
            {"images_per_s", rounded(1000 / ms, 2)},
            {"ms_per_image_reps", reps},
            {"steps", steps.size()},
            {"foreign_cpu_percent", foreign},
            {"phase_ms_per_step",
             {{"forward", phase(&StepTimes::forward)},
              {"loss", phase(&StepTimes::loss)},
              {"backward", phase(&StepTimes::backward)},
              {"optimizer", phase(&StepTimes::optimizer)}}}};
}

// Wraps a set-up layer: forwards every call to it and records how long forward and backward took, so a
// profile runs exactly the calls Network::forward/backward make.
class TimedLayer : public cvtl::Layer {
public:
    explicit TimedLayer(std::unique_ptr<cvtl::Layer> inner) : inner_(std::move(inner)) {}

    std::string type() const override { return inner_->type(); }
    std::vector<int> setup(const std::vector<int>& src_shape) override { return inner_->setup(src_shape); }
    void forward(const cv::Mat& src, cv::Mat& dst, bool train) override {
        const auto start = Clock::now();
        inner_->forward(src, dst, train);
        forward_ms.push_back(ms_since(start));
    }
    void backward(const cv::Mat& src, const cv::Mat& dst, const cv::Mat& diff_dst, cv::Mat& diff_src,
                  bool need_diff_src) override {
        const auto start = Clock::now();
        inner_->backward(src, dst, diff_dst, diff_src, need_diff_src);
        backward_ms.push_back(ms_since(start));
        diff_src_asked = need_diff_src;
    }
    std::vector<cvtl::Param*> params() override { return inner_->params(); }

    std::vector<double> forward_ms, backward_ms;
    bool diff_src_asked = false;

private:
    std::unique_ptr<cvtl::Layer> inner_;
};

// Each layer's forward and backward time (medians over steps), after time_case on the same network.
json profile_case(const Case& c, cvtl::Network& net, cvtl::Optimizer& optimizer, const cv::Mat& input,
                  const std::vector<int>& labels, const Options& o) {
    std::vector<TimedLayer*> timed;
    for (auto& e : net.entries()) {
        auto wrapper = std::make_unique<TimedLayer>(std::move(e.layer));
        timed.push_back(wrapper.get());
        e.layer = std::move(wrapper);
    }
    cv::Mat diff;
    std::vector<double> loss, opt;
    for (int s = 0; s < std::max(3, o.min_steps * o.reps / 2); ++s) {
        const StepTimes t = train_step(net, optimizer, input, labels, diff);
        loss.push_back(t.loss);
        opt.push_back(t.optimizer);
    }
    json layers = json::array();
    for (size_t i = 0; i < timed.size(); ++i) {
        const TimedLayer& l = *timed[i];
        layers.push_back({{"layer", net.entries()[i].spec.name},
                          {"type", l.type()},
                          {"forward_ms", rounded(median(l.forward_ms))},
                          {"backward_ms", l.backward_ms.empty() ? json() : rounded(median(l.backward_ms))},
                          {"diff_src", l.diff_src_asked}});
    }
    return {{"impl", "cvtl"},
            {"case", c.id},
            {"batch", c.batch},
            {"threads", o.threads},
            {"profile_ms_per_step", layers},
            {"loss_ms", rounded(median(loss))},
            {"optimizer_ms", rounded(median(opt))}};
}

// cv::dnn forward of `net` up to each tap on random 224x224 images; one batch per repetition.
json time_frozen(const Options& o) {
    constexpr int kSize = 224;
    cvtl::SourceModel model = cvtl::load_model(o.frozen_model);
    const cvtl::BlockMap map = cvtl::map_blocks(model.net, kSize, o.frozen_model);
    cv::Mat blob(std::vector<int>{o.frozen_batch, 3, kSize, kSize}, CV_32F);
    cv::randn(blob, 0.0, 1.0);
    model.net.setInput(blob);
    json out = {{"impl", "cvtl"},
                {"case", "frozen"},
                {"engine", "cv::dnn (OpenCV " CV_VERSION ")"},
                {"batch", o.frozen_batch},
                {"threads", o.threads}};
    const CpuSample before = cpu_sample();
    for (const char* tap : {"pool4", "pool5"}) {
        const std::string& layer = map.tap(tap).layer_name;
        model.net.forward(layer);  // warm-up: allocates and initialises the layers
        std::vector<double> per_image;
        for (int r = 0; r < o.frozen_reps; ++r) {
            const auto start = Clock::now();
            model.net.forward(layer);
            per_image.push_back(ms_since(start) / o.frozen_batch);
        }
        std::vector<json> reps;
        for (double v : per_image) reps.push_back(rounded(v));
        out[std::string(tap) + "_ms_per_image"] = rounded(median(per_image));
        out[std::string(tap) + "_ms_per_image_reps"] = reps;
    }
    out["foreign_cpu_percent"] = foreign_cpu_percent(before, cpu_sample());
    return out;
}

void run(const Options& o) {
    if (o.threads < 1 || o.reps < 1 || o.min_steps < 1 || o.warmup < 0 || o.frozen_batch < 1 || o.frozen_reps < 1)
        throw cvtl::Error(
            "--threads, --reps, --min-steps, --frozen-batch and --frozen-reps expect at least 1, --warmup at least 0");
    cvtl::set_engine_threads(o.threads);
    cv::setNumThreads(o.threads);
    for (const Case& c : make_cases(o)) {
        if (c.batch < 1)
            throw cvtl::Error("case " + c.id + ": the batch must be at least 1, found " + std::to_string(c.batch));
        cvtl::Network net(c.spec);
        cvtl::load_weights(net, cvtl::fresh_weights(c.spec, 0));
        net.set_precision(cvtl::parse_precision(o.precision));
        cvtl::OptimizerConfig config;  // sgd momentum 0.9 unless --optimizer; decay 5e-4
        config.kind = cvtl::parse_optimizer_kind(o.optimizer);
        cvtl::Optimizer optimizer(config, net.named_params());
        std::mt19937 rng(0);
        const cv::Mat input = random_input(c, rng);
        std::vector<int> labels(static_cast<size_t>(c.batch));
        for (int& l : labels) l = std::uniform_int_distribution<int>(0, kClasses - 1)(rng);

        std::cout << time_case(c, net, optimizer, input, labels, o).dump() << std::endl;
        if (o.profile) std::cout << profile_case(c, net, optimizer, input, labels, o).dump() << std::endl;
    }
    if (!o.frozen_model.empty()) std::cout << time_frozen(o).dump() << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Per-image training-step time of cvtl's cached heads on VGG-16 shapes (one JSON line per case)"};
    Options o;
    app.option_defaults()->multi_option_policy(
        CLI::MultiOptionPolicy::TakeLast);  // a later option overrides, as in Python's argparse
    app.add_option(
           "--cases", o.cases,
           "comma-separated: a (classifier on pool5), b (finetune block5 on pool4), c (probe on fc7); empty: none")
        ->capture_default_str();
    app.add_option("--batch-a", o.batch_a, "batch of case a")->capture_default_str();
    app.add_option("--batch-b", o.batch_b, "batch of case b")->capture_default_str();
    app.add_option("--batch-c", o.batch_c, "batch of case c")->capture_default_str();
    app.add_option("--threads", o.threads, "OpenMP threads for oneDNN and the layers")->capture_default_str();
    app.add_option("--precision", o.precision, "f32, or bf16 (AVX512-BF16 CPUs)")->capture_default_str();
    app.add_option("--optimizer", o.optimizer, "sgd (momentum 0.9), adam or adamw")->capture_default_str();
    app.add_option("--warmup", o.warmup, "untimed steps before timing")->capture_default_str();
    app.add_option("--reps", o.reps, "timed repetitions (the median is reported)")->capture_default_str();
    app.add_option("--min-steps", o.min_steps, "steps per repetition, at least")->capture_default_str();
    app.add_option("--min-rep-s", o.min_rep_s, "seconds per repetition, at least")->capture_default_str();
    app.add_flag("--profile", o.profile, "also time each layer's forward and backward");
    app.add_option("--frozen-model", o.frozen_model, "ONNX VGG-16: also time the cv::dnn forward to pool4 and pool5")
        ->check(CLI::ExistingFile);
    app.add_option("--frozen-batch", o.frozen_batch, "batch of the frozen forward")->capture_default_str();
    app.add_option("--frozen-reps", o.frozen_reps, "timed batches of the frozen forward (median)")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    try {
        run(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cvtl_bench_train_step: %s\n", e.what());
        return 1;
    }
    return 0;
}
