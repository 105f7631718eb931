#pragma once
#include "plugin/events.hpp"
#include "pipeline/dist/communicator.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace cvtl {

// A one-line progress display on stderr: items done, items/s, ETA. Silent when stderr is not a
// terminal (logs and CI stay clean), redrawn at most a few times a second.
class Progress {
public:
    // `already_done` items were done before this run (a resumed job); the rate counts this run's.
    Progress(std::string label, std::int64_t total, std::int64_t already_done = 0, std::string unit = "images");
    void update(std::int64_t done);
    void finish();   // clears the line
    double seconds() const;

private:
    std::string label_, unit_;
    std::int64_t total_ = 0, already_done_ = 0;
    bool enabled_ = false, drawn_ = false;
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
    void finish();   // clears the progress line

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
