#include "tools/demo/demo_report.hpp"

#include "pipeline/data/augment.hpp"
#include "pipeline/report/chart.hpp"
#include "pipeline/train/sweep_report.hpp"

#include <boost/filesystem.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>

namespace cvtl::demo {

std::string format(const char* fmt, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, v);
    return buf;
}

// Two standard errors of the difference of two accuracies over m predictions each, taken as
// independent binomials: the two models predict the same images, so this overstates the noise and
// a difference called a gain or a loss is one on the conservative side.
double two_se(double a, double b, double m) { return m > 0 ? 2 * std::sqrt((a * (1 - a) + b * (1 - b)) / m) : 1.0; }

namespace {

const std::vector<std::string> kFamilies{"probe", "classifier", "finetune", "scratch"};

std::string join(const std::vector<std::string>& v) {
    std::string t;
    for (const auto& x : v) t += (t.empty() ? "" : ", ") + x;
    return t;
}

// Test accuracy of each strategy's chosen model against n.
void draw_accuracy(const DemoReport& r, const std::string& path) {
    LineChart c;
    c.title = "P2 test accuracy of each strategy's chosen model, " + r.scenario + ", " +
              std::to_string(r.p2_test_images) + " test images";
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
    return "| " + (s.chosen ? "**" + s.strategy + "**" : s.strategy) + " | " + std::to_string(s.n) + " | " + s.tap +
           " | " + s.hyper + " | " + format("%.4f", s.val_accuracy) + " (" + std::to_string(s.folds) + ") | " +
           format("%.4f", s.test_accuracy) + " | " + std::to_string(s.trained_parameters) + " | " +
           format("%.1f", s.train_seconds) + " | " + format("%.1f", s.grid_seconds) + " |\n";
}

const StrategyResult* find(const std::vector<StrategyResult>& v, const std::string& key, int n) {
    for (const auto& s : v)
        if (s.key == key && s.n == n) return &s;
    return nullptr;
}

// "pool5 features", or "pooled features" for a tap named features.
std::string tap_words(const StrategyResult& s) { return (s.tap == "features" ? "pooled" : s.tap) + " features"; }

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
        t += "- n = " + std::to_string(n) + ": the sweep chose " + chosen->strategy + " on validation (" +
             format("%.4f", chosen->val_accuracy) + "); tested once, it scores " +
             format("%.4f", chosen->test_accuracy) + ".";
        if (scratch && chosen != scratch) {
            const double gap = 100 * (chosen->val_accuracy - scratch->val_accuracy);
            t += " On validation it " + std::string(gap >= 0 ? "beats" : "trails") + " training from scratch by " +
                 format("%.1f", std::abs(gap)) + " points (test: " + format("%.4f", chosen->test_accuracy) + " vs " +
                 format("%.4f", scratch->test_accuracy) + ").";
        }
        t += "\n";
    }
    const StrategyResult* pool5 = find(r.main, "classifier", r.sweep_n);
    const StrategyResult* chosen = nullptr;
    for (const auto& s : r.main)
        if (s.n == r.sweep_n && s.chosen) chosen = &s;
    if (pool5 && chosen && pool5 != chosen) {
        const double gap = 100 * (chosen->val_accuracy - pool5->val_accuracy);
        t += "- Cut point at n = " + std::to_string(r.sweep_n) + ": a new classifier on frozen " + tap_words(*pool5) +
             " scores " + format("%.4f", pool5->val_accuracy) + " on validation, " + format("%.1f", gap) +
             " points below the chosen cut (" + chosen->tap + "). " +
             (gap >= 5 ? "The " + tap_words(*pool5) +
                             " were shaped by P1's classes and separate P2's less well than the lower taps."
                       : "Here the " + tap_words(*pool5) + " transfer about as well as the chosen cut.") +
             "\n";
    }
    t += "- The pretrained model (strategy 1) scores " + format("%.4f", r.p1_accuracy) +
         " on P1, the problem it was trained for.\n";
    return t;
}

std::string header(const DemoReport& r) {
    std::string t = "# cvtl demo: transfer learning on Fashion-MNIST (" + r.scenario + ")\n\n";
    t += "Produced by `" + r.command + "` (`cvtl-demo`) on " + r.date + ", commit `" + r.commit + "`, " + r.machine +
         ", in " + format("%.0f", r.total_seconds) +
         " s. Every number below is what that command printed; re-running it reproduces "
         "them within thread-scheduling noise (all seeds fixed).\n\n";
    t += "Source model: `" + r.source_model + "` (" + r.backbone + "), pretrained on P1 = {";
    for (size_t i = 0; i < r.p1_classes.size(); ++i) t += (i ? ", " : "") + r.p1_classes[i];
    t += "}. P2 = {";
    for (size_t i = 0; i < r.p2_classes.size(); ++i) t += (i ? ", " : "") + r.p2_classes[i];
    t += "}, n labelled images per class (each goes to validation with probability 0.2, by a hash of its path and the "
         "seed), tested on " +
         std::to_string(r.p2_test_images) + " test images.\n\n";
    t += "## Strategy 1: the pretrained model as it is\n\nOn P1's own test set it scores **" +
         format("%.4f", r.p1_accuracy) +
         "** (`cvtl evaluate` with its labels and the `raw` preset). It cannot name P2's classes: its output layer "
         "knows only P1's " +
         std::to_string(r.p1_classes.size()) +
         " classes, so it has no P2 accuracy; strategies 2-4 replace that layer.\n\n";
    return t;
}

std::string strategies(const DemoReport& r, const std::string& png_name) {
    std::string t = "## Strategies 2-4 on P2\n\nEach n was extracted once (taps " + join(r.taps) +
                    ") and swept with `cvtl sweep`: every candidate trained from that one cache without re-running the "
                    "frozen layers. Extraction took";
    for (size_t i = 0; i < r.ns.size(); ++i)
        t += std::string(i ? "," : "") + " " + format("%.1f", r.extract_seconds[i]) +
             " s (n=" + std::to_string(r.ns[i]) + ")";
    t += ". Each row is the strategy's best candidate on validation (the sweep's overall choice in bold), retrained on "
         "all labelled images and tested once.\n\n";
    return t + strategy_table(r.main) + "\n![accuracy vs n](" + png_name + ")\n\n";
}

// ---- --views K: K = 1 against K views, per n and strategy ----

std::string family_name(const StrategyResult& s) {
    if (s.key == "probe") return "linear probe";
    if (s.key == "classifier") return "classifier (" + s.tap + ")";
    if (s.key == "finetune") return "fine-tuning";
    return "training from scratch";
}

const CacheRun* find_cache(const DemoReport& r, int n, int views) {
    for (const auto& c : r.caches)
        if (c.n == n && c.views == views) return &c;
    return nullptr;
}

std::string points(double difference) { return format("%+.1f", 100 * difference) + " points"; }
std::string megabytes(unsigned long long bytes) { return format("%.1f", bytes / 1e6) + " MB"; }

std::string verdict(double difference, double band) {
    return difference > band ? "a gain" : difference < -band ? "a loss" : "no measurable change";
}

// The choice of K is made like every other choice: on validation, ties going to K = 1 (the cheaper cache).
bool prefers_views(const StrategyResult& plain, const StrategyResult& viewed) {
    return viewed.val_accuracy > plain.val_accuracy;
}

// One table row; the K validation prefers for this n and strategy in bold.
std::string views_row(const StrategyResult& s, const CacheRun& c, bool preferred) {
    const std::string k = std::to_string(s.views);
    return "| " + std::to_string(s.n) + " | " + family_name(s) + " | " + (preferred ? "**" + k + "**" : k) + " | " +
           s.hyper + " | " + format("%.4f", s.val_accuracy) + " (" + std::to_string(s.folds) + ") | " +
           format("%.4f", s.test_accuracy) + " | " + format("%.1f", c.extract_seconds) + " | " +
           megabytes(c.file_bytes) + " |\n";
}

// "+1.0 points (0.6998 → 0.7100): no measurable change (two standard errors: 1.3 points)".
std::string change(double a, double b, double m) {
    const double band = two_se(a, b, m);
    return points(b - a) + " (" + format("%.4f", a) + " → " + format("%.4f", b) + "): " + verdict(b - a, band) +
           " (two standard errors: " + format("%.1f", 100 * band) + " points)";
}

// One (n, strategy) pair in words: the test change and its verdict, the validation change, the K
// validation prefers and that choice's test accuracy, whether the chosen candidate moved.
std::string views_sentence(const StrategyResult& a, const StrategyResult& b, double test_images) {
    const std::string k = "K = " + std::to_string(b.views);
    const bool pick = prefers_views(a, b);
    const long long m = std::min(a.val_samples, b.val_samples);  // the band of the less measured score
    std::string t = "- n = " + std::to_string(a.n) + ", " + family_name(a) + ": " + k +
                    " changes the test accuracy by " + change(a.test_accuracy, b.test_accuracy, test_images) +
                    ". On validation, over " + std::to_string(m) +
                    " predictions: " + change(a.val_accuracy, b.val_accuracy, static_cast<double>(m)) +
                    "; validation prefers " + (pick ? k : std::string("K = 1")) + ", which tests at " +
                    format("%.4f", pick ? b.test_accuracy : a.test_accuracy) + ".";
    // Successive halving can keep a strategy's best for more folds in one sweep than in the other.
    if (a.folds != b.folds)
        t += " (K = 1 scored over " + std::to_string(a.folds) + " folds, " + k + " over " + std::to_string(b.folds) +
             ": the two scores are not over the same validation rows.)";
    const std::string ca = a.hyper.substr(0, a.hyper.find(',')), cb = b.hyper.substr(0, b.hyper.find(','));
    return t + (ca == cb ? " Same candidate (" + ca + ")." : " The candidate changes from " + ca + " to " + cb + ".") +
           "\n";
}

const StrategyResult* chosen_at(const std::vector<StrategyResult>& v, int n) {
    for (const auto& s : v)
        if (s.n == n && s.chosen) return &s;
    return nullptr;
}

// Per n: the best of both sweeps on validation (strategy and K chosen together), tested once; and
// what the K-view cache cost against the plain one.
std::string views_per_n(const DemoReport& r, int n) {
    const StrategyResult *a = chosen_at(r.main, n), *b = chosen_at(r.with_views, n);
    const CacheRun *ca = find_cache(r, n, 1), *cb = find_cache(r, n, r.views);
    if (!a || !b || !ca || !cb) return "";
    const StrategyResult& best = prefers_views(*a, *b) ? *b : *a;
    std::string t = "- n = " + std::to_string(n) +
                    ", strategy and K chosen together: validation's best over both sweeps is " + best.strategy +
                    " with K = " + std::to_string(best.views) + " (" + format("%.4f", best.val_accuracy) +
                    "); tested once it scores " + format("%.4f", best.test_accuracy) +
                    " (the K = 1 sweep's choice: " + format("%.4f", a->test_accuracy) +
                    ", the K = " + std::to_string(r.views) + " sweep's: " + format("%.4f", b->test_accuracy) + ").\n";
    t += "- n = " + std::to_string(n) + ", cost: extracting K = " + std::to_string(r.views) + " took " +
         format("%.1f", cb->extract_seconds) + " s against " + format("%.1f", ca->extract_seconds) + " s (×" +
         format("%.1f", cb->extract_seconds / ca->extract_seconds) + "); the cache holds " + megabytes(cb->file_bytes) +
         " against " + megabytes(ca->file_bytes) + " (×" +
         format("%.1f", static_cast<double>(cb->file_bytes) / ca->file_bytes) + "), of which " +
         std::to_string(cb->view_rows) + " view rows take " + megabytes(cb->view_bytes) + "; its sweep took " +
         format("%.0f", cb->sweep_seconds) + " s against " + format("%.0f", ca->sweep_seconds) + " s.\n";
    return t;
}

// Counts over every (n, strategy) pair, so the summary is the sentences above added up.
struct ViewsTally {
    int pairs = 0, gains = 0, losses = 0, picked = 0;
    int regrets = 0;  // validation's K tests measurably below the other K
};

void count_pair(ViewsTally& c, const StrategyResult& a, const StrategyResult& b, double test_images) {
    const double d = b.test_accuracy - a.test_accuracy, band = two_se(a.test_accuracy, b.test_accuracy, test_images);
    const bool pick = prefers_views(a, b);
    ++c.pairs, c.gains += d > band, c.losses += d < -band, c.picked += pick;
    c.regrets += pick ? d < -band : d > band;
}

std::string views_tally(const DemoReport& r, const ViewsTally& c) {
    const std::string k = "K = " + std::to_string(r.views);
    return "- Over the " + std::to_string(c.pairs) + " (n, strategy) pairs, " + k + " is a measurable test gain in " +
           std::to_string(c.gains) + ", a measurable loss in " + std::to_string(c.losses) +
           " and no measurable change in " + std::to_string(c.pairs - c.gains - c.losses) + ". Validation prefers " +
           k + " in " + std::to_string(c.picked) + " of them; the K it prefers tests measurably below the other K in " +
           std::to_string(c.regrets) + ".\n";
}

// The table and every sentence of the section, from r.main (K = 1) and r.with_views (K).
std::string views_findings(const DemoReport& r, std::string& table) {
    std::string t;
    ViewsTally tally;
    const auto test_images = static_cast<double>(r.p2_test_images);
    for (int n : r.ns) {
        for (const auto& family : kFamilies) {
            const StrategyResult *a = find(r.main, family, n), *b = find(r.with_views, family, n);
            if (!a || !b) continue;
            const bool pick = prefers_views(*a, *b);
            table += views_row(*a, *find_cache(r, n, 1), !pick) + views_row(*b, *find_cache(r, n, r.views), pick);
            t += views_sentence(*a, *b, test_images);
            count_pair(tally, *a, *b, test_images);
        }
        t += views_per_n(r, n);
    }
    return t + views_tally(r, tally);
}

// Test accuracy against n, one line per strategy and K.
void draw_views(const DemoReport& r, const std::string& path) {
    LineChart c;
    c.title = "P2 test accuracy, K = 1 vs K = " + std::to_string(r.views) + " views, " + r.scenario;
    c.x.label = "labelled images per class (n)";
    c.y.label = "test accuracy (fraction)";
    for (int n : r.ns) c.x_categories.push_back(std::to_string(n));
    for (const auto& family : kFamilies)
        for (const auto* results : {&r.main, &r.with_views}) {
            std::vector<double> v;
            for (int n : r.ns) {
                const StrategyResult* s = find(*results, family, n);
                v.push_back(s ? s->test_accuracy : std::nan(""));
            }
            c.series.push_back({family + " K=" + std::to_string(results == &r.main ? 1 : r.views), v});
        }
    write_chart_png(path, render_line_chart(c));
}

// Where the SPEC came from: it is a hyper-parameter like any other, so only validation may move it.
std::string spec_origin(const std::string& spec) {
    const bool is_default = spec == parse_augment_spec("default").to_string();
    return std::string(is_default ? "The SPEC is the library's default (`default`), not tuned for this data"
                                  : "The SPEC is not the library's default") +
           "; a SPEC may be changed only on validation scores, never on the test accuracies below.";
}

std::string views_method(const DemoReport& r) {
    const std::string k = std::to_string(r.views);
    return "For every n a second cache was extracted with `--views " + k + " --augment " + r.augment +
           "`: view 0 of every image as in the K = 1 cache, plus " + std::to_string(r.views - 1) +
           " augmented views of each training image (validation and test images are stored plain). The same sweep "
           "(candidates, folds, "
           "seeds, schedules) ran on it; its training streams draw one of a row's views per epoch, uniformly from view "
           "0 and its stored "
           "views, and validation reads view 0 only. Rows of the cache's validation split have no stored views, so "
           "under "
           "cross-validation their turns in the training folds are plain. Each strategy's validation choice was "
           "retrained and tested "
           "once per K, as above. K itself is chosen on validation (bold: the K validation prefers; ties go to K = 1, "
           "the cheaper "
           "cache). " +
           spec_origin(r.augment) +
           "\n\n"
           "A difference is called a gain or a loss only beyond two standard errors of the difference of two binomial "
           "accuracies (over "
           "the test images, or over the validation predictions behind a score); the models predict the same images, "
           "so this band is "
           "wider than a paired test's and errs towards \"no measurable change\".\n\n";
}

std::string views_section(const DemoReport& r, const std::string& png_name) {
    const std::string k = std::to_string(r.views);
    std::string table =
        "| n | strategy | K | chosen candidate | validation (folds) | test accuracy | extraction s | cache size |\n"
        "|---|---|---|---|---|---|---|---|\n";
    const std::string findings = views_findings(r, table);
    return "## Augmented views: K = 1 vs K = " + k + "\n\n" + views_method(r) + table + "\n![K = 1 vs K = " + k + "](" +
           png_name + ")\n\n### What the numbers say\n\n" + findings + "\n";
}

}  // namespace

std::string strategy_table(const std::vector<StrategyResult>& results) {
    std::string t =
        "| strategy | n | reads | chosen candidate | validation (folds) | test accuracy | trained parameters | "
        "retraining s | all its trials s |\n|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& s : results) t += row(s);
    return t;
}

std::string write_demo_report(const DemoReport& r, const std::string& markdown_path) {
    const boost::filesystem::path md(markdown_path);
    const std::string dir = md.parent_path().empty() ? "." : md.parent_path().string();
    const std::string png_name = md.stem().string() + "-accuracy.png", sweep_png = md.stem().string() + "-sweep.png";
    draw_accuracy(r, dir + "/" + png_name);
    boost::filesystem::copy_file(r.sweep_dir + "/sweep.png", dir + "/" + sweep_png,
                                 boost::filesystem::copy_option::overwrite_if_exists);

    std::string t = header(r) + strategies(r, png_name);
    if (r.views > 1) {
        const std::string views_png = md.stem().string() + "-augment.png";
        draw_views(r, dir + "/" + views_png);
        t += views_section(r, views_png);
    }
    t += "## Where to cut: every candidate at n = " + std::to_string(r.sweep_n) + "\n\nThe sweep's ranking on " +
         r.sweep.mode + " (validation only; no test accuracy is computed for candidates that were not chosen).\n\n" +
         sweep_ranking_table(r.sweep) + "\n![score by cut point](" + sweep_png + ")\n\n";
    t += "## What the numbers say\n\n" + conclusions(r) + "\n";
    t += "## How hyper-parameters were chosen\n\n" + r.selection + "\n";
    std::ofstream out(markdown_path);
    out << t;
    if (!out) throw std::runtime_error("cannot write " + markdown_path);
    return t;
}

}  // namespace cvtl::demo
