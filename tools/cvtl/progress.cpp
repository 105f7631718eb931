#include "tools/cvtl/progress.hpp"

#include <unistd.h>

#include "pipeline/core/error.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace cvtl {

std::string format_duration(double seconds) {
    char buf[32];
    if (seconds < 60)
        std::snprintf(buf, sizeof buf, "%.1fs", seconds);
    else if (seconds < 3600)
        std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(seconds) / 60, static_cast<int>(seconds) % 60);
    else
        std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(seconds) / 3600,
                      static_cast<int>(seconds) / 60 % 60);
    return buf;
}

namespace {

double log_interval() {
    const char* text = std::getenv("CVTL_PROGRESS_SECONDS");
    if (!text) return Progress::kLogSeconds;
    char* end = nullptr;
    const double s = std::strtod(text, &end);
    return end != text && std::isfinite(s) && s >= 0 ? s : Progress::kLogSeconds;
}

}  // namespace

Progress::Progress(std::string label, std::int64_t total, std::int64_t already_done, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      already_done_(already_done),
      terminal_(isatty(STDERR_FILENO) == 1),
      log_seconds_(log_interval()),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

double Progress::seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::status(std::int64_t done, const std::string& item) const {
    const double elapsed = seconds();
    const double rate = elapsed > 0 ? static_cast<double>(done - already_done_) / elapsed : 0.0;
    const std::string eta = eta_seconds_ >= 0 ? format_duration(eta_seconds_)
                            : rate > 0        ? format_duration(static_cast<double>(total_ - done) / rate)
                                              : "?";
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s %lld/%lld %s  %.1f %s/s  ETA %s", label_.c_str(), static_cast<long long>(done),
                  static_cast<long long>(total_), unit_.c_str(), rate, unit_.c_str(), eta.c_str());
    return item.empty() ? buf : std::string(buf) + "  " + item;
}

void Progress::update(std::int64_t done, const std::string& item, double eta_seconds) {
    eta_seconds_ = eta_seconds;
    if (!terminal_) return log(done, item);
    const auto now = std::chrono::steady_clock::now();
    if (done < total_ && now - last_draw_ < std::chrono::milliseconds(250)) return;
    last_draw_ = now;
    std::fprintf(stderr, "\r%s   ", status(done, "").c_str());  // the live line as it was: the item shows in logs
    std::fflush(stderr);
    drawn_ = true;
}

void Progress::log(std::int64_t done, const std::string& item) {
    const auto now = std::chrono::steady_clock::now();
    const bool due = std::chrono::duration<double>(now - last_draw_).count() >= log_seconds_;
    if (!due) return;
    last_draw_ = now;
    std::fprintf(stderr, "cvtl: %s\n", status(done, item).c_str());
    std::fflush(stderr);
}

void Progress::finish() {
    if (drawn_) std::fprintf(stderr, "\r\033[K");
    drawn_ = false;
}

std::string cli::as_flags(const std::string& message) {
    return render_options(message, [](const std::string& option) { return "--" + option; });
}

TerminalEvents::TerminalEvents(std::string prefix, std::string unit)
    : prefix_(std::move(prefix)), unit_(std::move(unit)) {}

Events TerminalEvents::events() {
    Events e;
    e.warn = [this](const std::string& line) { warning(line); };
    e.progress = [this](const JobProgress& p) { progress(p); };
    return e;
}

void TerminalEvents::warning(const std::string& line) {
    finish();
    std::fprintf(stderr, "cvtl: warning: %s\n", cli::as_flags(line).c_str());
}

void TerminalEvents::progress(const JobProgress& p) {
    // A resumed job starts its line at what was already done, so the rate counts this run's work.
    if (!bar_ || p.stage != stage_) {
        finish();
        bar_ = std::make_unique<Progress>(prefix_ + p.stage, p.total, p.done, unit_);
        stage_ = p.stage;
    }
    bar_->update(p.done, p.item, p.eta_seconds);
}

void TerminalEvents::finish() {
    if (bar_) bar_->finish();
}

Events cli::rank_events(Events events, const Communicator& comm) {
    if (comm.root()) return events;
    events.progress = nullptr;
    events.warn = [warn = events.warn, rank = comm.rank()](const std::string& line) {
        if (warn) warn("rank " + std::to_string(rank) + ": " + line);
    };
    return events;
}

}  // namespace cvtl
