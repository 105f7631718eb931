#pragma once
#include <functional>
#include <string>
#include <vector>

namespace cvtl::test {

struct RunResult {
    int exit_code = -1;  // -signal when killed
    std::string out, err;
};

// Runs the cvtl binary with `args` (no shell), extra environment entries "NAME=value", and
// captures its output. When `kill_when` is given it is polled every 2 ms while the process runs,
// and the process gets SIGKILL as soon as it returns true.
RunResult run_cvtl(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                   const std::function<bool()>& kill_when = {});

// The same for any program: argv[0] is its path.
RunResult run_program(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                      const std::function<bool()>& kill_when = {});

// A running process of `program` (its /proc/PID/exe) whose environment holds every one of `entries`
// ("NAME=value"), e.g. one rank of one test's mpirun job; -1 when there is none.
int find_process_with_env(const std::vector<std::string>& entries, const std::string& program);

}  // namespace cvtl::test
