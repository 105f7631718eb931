#pragma once
// The demo's results: a markdown report and a plot of test accuracy against n per strategy.
#include "pipeline/train/sweep.hpp"

#include <string>
#include <vector>

namespace cvtl::demo {

struct StrategyResult {
    std::string strategy;  // e.g. "2 classifier (pool5)", "3 finetune from block 3 (pool2)"
    std::string key;       // the sweep's family: probe, classifier, finetune, scratch
    int n = 0;             // labelled images per class
    std::string tap;
    double test_accuracy = 0;
    double val_accuracy = 0;  // the sweep's score: mean validation accuracy over `folds` folds
    int folds = 1;
    bool chosen = false;  // the sweep's overall choice at this n
    long long trained_parameters = 0;
    double train_seconds = 0;   // retraining the chosen candidate on all labelled images
    double grid_seconds = 0;    // every candidate of this family in the sweep
    std::string hyper;          // the chosen candidate and epochs
    std::string model;          // exported ONNX
    int views = 1;              // K of the cache it was trained from
    long long val_samples = 0;  // validation predictions behind val_accuracy (over its folds)
};

// One extraction of one n: what it cost, and the sweep that read it.
struct CacheRun {
    int n = 0, views = 1;
    std::string path;
    double extract_seconds = 0;         // wall time of run_extraction
    unsigned long long file_bytes = 0;  // the cache file on disk
    long long rows = 0, view_rows = 0;  // rows in /taps, and in /views (K-1 per training image)
    unsigned long long view_bytes = 0;  // stored bytes of /views
    double sweep_seconds = 0;           // the sweep over this cache (every candidate)
};

struct DemoReport {
    std::string scenario, date, commit, machine;
    std::string command = "tools/demo.sh";  // what made the report, as the user typed it
    std::string source_model;
    std::string backbone;           // "VGG-16 layout", "ResNet-18 layout"
    std::vector<std::string> taps;  // what every n's cache holds
    double p1_accuracy = 0;         // strategy 1 on P1's test set
    std::vector<std::string> p1_classes, p2_classes;
    long long p2_test_images = 0;
    std::vector<int> ns;
    std::vector<double> extract_seconds;  // per n: the one extraction every strategy reads
    std::vector<StrategyResult> main;     // each strategy's chosen model, for every n
    SweepSummary sweep;                   // the whole sweep at the sweep n (its ranking and plot)
    std::string sweep_dir;
    int sweep_n = 0;
    std::string selection;  // how hyper-parameters were chosen
    double total_seconds = 0;
    // --views K > 1: the same sweep on a second cache with K views per training image, per n.
    int views = 1;
    std::string augment;                     // canonical SPEC of views 1..K-1
    std::vector<CacheRun> caches;            // per n: the K = 1 cache, then the K-view one
    std::vector<StrategyResult> with_views;  // each strategy's chosen model from the K-view cache
};

// printf-style formatting of one number ("%.4f").
std::string format(const char* fmt, double v);
// Two standard errors of the difference of two accuracies over m predictions each (independent
// binomials, which overstates the noise of two models scored on the same images).
double two_se(double a, double b, double m);

// The markdown table of each strategy's chosen model (one row per strategy and n).
std::string strategy_table(const std::vector<StrategyResult>& results);

// Writes the markdown report and, next to it, STEM-accuracy.png; returns the markdown text.
std::string write_demo_report(const DemoReport& report, const std::string& markdown_path);

// Two sources transferred to the same P2 images (tools/demo.sh --backbone vgg,resnet): writes the
// comparison report and STEM-accuracy.png next to it; returns the markdown text.
std::string write_backbone_report(const std::vector<DemoReport>& sources, const std::string& markdown_path);

}  // namespace cvtl::demo
