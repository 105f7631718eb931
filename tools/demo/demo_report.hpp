#pragma once
// The demo's results: a markdown report and a plot of test accuracy against n per strategy.
#include "pipeline/train/sweep.hpp"

#include <string>
#include <vector>

namespace cvtl::demo {

struct StrategyResult {
    std::string strategy;       // e.g. "2 classifier (pool5)", "3 finetune from block 3 (pool2)"
    std::string key;            // the sweep's family: probe, classifier, finetune, scratch
    int n = 0;                  // labelled images per class
    std::string tap;
    double test_accuracy = 0;
    double val_accuracy = 0;    // the sweep's score: mean validation accuracy over `folds` folds
    int folds = 1;
    bool chosen = false;        // the sweep's overall choice at this n
    long long trained_parameters = 0;
    double train_seconds = 0;   // retraining the chosen candidate on all labelled images
    double grid_seconds = 0;    // every candidate of this family in the sweep
    std::string hyper;          // the chosen candidate and epochs
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
    std::vector<StrategyResult> main;      // each strategy's chosen model, for every n
    SweepSummary sweep;                    // the whole sweep at the sweep n (its ranking and plot)
    std::string sweep_dir;
    int sweep_n = 0;
    std::string selection;      // how hyper-parameters were chosen
    double total_seconds = 0;
};

// Writes the markdown report and, next to it, STEM-accuracy.png; returns the markdown text.
std::string write_demo_report(const DemoReport& report, const std::string& markdown_path);

}  // namespace cvtl::demo
