#pragma once
#include <chrono>
#include <cstdint>
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

// "1m05s", "3.2s"
std::string format_duration(double seconds);

}  // namespace cvtl
