// cvtl-demo: the embedded default. A VGG-16-layout model pretrained on Fashion-MNIST problem P1 is
// transferred to problem P2 with every strategy, from one activation cache per n; each result is
// exported to ONNX and evaluated on P2's test set; docs/demo-results.md records what was printed.
#include "pipeline/deploy/evaluator.hpp"
#include "pipeline/deploy/exporter.hpp"
#include "pipeline/cache/cache_info.hpp"
#include "pipeline/cache/extractor.hpp"
#include "pipeline/data/augment.hpp"
#include "pipeline/deploy/sweep_export.hpp"
#include "pipeline/train/sweep.hpp"
#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/precision.hpp"
#include "tools/cvtl/named_option.hpp"
#include "tools/demo/demo_report.hpp"
#include "plugin/tap_name.hpp"
#include "plugin/thread_policy.hpp"

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
using demo::CacheRun;
using demo::StrategyResult;

namespace {

// A source model the demo can transfer from: samples/models/fmnist-ARCH-SCENARIO.onnx, made by
// tools/pretrain/pretrain.py --arch ARCH.
struct Source {
    std::string name;         // --backbone's word
    std::string arch;         // pretrain.py's --arch, and the model file's middle
    std::string description;  // for the report
    tap::Style style;         // how cvtl maps its blocks, so which taps the cache holds
};

const std::vector<Source> kSources{{"vgg", "vgg16", "VGG-16 layout", tap::Style::vgg},
                                   {"resnet", "resnet18", "ResNet-18 layout", tap::Style::graph}};

const Source& find_source(const std::string& name) {
    for (const auto& src : kSources)
        if (src.name == name) return src;
    throw Error("unknown --backbone " + name + "; use vgg or resnet (or both, comma-separated)");
}

struct Settings {
    std::string scenario = "coarse-fine";
    std::string work = "build/demo";
    std::string report = "build/demo/demo-results.md";
    std::string models = "samples/models";
    std::string commit = "unknown";
    std::string command = "tools/demo.sh";
    bool full = false;
    bool quick = false;  // CI: n = 10, 4-epoch trainings, 20 test images per class
    int threads = 0;
    Precision precision = Precision::f32;  // extraction, training and evaluation
    std::vector<int> n_list;               // --n: exactly these n (empty: as --full/--quick say)
    int views = 1;                         // --views K > 1: every n also extracted and swept with K views
    std::string augment = "default";
    std::vector<std::string> backbones{"vgg"};  // two: the comparison report
    Source source = kSources.front();           // the one being run
};

// Work files of a non-VGG source carry its name, so the VGG demo's files stay as they were.
std::string source_tag(const Settings& s) { return s.source.name == "vgg" ? "" : "-" + s.source.name; }

// input, the five block outputs and (other backbones) the pooled features: every candidate's input.
std::vector<std::string> demo_taps(tap::Style style) {
    std::vector<std::string> taps{tap::input};
    for (int k = 1; k <= 5; ++k) taps.push_back(tap::block_output(k, style));
    if (style == tap::Style::graph) taps.push_back(tap::features);
    return taps;
}

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
    std::string cmd = tool_path("cvtl-fashion-mnist") + " '" + dir + "' --scenario " + s.scenario +
                      (s.quick ? " --n 10 --test-per-class 20" : " --n 10,100,1000");
    std::printf("preparing data: %s\n", cmd.c_str());
    std::fflush(stdout);
    if (std::system(cmd.c_str()) != 0)
        throw Error("preparing the Fashion-MNIST PNG trees failed (is dataset-fashion-mnist installed?)");
    std::ofstream(dir + "/.complete") << "done\n";
    return dir;
}

// One extraction per n and K: every candidate of the sweep reads this cache. K > 1 goes to its own
// file, so the K = 1 cache stays exactly the plain demo's.
CacheRun extract_cache(const Settings& s, const std::string& data, const std::string& model, int n, int views) {
    ExtractOptions x;
    x.model = model;
    x.data = data + "/p2/train-n" + std::to_string(n);
    x.output = s.work + "/cache-" + s.scenario + source_tag(s) + "-n" + std::to_string(n) +
               (views > 1 ? "-views" + std::to_string(views) : "") + ".h5";
    if (views > 1) x.views = views, x.augment = s.augment;
    x.taps = demo_taps(s.source.style);
    x.preset = Preset::raw;
    x.batch = 64;
    x.threads = s.threads;
    x.precision = s.precision;
    x.val_fraction = 0.2;
    x.force = true;  // the report states the real extraction time
    const auto t = std::chrono::steady_clock::now();
    const ExtractSummary xs = run_extraction(x, {});
    CacheRun c;
    c.n = n, c.views = views, c.path = x.output, c.extract_seconds = seconds_since(t);
    const CacheInfo info = read_cache_info(x.output);
    c.file_bytes = info.disk_bytes;  // what the cache costs on disk, compression and HDF5 overhead included
    c.rows = info.rows, c.view_rows = info.view_rows, c.view_bytes = info.view_bytes;
    std::printf("  extracted %lld images once into %s (%.1f s)\n", static_cast<long long>(xs.rows), x.output.c_str(),
                c.extract_seconds);
    if (views > 1) std::printf("    K = %d: %lld view rows, %.1f MB on disk\n", views, c.view_rows, c.file_bytes / 1e6);
    return c;
}

std::string sweep_dir(const Settings& s, int n, int views) {
    return s.work + "/sweep-" + s.scenario + source_tag(s) + "-n" + std::to_string(n) +
           (views > 1 ? "-views" + std::to_string(views) : "");
}

std::string strategy_label(const SweepCandidate& c) {
    if (c.family == "probe") return "2 linear probe (" + c.tap + ")";
    if (c.family == "classifier") return "2 classifier (" + c.tap + ")";
    if (c.family == "finetune")
        return "3 finetune from block " + std::to_string(c.from_block) + " (" + c.tap + ")" +
               (c.bn == BatchNormMode::frozen ? ", BN frozen" : "");
    return "4 scratch (input)";
}

// One cvtl sweep over the cache (every candidate, chosen on validation or cross-validation), then
// each family's chosen model tested once on P2's test set.
std::vector<StrategyResult> sweep_and_test(const Settings& s, const CacheRun& cache, const std::string& p2_test,
                                           SweepSummary& out) {
    const int n = cache.n;
    SweepOptions o;
    o.cache = cache.path;
    o.output = sweep_dir(s, n, cache.views);
    o.threads = s.threads;
    o.precision = s.precision;
    o.export_step = sweep_export_step();
    o.export_families = true;
    o.epoch_gate = false;  // the report compares every strategy's best: none may be cut short
    o.force = true;
    if (s.quick) o.steps = 4;  // CI: the shortest schedule (4 epochs), every candidate still trained
    out = run_sweep(o, {});
    std::printf("  sweep: %d trainings on %s in %.1f s; chosen %s\n", out.trainings, out.mode.c_str(), out.seconds,
                out.trials[0].candidate.name.c_str());
    std::vector<StrategyResult> results;
    for (const SweepExport& e : out.exports) {
        const auto t = std::find_if(out.trials.begin(), out.trials.end(),
                                    [&](const SweepTrial& x) { return x.candidate.name == e.trial; });
        StrategyResult r;
        r.strategy = strategy_label(t->candidate);
        r.key = e.family;
        r.n = n;
        r.tap = t->candidate.tap;
        r.val_accuracy = t->score;
        r.folds = static_cast<int>(t->folds.size());
        r.views = cache.views;
        // Under cross-validation each fold validates labelled_rows / folds rows; else the val split.
        r.val_samples = out.folds > 1 ? out.labelled_rows * r.folds / out.folds : out.val_rows;
        r.trained_parameters = t->trained_parameters;
        r.train_seconds = e.seconds;
        for (const auto& x : out.trials) r.grid_seconds += x.candidate.family == e.family ? x.seconds : 0;
        r.hyper =
            t->candidate.name + ", " + std::to_string(t->chosen_epoch) + " of " + std::to_string(t->epochs) + " epochs";
        r.chosen = &e == &out.exports.front();
        r.model = e.onnx;
        EvaluateOptions ev;
        ev.model = e.onnx;
        ev.data = p2_test;
        ev.batch = 256;
        ev.threads = s.threads;
        ev.classifier.engine.precision = s.precision;
        r.test_accuracy = run_evaluation(ev, {}).accuracy;
        std::printf("  -> %-34s n=%-5d%s val %.4f test %.4f (%s)\n", r.strategy.c_str(), n,
                    cache.views > 1 ? (" K=" + std::to_string(cache.views)).c_str() : "", r.val_accuracy,
                    r.test_accuracy, r.hyper.c_str());
        std::fflush(stdout);
        results.push_back(r);
    }
    return results;
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

void add_options(CLI::App& app, Settings& s) {
    app.add_option("--scenario", s.scenario,
                   "coarse-fine (P1: 4 coarse classes, P2: the 10 fine ones) or disjoint (5 + 5 classes)")
        ->capture_default_str();
    app.add_flag("--full", s.full, "Every n (10, 100, 1000) instead of n = 100");
    app.add_flag("--quick", s.quick, "Smoke run: n = 10, 4-epoch trainings, 20 test images per class");
    app.add_option("--work", s.work, "Working folder (data, caches, runs, models)")->capture_default_str();
    app.add_option("--report", s.report, "Markdown report to write (a PNG plot goes next to it)")
        ->capture_default_str();
    app.add_option("--models", s.models, "Folder of the pretrained source models")->capture_default_str();
    app.add_option("--commit", s.commit, "Commit recorded in the report")->capture_default_str();
    app.add_option("--command", s.command, "Command recorded in the report as what made it")->capture_default_str();
    app.add_option("--threads", s.threads, "Threads (0: every core)")->capture_default_str();
    cli::add_named_option(&app, "--precision", s.precision, parse_precision,
                          "f32, or bf16 products (extraction, training, evaluation) on AVX512-BF16 CPUs");
    app.add_option("--n", s.n_list, "Exactly these n, comma-separated, from 10, 100, 1000 (10 with --quick)")
        ->delimiter(',');
    app.add_option("--views", s.views,
                   "K > 1: also extract K views of every training image per n and compare K = 1 with K")
        ->capture_default_str();
    app.add_option("--backbone", s.backbones,
                   "Source model: vgg (fmnist-vgg16-*), resnet (fmnist-resnet18-*), or vgg,resnet to compare them")
        ->delimiter(',')
        ->capture_default_str();
    app.add_option("--augment", s.augment, "SPEC of the augmented views 1..K-1 (docs/architecture.md)")
        ->capture_default_str();
}

// Refuses what would fail only after minutes of work: an n without a prepared tree, a bad SPEC.
void check_settings(Settings& s) {
    if (s.scenario != "coarse-fine" && s.scenario != "disjoint") throw Error("unknown --scenario " + s.scenario);
    if (s.full && !s.n_list.empty()) throw Error("--full and --n both choose the n's; give one");
    const std::vector<int> prepared = s.quick ? std::vector<int>{10} : std::vector<int>{10, 100, 1000};
    for (int n : s.n_list)
        if (std::find(prepared.begin(), prepared.end(), n) == prepared.end())
            throw Error("--n " + std::to_string(n) + ": the demo's data has n = 10, 100, 1000 (10 with --quick)");
    std::sort(s.n_list.begin(), s.n_list.end());
    s.n_list.erase(std::unique(s.n_list.begin(), s.n_list.end()), s.n_list.end());
    if (s.views < 1) throw Error("--views must be at least 1");
    if (s.views > 1) s.augment = parse_augment_spec(s.augment).to_string();  // canonical, as the report states it
    for (const auto& name : s.backbones) find_source(name);
    if (s.backbones.empty() || s.backbones.size() > 2 || (s.backbones.size() == 2 && s.backbones[0] == s.backbones[1]))
        throw Error("--backbone takes vgg, resnet, or vgg,resnet (the comparison)");
    if (s.backbones.size() == 2 && s.views > 1) throw Error("--views compares K on one backbone; give one --backbone");
}

// What the report says about the run before any result: scenario, machine, date, the n's, the classes.
demo::DemoReport report_header(const Settings& s, const std::string& model, const std::string& data) {
    demo::DemoReport r;
    r.scenario = s.scenario;
    r.commit = s.commit;
    r.command = s.command;
    r.source_model = model;
    r.machine = std::to_string(std::thread::hardware_concurrency()) + " CPU threads";
    if (s.precision != Precision::f32) {
        const std::string name = to_string(s.precision);
        if (!cpu_has_bf16()) throw Error("--precision " + name + " needs a CPU with AVX512-BF16; this one lacks it");
        r.machine += ", `--precision " + name + "` (extraction, training and evaluation)";
    }
    char date[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
    r.date = date;
    r.ns = !s.n_list.empty() ? s.n_list
           : s.quick         ? std::vector<int>{10}
           : s.full          ? std::vector<int>{10, 100, 1000}
                             : std::vector<int>{100};
    r.sweep_n =
        std::find(r.ns.begin(), r.ns.end(), 100) != r.ns.end() ? 100 : r.ns.front();  // the ranking shown in full
    r.views = s.views;
    if (s.views > 1) r.augment = s.augment;
    r.p1_classes = class_folders(data + "/p1/test");
    r.p2_classes = class_folders(data + "/p2/test");
    r.p2_test_images = count_files(data + "/p2/test");
    return r;
}

// Strategy 1: the pretrained model as it is, on its own problem's test set.
double evaluate_on_p1(const Settings& s, const std::string& model, const std::string& labels, const std::string& data) {
    EvaluateOptions p1;
    p1.model = model;
    p1.data = data + "/p1/test";
    p1.classifier.labels = labels;
    p1.classifier.preset = Preset::raw;
    p1.batch = 256;
    p1.threads = s.threads;
    p1.classifier.engine.precision = s.precision;
    return run_evaluation(p1, {}).accuracy;
}

std::string selection_text(bool quick, tap::Style style) {
    const bool vgg = style == tap::Style::vgg;
    return "For every n, `cvtl sweep` (the library's run_sweep) trained every candidate the cache allows: a linear "
           "probe on each of " +
           tap::block_output(1, style) + ".." + tap::block_output(5, style) +
           (vgg ? ", the source classifier on pool5" : ", a new linear classifier on features") +
           ", fine-tuning from each of blocks 1..5 (where the trained blocks hold batch norm, once with it "
           "training and once frozen), and training from scratch, each with Adam at two learning rates, "
           "a cosine schedule over about " +
           std::string(quick ? "4 epochs (CI's reduced run)" : "800 optimizer steps") +
           ", batch 32, seed 0. Candidates were ranked on validation accuracy (5-fold cross-validation over train+val "
           "when the validation split has under 200 images, with successive halving; otherwise the validation "
           "split), ties going to the lower validation loss. The best candidate of each strategy was retrained on all "
           "labelled images for the epochs its validation chose, exported to ONNX and tested once; the test set "
           "played no part in any choice.";
}
// One n: the plain cache and its sweep (the demo's tables); with --views, then the K-view cache and
// the same sweep, so the two differ only in the views the training streams draw from.
void run_n(const Settings& s, const std::string& data, const std::string& model, int n, demo::DemoReport& r) {
    std::printf("P2 with n = %d images per class\n", n);
    CacheRun plain = extract_cache(s, data, model, n, 1);
    r.extract_seconds.push_back(plain.extract_seconds);
    SweepSummary sweep;
    for (auto& m : sweep_and_test(s, plain, data + "/p2/test", sweep)) r.main.push_back(m);
    plain.sweep_seconds = sweep.seconds;
    if (n == r.sweep_n) r.sweep = sweep, r.sweep_dir = sweep_dir(s, n, 1);
    if (s.views <= 1) return;
    r.caches.push_back(plain);
    CacheRun augmented = extract_cache(s, data, model, n, s.views);
    SweepSummary with_views;
    for (auto& m : sweep_and_test(s, augmented, data + "/p2/test", with_views)) r.with_views.push_back(m);
    augmented.sweep_seconds = with_views.seconds;
    r.caches.push_back(augmented);
}
// Every strategy from one source model, over every n.
demo::DemoReport run_source(const Settings& s, const std::string& data) {
    const auto start = std::chrono::steady_clock::now();
    const std::string stem = s.models + "/fmnist-" + s.source.arch + "-" + s.scenario;
    const std::string model = stem + ".onnx", labels = stem + ".labels.txt";
    if (!fs::exists(model) || !fs::exists(labels))
        throw Error(model + " or its labels are missing (tools/pretrain/pretrain.py --arch " + s.source.arch +
                    " --scenario " + s.scenario + " makes them)");
    demo::DemoReport r = report_header(s, model, data);
    r.backbone = s.source.description;
    r.taps = demo_taps(s.source.style);
    std::printf("source %s (%s)\nstrategy 1: the pretrained model on P1's test set\n", model.c_str(),
                r.backbone.c_str());
    r.p1_accuracy = evaluate_on_p1(s, model, labels, data);
    std::printf("  P1 test accuracy %.4f\n", r.p1_accuracy);
    for (int n : r.ns) run_n(s, data, model, n, r);
    r.selection = selection_text(s.quick, s.source.style);
    r.total_seconds = seconds_since(start);
    return r;
}
}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "cvtl's demo: transfer learning on Fashion-MNIST with every strategy, reported in build/demo/demo-results.md"};
    Settings s;
    add_options(app, s);
    CLI11_PARSE(app, argc, argv);
    try {
        const ThreadPolicy policy(s.threads);  // every stage below runs under it
        check_settings(s);
        fs::create_directories(s.work);
        const std::string data = prepare_data(s);
        std::vector<demo::DemoReport> reports;
        for (const auto& name : s.backbones) {
            Settings one = s;
            one.source = find_source(name);
            reports.push_back(run_source(one, data));
        }
        fs::create_directories(fs::path(s.report).parent_path().empty() ? "." : fs::path(s.report).parent_path());
        const std::string text = reports.size() == 1 ? demo::write_demo_report(reports[0], s.report)
                                                     : demo::write_backbone_report(reports, s.report);
        std::printf("\n%s", text.c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cvtl-demo: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
