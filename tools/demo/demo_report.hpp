#pragma once
// The demo's results: a markdown report and a plot of test accuracy against n per strategy.
#include <string>
#include <vector>

namespace cvtl::demo {

struct StrategyResult {
    std::string strategy;       // e.g. "2 classifier (pool5)"
    std::string key;            // short id: classifier, finetune5, finetune4, scratch, sweep-pool2...
    int n = 0;                  // labelled images per class
    std::string tap;
    double test_accuracy = 0;
    double val_accuracy = 0;
    long long trained_parameters = 0;
    double train_seconds = 0;   // the selected configuration's training
    double grid_seconds = 0;    // every configuration tried on the validation split
    std::string hyper;          // the selected hyper-parameters
    std::string model;          // exported ONNX
};

struct DemoReport {
    std::string scenario, date, commit, machine;
    std::string source_model;
    double p1_accuracy = 0;     // strategy 1 on P1's test set
    std::vector<std::string> p1_classes, p2_classes;
    long long p2_test_images = 0;
    std::vector<int> ns;
    std::vector<double> extract_seconds;   // per n: the one extraction every strategy reads
    std::vector<StrategyResult> main;      // strategies 2-4 for every n
    std::vector<StrategyResult> sweep;     // frozen-depth sweep at the sweep n
    int sweep_n = 0;
    std::string selection;      // how hyper-parameters were chosen
    double total_seconds = 0;
};

// Writes the markdown report and, next to it, STEM-accuracy.png; returns the markdown text.
std::string write_demo_report(const DemoReport& report, const std::string& markdown_path);

}  // namespace cvtl::demo
