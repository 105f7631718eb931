#pragma once
#include "pipeline/core/events.hpp"
#include "pipeline/dist/communicator.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace cvtl {

// Progress on stderr: items done, items/s, ETA, and what is being worked on (the sweep's candidate
// and fold). On a terminal, one line redrawn at most a few times a second. Otherwise (a log under
// nohup, cron or Slurm) a plain line every kLogSeconds (CVTL_PROGRESS_SECONDS overrides it): a job
// that runs for hours shows in its log, a short one stays quiet.
class Progress {
public:
    static constexpr double kLogSeconds = 30;
    // `already_done` items were done before this run (a resumed job); the rate counts this run's.
    Progress(std::string label, std::int64_t total, std::int64_t already_done = 0, std::string unit = "images");
    // `eta_seconds` >= 0: the job's own estimate of the time left, shown instead of the rate's.
    void update(std::int64_t done, const std::string& item = "", double eta_seconds = -1);
    void finish();  // clears the line
    double seconds() const;

private:
    std::string status(std::int64_t done, const std::string& item) const;
    void log(std::int64_t done, const std::string& item);
    double eta_seconds_ = -1;

    std::string label_, unit_;
    std::int64_t total_ = 0, already_done_ = 0;
    bool terminal_ = false, drawn_ = false;
    double log_seconds_ = kLogSeconds;
    std::chrono::steady_clock::time_point start_, last_draw_;
};

// The library's events on the terminal: warnings as "cvtl: warning: ..." with options rendered as
// --flags, progress as one line per stage (a new line when the stage changes).
class TerminalEvents {
public:
    // `prefix` leads every progress label ("sweep "); `unit` counts the work ("images", "trainings").
    explicit TerminalEvents(std::string prefix = "", std::string unit = "images");
    // Bound to this object: it must outlive every use.
    Events events();
    void finish();  // clears the progress line

private:
    void warning(const std::string& line);
    void progress(const JobProgress& p);

    std::string prefix_, unit_, stage_;
    std::unique_ptr<Progress> bar_;
};

namespace cli {
// Under mpirun: rank 0 draws the progress; the other ranks print only warnings, naming their rank.
Events rank_events(Events events, const Communicator& comm);

// A library message with its {option} concepts as this CLI's flags ("{force}" -> "--force").
std::string as_flags(const std::string& message);
}  // namespace cli

// "1m05s", "3.2s"
std::string format_duration(double seconds);

}  // namespace cvtl
