#include "tools/demo/demo_report.hpp"

#include "pipeline/report/chart.hpp"
#include "pipeline/train/sweep_report.hpp"

#include <boost/filesystem.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>

namespace cvtl::demo {
namespace {

std::string format(const char* fmt, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, v);
    return buf;
}

const std::vector<std::string> kFamilies{"probe", "classifier", "finetune", "scratch"};

// Test accuracy of each strategy's chosen model against n.
void draw_accuracy(const DemoReport& r, const std::string& path) {
    LineChart c;
    c.title = "P2 test accuracy of each strategy's chosen model, " + r.scenario + ", " + std::to_string(r.p2_test_images) + " test images";
    c.x.label = "labelled images per class (n)";
    c.y.label = "test accuracy (fraction)";
    for (int n : r.ns) c.x_categories.push_back(std::to_string(n));
    for (const auto& family : kFamilies) {
        std::vector<double> v(r.ns.size(), std::nan(""));
        for (const auto& s : r.main)
            for (size_t i = 0; i < r.ns.size(); ++i)
                if (s.key == family && s.n == r.ns[i]) v[i] = s.test_accuracy;
        c.series.push_back({family, v});
    }
    write_chart_png(path, render_line_chart(c));
}

std::string row(const StrategyResult& s) {
    return "| " + (s.chosen ? "**" + s.strategy + "**" : s.strategy) + " | " + std::to_string(s.n) + " | " + s.tap + " | " + s.hyper + " | " +
           format("%.4f", s.val_accuracy) + " (" + std::to_string(s.folds) + ") | " + format("%.4f", s.test_accuracy) + " | " +
           std::to_string(s.trained_parameters) + " | " + format("%.1f", s.train_seconds) + " | " + format("%.1f", s.grid_seconds) + " |\n";
}

const StrategyResult* find(const std::vector<StrategyResult>& v, const std::string& key, int n) {
    for (const auto& s : v)
        if (s.key == key && s.n == n) return &s;
    return nullptr;
}

// Statements computed from validation scores (the test accuracies of the chosen models follow them,
// they never choose), so the text can never disagree with the tables.
std::string conclusions(const DemoReport& r) {
    std::string t;
    for (int n : r.ns) {
        const StrategyResult* chosen = nullptr;
        for (const auto& s : r.main)
            if (s.n == n && s.chosen) chosen = &s;
        const StrategyResult* scratch = find(r.main, "scratch", n);
        if (!chosen) continue;
        t += "- n = " + std::to_string(n) + ": the sweep chose " + chosen->strategy + " on validation (" + format("%.4f", chosen->val_accuracy) +
             "); tested once, it scores " + format("%.4f", chosen->test_accuracy) + ".";
        if (scratch && chosen != scratch) {
            const double gap = 100 * (chosen->val_accuracy - scratch->val_accuracy);
            t += " On validation it " + std::string(gap >= 0 ? "beats" : "trails") + " training from scratch by " + format("%.1f", std::abs(gap)) +
                 " points (test: " + format("%.4f", chosen->test_accuracy) + " vs " + format("%.4f", scratch->test_accuracy) + ").";
        }
        t += "\n";
    }
    const StrategyResult* pool5 = find(r.main, "classifier", r.sweep_n);
    const StrategyResult* chosen = nullptr;
    for (const auto& s : r.main)
        if (s.n == r.sweep_n && s.chosen) chosen = &s;
    if (pool5 && chosen && pool5 != chosen) {
        const double gap = 100 * (chosen->val_accuracy - pool5->val_accuracy);
        t += "- Cut point at n = " + std::to_string(r.sweep_n) + ": a new classifier on frozen pool5 features scores " + format("%.4f", pool5->val_accuracy) +
             " on validation, " + format("%.1f", gap) + " points below the chosen cut (" + chosen->tap + "). " +
             (gap >= 5 ? "The pool5 features were shaped by P1's classes and separate P2's less well than the lower taps."
                       : "Here the pool5 features transfer about as well as the chosen cut.") + "\n";
    }
    t += "- The pretrained model (strategy 1) scores " + format("%.4f", r.p1_accuracy) + " on P1, the problem it was trained for.\n";
    return t;
}

std::string header(const DemoReport& r) {
    std::string t = "# cvtl demo: transfer learning on Fashion-MNIST (" + r.scenario + ")\n\n";
    t += "Produced by `tools/demo.sh` (`cvtl-demo`) on " + r.date + ", commit `" + r.commit + "`, " + r.machine + ", in " +
         format("%.0f", r.total_seconds) + " s. Every number below is what that command printed; re-running it reproduces "
         "them within thread-scheduling noise (all seeds fixed).\n\n";
    t += "Source model: `" + r.source_model + "`, pretrained on P1 = {";
    for (size_t i = 0; i < r.p1_classes.size(); ++i) t += (i ? ", " : "") + r.p1_classes[i];
    t += "}. P2 = {";
    for (size_t i = 0; i < r.p2_classes.size(); ++i) t += (i ? ", " : "") + r.p2_classes[i];
    t += "}, n labelled images per class (80% train, 20% validation), tested on " + std::to_string(r.p2_test_images) + " test images.\n\n";
    t += "## Strategy 1: the pretrained model as it is\n\nOn P1's own test set it scores **" + format("%.4f", r.p1_accuracy) +
         "** (`cvtl evaluate` with its labels and the `raw` preset). It cannot name P2's classes: its output layer knows only P1's " +
         std::to_string(r.p1_classes.size()) + " classes, so it has no P2 accuracy; strategies 2-4 replace that layer.\n\n";
    return t;
}

std::string strategies(const DemoReport& r, const std::string& png_name) {
    std::string t = "## Strategies 2-4 on P2\n\nEach n was extracted once (taps input, pool1..pool5) and swept with `cvtl sweep`: every "
                    "candidate trained from that one cache without re-running the frozen layers. Extraction took";
    for (size_t i = 0; i < r.ns.size(); ++i) t += std::string(i ? "," : "") + " " + format("%.1f", r.extract_seconds[i]) + " s (n=" + std::to_string(r.ns[i]) + ")";
    t += ". Each row is the strategy's best candidate on validation (the sweep's overall choice in bold), retrained on all labelled "
         "images and tested once.\n\n| strategy | n | reads | chosen candidate | validation (folds) | test accuracy | trained parameters | "
         "retraining s | all its trials s |\n|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& s : r.main) t += row(s);
    return t + "\n![accuracy vs n](" + png_name + ")\n\n";
}

}  // namespace

std::string write_demo_report(const DemoReport& r, const std::string& markdown_path) {
    const boost::filesystem::path md(markdown_path);
    const std::string dir = md.parent_path().empty() ? "." : md.parent_path().string();
    const std::string png_name = md.stem().string() + "-accuracy.png", sweep_png = md.stem().string() + "-sweep.png";
    draw_accuracy(r, dir + "/" + png_name);
    boost::filesystem::copy_file(r.sweep_dir + "/sweep.png", dir + "/" + sweep_png, boost::filesystem::copy_option::overwrite_if_exists);

    std::string t = header(r) + strategies(r, png_name);
    t += "## Where to cut: every candidate at n = " + std::to_string(r.sweep_n) + "\n\nThe sweep's ranking on " + r.sweep.mode +
         " (validation only; no test accuracy is computed for candidates that were not chosen).\n\n" + sweep_ranking_table(r.sweep) +
         "\n![score by cut point](" + sweep_png + ")\n\n";
    t += "## What the numbers say\n\n" + conclusions(r) + "\n";
    t += "## How hyper-parameters were chosen\n\n" + r.selection + "\n";
    std::ofstream out(markdown_path);
    out << t;
    if (!out) throw std::runtime_error("cannot write " + markdown_path);
    return t;
}

}  // namespace cvtl::demo
