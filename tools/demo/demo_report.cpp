#include "tools/demo/demo_report.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

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

// Test accuracy against n (log scale) per strategy, or bars when there is one n.
void draw_accuracy(const DemoReport& r, const std::string& path) {
    cv::Mat img(420, 840, CV_8UC3, cv::Scalar(255, 255, 255));
    const cv::Rect plot(70, 30, 460, 330);
    cv::rectangle(img, plot, cv::Scalar(160, 160, 160));
    const std::vector<cv::Scalar> colors = {{200, 90, 30}, {30, 140, 230}, {40, 170, 60}, {60, 60, 200}, {150, 60, 150}, {120, 120, 0}};
    std::map<std::string, std::vector<const StrategyResult*>> by_strategy;
    std::vector<std::string> order;
    for (const auto& s : r.main) {
        if (!by_strategy.count(s.strategy)) order.push_back(s.strategy);
        by_strategy[s.strategy].push_back(&s);
    }
    const double lo_n = std::log10(static_cast<double>(r.ns.front())), hi_n = std::log10(static_cast<double>(r.ns.back()));
    auto x_of = [&](int n) {
        if (hi_n - lo_n < 1e-9) return plot.x + plot.width / 2;
        return plot.x + 30 + static_cast<int>((std::log10(static_cast<double>(n)) - lo_n) / (hi_n - lo_n) * (plot.width - 60));
    };
    auto y_of = [&](double acc) { return plot.y + plot.height - static_cast<int>(acc * plot.height); };
    for (int t = 0; t <= 10; t += 2) {
        const int y = y_of(t / 10.0);
        cv::line(img, {plot.x, y}, {plot.x + plot.width, y}, cv::Scalar(230, 230, 230));
        cv::putText(img, format("%.1f", t / 10.0), {plot.x - 35, y + 4}, cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(80, 80, 80), 1, cv::LINE_AA);
    }
    for (int n : r.ns)
        cv::putText(img, "n=" + std::to_string(n), {x_of(n) - 18, plot.y + plot.height + 18}, cv::FONT_HERSHEY_SIMPLEX, 0.4,
                    cv::Scalar(80, 80, 80), 1, cv::LINE_AA);
    for (size_t k = 0; k < order.size(); ++k) {
        const cv::Scalar color = colors[k % colors.size()];
        const auto& points = by_strategy[order[k]];
        const int offset = r.ns.size() == 1 ? static_cast<int>(k * 14) - static_cast<int>(order.size() * 7) : 0;
        for (size_t i = 0; i < points.size(); ++i) {
            const cv::Point p(x_of(points[i]->n) + offset, y_of(points[i]->test_accuracy));
            cv::circle(img, p, 5, color, cv::FILLED, cv::LINE_AA);
            if (i > 0) cv::line(img, {x_of(points[i - 1]->n) + offset, y_of(points[i - 1]->test_accuracy)}, p, color, 2, cv::LINE_AA);
        }
        cv::putText(img, order[k], {545, 50 + static_cast<int>(k) * 22}, cv::FONT_HERSHEY_SIMPLEX, 0.4, color, 1, cv::LINE_AA);
    }
    cv::putText(img, "P2 test accuracy vs labelled images per class (" + r.scenario + ")", {70, 20}, cv::FONT_HERSHEY_SIMPLEX, 0.5,
                cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    if (!cv::imwrite(path, img)) throw std::runtime_error("cannot write " + path);
}

std::string row(const StrategyResult& s) {
    return "| " + s.strategy + " | " + std::to_string(s.n) + " | " + s.tap + " | " + format("%.4f", s.test_accuracy) + " | " +
           format("%.4f", s.val_accuracy) + " | " + std::to_string(s.trained_parameters) + " | " + format("%.1f", s.train_seconds) + " | " +
           format("%.1f", s.grid_seconds) + " | " + s.hyper + " |\n";
}

const StrategyResult* find(const std::vector<StrategyResult>& v, const std::string& key, int n) {
    for (const auto& s : v)
        if (s.key == key && s.n == n) return &s;
    return nullptr;
}

// Plain statements computed from the results, so the text can never disagree with the tables.
std::string conclusions(const DemoReport& r) {
    std::string t;
    for (int n : r.ns) {
        const StrategyResult* scratch = find(r.main, "scratch", n);
        const StrategyResult* best = nullptr;
        for (const auto& s : r.main)
            if (s.n == n && s.key != "scratch" && (!best || s.test_accuracy > best->test_accuracy)) best = &s;
        if (!scratch || !best) continue;
        const double gap = 100.0 * (best->test_accuracy - scratch->test_accuracy);
        t += "- n = " + std::to_string(n) + ": the best transfer strategy (" + best->strategy + ", " + format("%.4f", best->test_accuracy) +
             ") " + (gap >= 0 ? "beats" : "trails") + " training from scratch (" + format("%.4f", scratch->test_accuracy) + ") by " +
             format("%.1f", std::abs(gap)) + " points.\n";
    }
    if (r.ns.size() > 1) {
        const StrategyResult* s0 = find(r.main, "scratch", r.ns.front());
        const StrategyResult* s1 = find(r.main, "scratch", r.ns.back());
        if (s0 && s1)
            t += "- From n = " + std::to_string(r.ns.front()) + " to n = " + std::to_string(r.ns.back()) + " training from scratch gains " +
                 format("%.1f", 100.0 * (s1->test_accuracy - s0->test_accuracy)) + " points; compare the transfer rows above to see the gap narrow or not.\n";
    }
    if (!r.sweep.empty()) {
        const StrategyResult* best = &r.sweep.front();
        for (const auto& s : r.sweep)
            if (s.test_accuracy > best->test_accuracy) best = &s;
        const StrategyResult* pool5 = find(r.sweep, "classifier", r.sweep_n);
        t += "- Cut point: at n = " + std::to_string(r.sweep_n) + " the best is " + best->strategy + " (" + format("%.4f", best->test_accuracy) + ")";
        if (pool5)
            t += "; a new classifier on frozen pool5 features reaches only " + format("%.4f", pool5->test_accuracy) +
                 ": the upper blocks' features were shaped by P1's own classes and do not separate P2's, which is why fine-tuning the "
                 "upper blocks (strategy 3) pays";
        t += ".\n";
    }
    t += "- The pretrained model (strategy 1) scores " + format("%.4f", r.p1_accuracy) + " on P1, the problem it was trained for.\n";
    return t;
}

}  // namespace

std::string write_demo_report(const DemoReport& r, const std::string& markdown_path) {
    const boost::filesystem::path md(markdown_path);
    const std::string png_name = md.stem().string() + "-accuracy.png";
    const std::string dir = md.parent_path().empty() ? "." : md.parent_path().string();
    draw_accuracy(r, dir + "/" + png_name);

    std::string t;
    t += "# cvtl demo: transfer learning on Fashion-MNIST (" + r.scenario + ")\n\n";
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
    t += "## Strategies 2-4 on P2\n\n";
    t += "Each n was extracted once (taps input, pool1..pool5); every strategy and every hyper-parameter trial trained from that one "
         "cache without re-running the frozen layers. Extraction took";
    for (size_t i = 0; i < r.ns.size(); ++i) t += std::string(i ? "," : "") + " " + format("%.1f", r.extract_seconds[i]) + " s (n=" + std::to_string(r.ns[i]) + ")";
    t += ".\n\n| strategy | n | reads | test accuracy | val accuracy | trained parameters | training s | all trials s | selected |\n";
    t += "|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& s : r.main) t += row(s);
    t += "\n![accuracy vs n](" + png_name + ")\n\n";
    if (!r.sweep.empty()) {
        t += "## Where to cut: frozen-depth sweep at n = " + std::to_string(r.sweep_n) + "\n\n";
        t += "Everything below the tap stays frozen (source weights); everything above is fine-tuned from the source weights, with a "
             "new output layer.\n\n| strategy | n | reads | test accuracy | val accuracy | trained parameters | training s | all trials s | selected |\n";
        t += "|---|---|---|---|---|---|---|---|---|\n";
        for (const auto& s : r.sweep) t += row(s);
        t += "\n";
    }
    t += "## What the numbers say\n\n" + conclusions(r) + "\n";
    t += "## How hyper-parameters were chosen\n\n" + r.selection + "\n";
    std::ofstream out(markdown_path);
    out << t;
    if (!out) throw std::runtime_error("cannot write " + markdown_path);
    return t;
}

}  // namespace cvtl::demo
