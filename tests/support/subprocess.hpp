#pragma once
#include <string>
#include <vector>

namespace cvtl::test {

struct RunResult {
    int exit_code = -1;   // -signal when killed
    std::string out, err;
};

// Runs the cvtl binary with `args` (no shell), extra environment entries "NAME=value", and
// captures its output. `kill_after_ms` > 0 sends SIGKILL after that many milliseconds.
RunResult run_cvtl(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                   int kill_after_ms = 0);

}  // namespace cvtl::test
