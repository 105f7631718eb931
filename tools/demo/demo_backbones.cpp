// The comparison of two source models transferred to the same P2 images (tools/demo.sh --backbone
// vgg,resnet). Each source's sweep chose its candidates on validation; the choice between the two
// sources is made on validation as well, and the test accuracies only report what was chosen.
#include "tools/demo/demo_report.hpp"

#include "pipeline/report/chart.hpp"

#include <boost/filesystem.hpp>

#include <cmath>
#include <utility>
#include <fstream>
#include <stdexcept>

namespace cvtl::demo {
namespace {

const std::vector<std::string> kFamilies{"probe", "classifier", "finetune", "scratch"};

const StrategyResult* find_result(const DemoReport& r, const std::string& family, int n) {
    for (const auto& s : r.main)
        if (s.n == n && (family.empty() ? s.chosen : s.key == family)) return &s;
    return nullptr;
}

// The source whose result validation prefers; ties go to the first source (the one listed first).
int preferred(const StrategyResult& a, const StrategyResult& b) { return b.val_accuracy > a.val_accuracy ? 1 : 0; }

std::string header(const std::vector<DemoReport>& v) {
    const DemoReport& r = v.front();
    std::string t =
        "# cvtl demo: " + v[0].backbone + " vs " + v[1].backbone + " sources on Fashion-MNIST (" + r.scenario + ")\n\n";
    double seconds = 0;
    for (const auto& x : v) seconds += x.total_seconds;
    t += "Produced by `" + r.command + "` (`cvtl-demo`) on " + r.date + ", commit `" + r.commit + "`, " + r.machine +
         ", in " + format("%.0f", seconds) + " s. Both sources were pretrained on the same P1 and transferred to the " +
         "same P2 images (the same validation split and folds), each with the same `cvtl sweep` as the demo's. " +
         "Every number below is what that command printed.\n\n";
    t += "| source | model | taps | P1 test accuracy | extraction s | whole run s |\n|---|---|---|---|---|---|\n";
    for (const auto& x : v) {
        std::string taps, extract;
        for (const auto& tap : x.taps) taps += (taps.empty() ? "" : ", ") + tap;
        for (size_t i = 0; i < x.ns.size(); ++i)
            extract += (i ? ", " : "") + format("%.1f", x.extract_seconds[i]) + " (n=" + std::to_string(x.ns[i]) + ")";
        t += "| " + x.backbone + " | `" + x.source_model + "` | " + taps + " | " + format("%.4f", x.p1_accuracy) +
             " | " + extract + " | " + format("%.0f", x.total_seconds) + " |\n";
    }
    return t + "\n";
}

// Test accuracy of each strategy's chosen model, one line per source, at one n.
void draw(const std::vector<DemoReport>& v, int n, const std::string& path) {
    LineChart c;
    c.title = "P2 test accuracy by strategy and source, n = " + std::to_string(n) + ", " + v.front().scenario;
    c.x.label = "strategy (each source's choice on validation)";
    c.y.label = "test accuracy (fraction)";
    c.x_categories = kFamilies;
    for (const auto& r : v) {
        std::vector<double> y;
        for (const auto& family : kFamilies) {
            const StrategyResult* s = find_result(r, family, n);
            y.push_back(s ? s->test_accuracy : std::nan(""));
        }
        c.series.push_back({r.backbone, y});
    }
    write_chart_png(path, render_line_chart(c));
}

// "+1.2 points, beyond two standard errors (0.9 points)": the test difference and whether it is one.
std::string difference(double a, double b, double m) {
    const double d = b - a, band = two_se(a, b, m);
    return format("%+.1f", 100 * d) + " points, " + (std::abs(d) > band ? "beyond" : "within") +
           " two standard errors (" + format("%.1f", 100 * band) + " points)";
}

// One n: the source validation prefers, its choice tested once, and the other source's choice.
std::string per_n(const std::vector<DemoReport>& v, int n) {
    const StrategyResult *a = find_result(v[0], "", n), *b = find_result(v[1], "", n);
    if (!a || !b) return "";
    const int p = preferred(*a, *b);
    const StrategyResult& win = p ? *b : *a;
    const StrategyResult& other = p ? *a : *b;
    return "- n = " + std::to_string(n) + ": validation prefers the " + v[p].backbone + " source. Its sweep chose " +
           win.strategy + " (validation " + format("%.4f", win.val_accuracy) + ") against the " + v[1 - p].backbone +
           " source's " + other.strategy + " (" + format("%.4f", other.val_accuracy) +
           "). Tested once, the preferred " + "choice scores " + format("%.4f", win.test_accuracy) + " and the other " +
           format("%.4f", other.test_accuracy) + ": " +
           difference(other.test_accuracy, win.test_accuracy, static_cast<double>(v[0].p2_test_images)) + ".\n";
}

// One n, strategy by strategy: how often validation and test favour each source.
std::string per_strategy(const std::vector<DemoReport>& v, int n) {
    int pairs = 0, val_second = 0, test_first = 0, test_second = 0;
    const double m = static_cast<double>(v[0].p2_test_images);
    for (const auto& family : kFamilies) {
        const StrategyResult *a = find_result(v[0], family, n), *b = find_result(v[1], family, n);
        if (!a || !b) continue;
        const double d = b->test_accuracy - a->test_accuracy, band = two_se(a->test_accuracy, b->test_accuracy, m);
        ++pairs, val_second += preferred(*a, *b), test_second += d > band, test_first += d < -band;
    }
    return "- n = " + std::to_string(n) + ", strategy by strategy: validation prefers the " + v[1].backbone +
           " source in " + std::to_string(val_second) + " of " + std::to_string(pairs) + " strategies. On test, the " +
           v[1].backbone + " source is better beyond two standard errors in " + std::to_string(test_second) + ", the " +
           v[0].backbone + " source in " + std::to_string(test_first) + ", and neither in " +
           std::to_string(pairs - test_first - test_second) + ".\n";
}

// The best validation score of the candidates with this base name (NaN when none was scored),
// and its folds.
std::pair<double, size_t> best_score(const SweepSummary& sweep, const std::string& base) {
    std::pair<double, size_t> best{std::nan(""), 0};
    for (const auto& t : sweep.trials)
        if (t.candidate.base == base && !std::isnan(t.score) && !(t.score <= best.first))
            best = {t.score, t.folds.size()};
    return best;
}

// "frozen statistics when fine-tuning from block 5 (...), and batch statistics from block 2 (...)".
std::string preference(const std::string& frozen, const std::string& trained) {
    if (trained.empty()) return "frozen statistics at every one: from block " + frozen;
    if (frozen.empty()) return "batch statistics at every one: from block " + trained;
    return "frozen statistics when fine-tuning from block " + frozen + ", and batch statistics from block " + trained;
}

// Where fine-tuning trained batch norm both ways, which way validation preferred at each cut point
// (only where both were scored on the same folds).
std::string batch_norm_finding(const DemoReport& r) {
    std::string frozen, trained;
    int both = 0;
    for (int k = 5; k >= 1; --k) {
        const std::string base = "finetune-b" + std::to_string(k);
        const auto a = best_score(r.sweep, base), b = best_score(r.sweep, base + "-bnfrozen");
        if (std::isnan(a.first) || std::isnan(b.first) || a.second != b.second) continue;
        ++both;
        std::string& list = b.first > a.first ? frozen : trained;
        list += (list.empty() ? "" : ", ") + std::to_string(k) + " (" + format("%.4f", b.first) + " frozen, " +
                format("%.4f", a.first) + " training)";
    }
    if (both == 0) return "";
    return "- " + r.backbone + " source, batch norm while fine-tuning at n = " + std::to_string(r.sweep_n) + ": of " +
           std::to_string(both) + " cut points scored both ways on the same folds, validation preferred " +
           preference(frozen, trained) + " (ties go to training).\n";
}

std::string findings(const std::vector<DemoReport>& v) {
    std::string t;
    for (int n : v[0].ns) t += per_n(v, n) + per_strategy(v, n);
    for (const auto& r : v) t += batch_norm_finding(r);
    t += "- On P1, the problem both were pretrained for, the " + v[0].backbone + " source scores " +
         format("%.4f", v[0].p1_accuracy) + " and the " + v[1].backbone + " source " +
         format("%.4f", v[1].p1_accuracy) + ".\n";
    return t;
}

}  // namespace

std::string write_backbone_report(const std::vector<DemoReport>& v, const std::string& markdown_path) {
    if (v.size() != 2 || v[0].ns != v[1].ns) throw std::invalid_argument("the comparison needs two sources, same n's");
    const boost::filesystem::path md(markdown_path);
    const std::string dir = md.parent_path().empty() ? "." : md.parent_path().string();
    const int n = v[0].sweep_n;
    const std::string png = md.stem().string() + "-accuracy.png";
    draw(v, n, dir + "/" + png);
    std::string t = header(v);
    for (const auto& r : v)
        t += "## " + r.backbone + " source\n\nEach strategy's best candidate on validation (the sweep's choice in " +
             "bold), retrained on all labelled images and tested once.\n\n" + strategy_table(r.main) + "\n";
    t += "![test accuracy by strategy and source](" + png + ")\n\n## What the numbers say\n\n" + findings(v) + "\n";
    t += "## How hyper-parameters were chosen\n\n";
    for (const auto& r : v) t += "- " + r.backbone + " source: " + r.selection + "\n";
    t += "- Between the two sources, validation chose in the same way, ties going to the " + v[0].backbone +
         " source.\n";
    std::ofstream out(markdown_path);
    out << t;
    if (!out) throw std::runtime_error("cannot write " + markdown_path);
    return t;
}

}  // namespace cvtl::demo
