#pragma once
// How the library tells its caller what a long job is doing: one interface for extraction,
// evaluation, training and the sweep (docs/architecture.md, "The data flow"). The library never
// prints; the CLI renders these on the terminal, an app however it likes.
#include <cstdint>
#include <functional>
#include <string>

namespace cvtl {

struct JobProgress {
    std::string stage;      // "extract", "evaluate", "train", or the sweep's "rung 1/3", "exporting", ...
    std::int64_t done = 0;  // units of the stage: images, or the sweep's trainings
    std::int64_t total = 0;
    int epoch = 0;            // training: the epoch, from 1; 0 otherwise
    std::string item;         // the sweep: the candidate being trained ("" otherwise)
    double eta_seconds = -1;  // the job's own estimate of the time left, when the rate of `done` would
                              // mislead (the sweep's trainings differ in cost by 100x); < 0: none
};

struct Events {
    // One line, no newline; options are named as {concepts} (pipeline/core/error.hpp, render_options).
    std::function<void(const std::string&)> warn;
    std::function<void(const JobProgress&)> progress;

    void warning(const std::string& line) const {
        if (warn) warn(line);
    }
    void report(const JobProgress& p) const {
        if (progress) progress(p);
    }
};

}  // namespace cvtl
