// cvtl-demo: the embedded default. A VGG-16-layout model pretrained on Fashion-MNIST problem P1 is
// transferred to problem P2 with every strategy, from one activation cache per n; each result is
// exported to ONNX and evaluated on P2's test set; docs/demo-results.md records what was printed.
#include "pipeline/cache_info.hpp"
#include "pipeline/evaluator.hpp"
#include "pipeline/exporter.hpp"
#include "pipeline/extractor.hpp"
#include "pipeline/trainer.hpp"
#include "plugin/error.hpp"
#include "plugin/layers/precision.hpp"
#include "tools/demo/demo_report.hpp"

#include <CLI/CLI.hpp>

#include <boost/filesystem.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <thread>

namespace fs = boost::filesystem;
using namespace cvtl;
using demo::StrategyResult;

namespace {

struct Settings {
    std::string scenario = "coarse-fine";
    std::string work = "build/demo";
    std::string report = "docs/demo-results.md";
    std::string models = "samples/models";
    std::string commit = "unknown";
    bool full = false;
    bool quick = false;     // CI: n = 10, one epoch, 20 test images per class, one learning rate
    int threads = 0;
    std::string precision = "f32";  // f32 | bf16: extraction, training and evaluation
};

struct Config {
    std::string label, key, strategy, head;
    int from_block = 5;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string tool_path(const std::string& name) {
    return (fs::read_symlink("/proc/self/exe").parent_path() / name).string();
}

// PNG trees from the IDX files, written once per scenario (and per quick/full).
std::string prepare_data(const Settings& s) {
    const std::string dir = s.work + "/data-" + s.scenario + (s.quick ? "-quick" : "");
    if (fs::exists(dir + "/.complete")) return dir;
    fs::remove_all(dir);
    std::string cmd = tool_path("cvtl-fashion-mnist") + " '" + dir + "' --scenario " + s.scenario + (s.quick ? " --n 10 --test-per-class 20" : " --n 10,100,1000");
    std::printf("preparing data: %s\n", cmd.c_str());
    std::fflush(stdout);
    if (std::system(cmd.c_str()) != 0) throw Error("preparing the Fashion-MNIST PNG trees failed (is dataset-fashion-mnist installed?)");
    std::ofstream(dir + "/.complete") << "done\n";
    return dir;
}

// Epochs for about 800 optimizer steps, the same budget at every n.
int epochs_for(std::int64_t train_rows, int batch, bool quick) {
    if (quick) return 1;
    const double steps = std::ceil(static_cast<double>(train_rows) / batch);
    return std::clamp(static_cast<int>(std::lround(800.0 / steps)), 4, 100);
}

std::int64_t train_rows(const std::string& cache) {
    std::int64_t rows = 0;
    for (const auto& c : read_cache_info(cache).counts) rows += c[0];
    return rows;
}

StrategyResult train_select_export(const Settings& s, const std::string& cache, int n, const Config& c, const std::string& p2_test) {
    const std::vector<double> grid = s.quick ? std::vector<double>{1e-3} : std::vector<double>{1e-3, 3e-4};
    StrategyResult best;
    best.strategy = c.label;
    best.key = c.key;
    best.n = n;
    best.val_accuracy = -1;
    std::string best_run;
    for (double lr : grid) {
        TrainOptions o;
        o.cache = cache;
        o.output = s.work + "/runs/" + s.scenario + "-n" + std::to_string(n) + "-" + c.key + "-lr" + std::to_string(lr).substr(0, 6);
        o.strategy = c.strategy;
        o.head = c.head;
        o.from_block = c.from_block;
        o.batch = 32;
        o.threads = s.threads;
        o.precision = s.precision;
        o.optimizer.kind = "adam";
        o.optimizer.weight_decay = 0;
        o.schedule.base_lr = lr;
        o.schedule.kind = "cosine";
        o.seed = 0;
        o.force = true;
        o.epochs = epochs_for(train_rows(cache), o.batch, s.quick);
        const auto t = std::chrono::steady_clock::now();
        TrainSummary summary;
        summary = run_training(o, {});
        const double secs = seconds_since(t);
        best.grid_seconds += secs;
        std::printf("  %-34s n=%-5d lr %-7g %2d epochs: val %.4f (%.1f s)\n", c.label.c_str(), n, lr, o.epochs, summary.best_val_accuracy, secs);
        std::fflush(stdout);
        if (summary.best_val_accuracy > best.val_accuracy) {
            best.val_accuracy = summary.best_val_accuracy;
            best.train_seconds = secs;
            best.trained_parameters = summary.trained_parameters;
            best.tap = summary.tap;
            char hyper[96];
            std::snprintf(hyper, sizeof hyper, "adam lr %g, %d epochs, cosine", lr, o.epochs);
            best.hyper = hyper;
            best_run = o.output;
        }
    }
    ExportOptions e;
    e.run = best_run;
    e.output = s.work + "/models/" + s.scenario + "-n" + std::to_string(n) + "-" + c.key + ".onnx";
    e.force = true;
    fs::create_directories(s.work + "/models");
    run_export(e);
    best.model = e.output;
    EvaluateOptions ev;
    ev.model = e.output;
    ev.data = p2_test;
    ev.batch = 256;
    ev.threads = s.threads;
    ev.classifier.engine.precision = s.precision;
    best.test_accuracy = run_evaluation(ev, {}, {}).accuracy;
    std::printf("  -> %-31s n=%-5d test %.4f (%s)\n", c.label.c_str(), n, best.test_accuracy, best.hyper.c_str());
    std::fflush(stdout);
    return best;
}

std::vector<std::string> class_folders(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (fs::is_directory(e.path())) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

long long count_files(const std::string& dir) {
    long long n = 0;
    for (fs::recursive_directory_iterator it(dir), end; it != end; ++it) n += fs::is_regular_file(it->path());
    return n;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"cvtl's demo: transfer learning on Fashion-MNIST with every strategy, reported in docs/demo-results.md"};
    Settings s;
    app.add_option("--scenario", s.scenario, "coarse-fine (P1: 4 coarse classes, P2: the 10 fine ones) or disjoint (5 + 5 classes)")
        ->capture_default_str();
    app.add_flag("--full", s.full, "Every n (10, 100, 1000) instead of n = 100");
    app.add_flag("--quick", s.quick, "Smoke run: n = 10, one epoch, 20 test images per class");
    app.add_option("--work", s.work, "Working folder (data, caches, runs, models)")->capture_default_str();
    app.add_option("--report", s.report, "Markdown report to write (a PNG plot goes next to it)")->capture_default_str();
    app.add_option("--models", s.models, "Folder of the pretrained source models")->capture_default_str();
    app.add_option("--commit", s.commit, "Commit recorded in the report")->capture_default_str();
    app.add_option("--threads", s.threads, "Threads (0: every core)")->capture_default_str();
    app.add_option("--precision", s.precision, "f32, or bf16 products (extraction, training, evaluation) on AVX512-BF16 CPUs")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    try {
        const auto start = std::chrono::steady_clock::now();
        if (s.scenario != "coarse-fine" && s.scenario != "disjoint") throw Error("unknown --scenario " + s.scenario);
        const std::string model = s.models + "/fmnist-vgg16-" + s.scenario + ".onnx";
        const std::string labels = s.models + "/fmnist-vgg16-" + s.scenario + ".labels.txt";
        if (!fs::exists(model) || !fs::exists(labels))
            throw Error(model + " or its labels are missing (tools/pretrain/pretrain_vgg16.py --scenario " + s.scenario + " makes them)");
        fs::create_directories(s.work);
        const std::string data = prepare_data(s);

        demo::DemoReport r;
        r.scenario = s.scenario;
        r.commit = s.commit;
        r.source_model = model;
        r.machine = std::to_string(std::thread::hardware_concurrency()) + " CPU threads";
        if (s.precision != "f32") {
            if (!cpu_has_bf16()) throw Error("--precision " + s.precision + " needs a CPU with AVX512-BF16; this one lacks it");
            r.machine += ", `--precision " + s.precision + "` (extraction, training and evaluation)";
        }
        char date[32];
        const std::time_t now = std::time(nullptr);
        std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
        r.date = date;
        r.ns = s.quick ? std::vector<int>{10} : s.full ? std::vector<int>{10, 100, 1000} : std::vector<int>{100};
        r.sweep_n = s.quick ? 10 : 100;
        r.p1_classes = class_folders(data + "/p1/test");
        r.p2_classes = class_folders(data + "/p2/test");
        r.p2_test_images = count_files(data + "/p2/test");

        std::printf("strategy 1: the pretrained model on P1's test set\n");
        EvaluateOptions p1;
        p1.model = model;
        p1.data = data + "/p1/test";
        p1.classifier.labels = labels;
        p1.classifier.preset = "raw";
        p1.batch = 256;
        p1.threads = s.threads;
        p1.classifier.engine.precision = s.precision;
        r.p1_accuracy = run_evaluation(p1, {}, {}).accuracy;
        std::printf("  P1 test accuracy %.4f\n", r.p1_accuracy);

        const std::vector<Config> main_configs = {{"2 classifier (pool5)", "classifier", "classifier", "source", 5},
                                                  {"3 finetune from block 5 (pool4)", "finetune5", "finetune", "source", 5},
                                                  {"3 finetune from block 4 (pool3)", "finetune4", "finetune", "source", 4},
                                                  {"4 scratch (input)", "scratch", "scratch", "source", 5}};
        const std::vector<Config> sweep_configs = {{"3 finetune from block 1 (input)", "finetune1", "finetune", "source", 1},
                                                   {"3 finetune from block 2 (pool1)", "finetune2", "finetune", "source", 2},
                                                   {"3 finetune from block 3 (pool2)", "finetune3", "finetune", "source", 3}};
        for (int n : r.ns) {
            std::printf("P2 with n = %d images per class\n", n);
            ExtractOptions x;
            x.model = model;
            x.data = data + "/p2/train-n" + std::to_string(n);
            x.output = s.work + "/cache-" + s.scenario + "-n" + std::to_string(n) + ".h5";
            x.taps = {"input", "pool1", "pool2", "pool3", "pool4", "pool5"};
            x.preset = "raw";
            x.batch = 64;
            x.threads = s.threads;
            x.precision = s.precision;
            x.val_fraction = 0.2;
            x.force = true;  // the report states the real extraction time
            const auto t = std::chrono::steady_clock::now();
            const ExtractSummary xs = run_extraction(x, {});
            r.extract_seconds.push_back(xs.already_complete ? xs.seconds : seconds_since(t));
            std::printf("  extracted %lld images once into %s (%.1f s)%s\n", static_cast<long long>(xs.rows), x.output.c_str(),
                        r.extract_seconds.back(), xs.already_complete ? " [reused]" : "");
            const std::string p2_test = data + "/p2/test";
            for (const Config& c : main_configs) r.main.push_back(train_select_export(s, x.output, n, c, p2_test));
            if (n == r.sweep_n) {
                for (const Config& c : sweep_configs) r.sweep.push_back(train_select_export(s, x.output, n, c, p2_test));
                for (const auto& m : r.main)
                    if (m.n == n && m.key != "scratch") r.sweep.push_back(m);
                std::sort(r.sweep.begin(), r.sweep.end(), [](const StrategyResult& a, const StrategyResult& b) { return a.key < b.key; });
            }
        }
        r.selection = std::string("For every strategy and n, each learning rate of ") + (s.quick ? "{1e-3}" : "{1e-3, 3e-4}") +
                      " was trained (Adam, no weight decay, cosine schedule, batch 32, dropout 0.5 in the classifier, seed 0, about 800 "
                      "optimizer steps: epochs = clamp(800 / steps per epoch, 4, 100)" + (s.quick ? ", here 1 epoch" : "") +
                      "); the run directory keeps the epoch with the best validation accuracy, and the learning rate with the best "
                      "validation accuracy was exported and tested. The test set played no part in any choice.";
        r.total_seconds = seconds_since(start);
        fs::create_directories(fs::path(s.report).parent_path().empty() ? "." : fs::path(s.report).parent_path());
        std::printf("\n%s", demo::write_demo_report(r, s.report).c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cvtl-demo: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
