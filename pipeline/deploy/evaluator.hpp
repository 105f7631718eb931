#pragma once
// cvtl evaluate: score a classifier on labelled images through the batch pipeline.
#include "pipeline/deploy/classifier_model.hpp"
#include "pipeline/dist/communicator.hpp"
#include "pipeline/data/dataset.hpp"
#include "pipeline/data/image_decode.hpp"
#include "pipeline/train/run_report.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cvtl {

struct EvaluateOptions {
    std::string model;
    std::string data;  // class-per-folder tree or CSV; every sample is evaluated (a CSV's test rows when it marks any);
                       // or a cvtl cache (CACHE.h5): its rows of `split`, at the tap the model reads
    Split split = Split::Test;  // of a cache: the held-out rows (extract's {test-fraction} or a CSV's test rows)
    std::string report;         // REPORT.json (+ REPORT-confusion.csv/png), misclassified images worst first; "": none
    std::string errors_png;     // a contact sheet of the `errors` worst misclassified images; "" : none
    int errors = 16;
    ClassifierOptions classifier;
    int batch = 16;
    int threads = 0;
    int top_k = 5;
    std::uint64_t max_image_bytes = kDefaultMaxImageBytes;
    // mpirun: rank 0 scans the data, each rank scores a contiguous shard of it, the counts are
    // summed and rank 0 writes the report. Every rank gets the whole summary.
    Communicator comm;
};

struct ClassScore {
    std::string name;
    std::int64_t support = 0;  // samples of this class in the data
    double precision = 0, recall = 0;
};

// One misclassified image (or cached row), with the model's top-k classes and probabilities.
struct Misclassified {
    std::string where;  // the image file, or "CACHE row N"
    int truth = 0;      // model class indices
    double truth_probability = 0;
    std::vector<int> top;
    std::vector<double> top_probability;
};

struct EvaluateSummary {
    std::int64_t images = 0, skipped = 0;
    double accuracy = 0, top_k_accuracy = 0;
    int top_k = 0;
    std::vector<ClassScore> classes;  // the model's classes
    Confusion confusion;              // [true][predicted] over the model's classes
    // Worst first (the lowest probability of the true class). Under mpirun: rank 0's share only.
    std::vector<Misclassified> misclassified;
    double seconds = 0;
};

EvaluateSummary run_evaluation(const EvaluateOptions& options, const Events& events);

}  // namespace cvtl
