#include "support/subprocess.hpp"

#include "support/fixtures.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/filesystem.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <cstdlib>
#include <thread>

extern char** environ;

namespace cvtl::test {

RunResult run_cvtl(const std::vector<std::string>& args, const std::vector<std::string>& env,
                   const std::function<bool()>& kill_when) {
    std::vector<std::string> argv{CVTL_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, env, kill_when);
}

RunResult run_program(const std::vector<std::string>& argv_s, const std::vector<std::string>& env,
                      const std::function<bool()>& kill_when) {
    TempDir capture;
    const std::string out_path = capture / "out", err_path = capture / "err";

    // Flush first, or the child's freopen would write the parent's buffered output a second time.
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(out_path.c_str(), "w", stdout) || !freopen(err_path.c_str(), "w", stderr)) _exit(127);
        for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
        std::vector<char*> argv;
        for (auto& a : argv_s) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execve(argv[0], argv.data(), environ);
        _exit(127);
    }
    int status = 0;
    if (kill_when) {
        while (waitpid(pid, &status, WNOHANG) == 0) {
            if (kill_when()) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    } else {
        waitpid(pid, &status, 0);
    }
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    r.out = read_file(out_path);
    r.err = read_file(err_path);
    return r;
}

int find_process_with_env(const std::vector<std::string>& entries, const std::string& program) {
    namespace fs = boost::filesystem;
    boost::system::error_code ec;
    const fs::path wanted = fs::canonical(program, ec);
    for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
        const std::string pid = it->path().filename().string();
        if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
        boost::system::error_code exe_ec;
        if (fs::read_symlink(it->path() / "exe", exe_ec) != wanted || exe_ec) continue;
        std::ifstream environment((it->path() / "environ").string(), std::ios::binary);
        size_t found = 0;
        for (std::string item; std::getline(environment, item, '\0');)
            found += std::find(entries.begin(), entries.end(), item) != entries.end();
        if (found == entries.size()) return std::stoi(pid);
    }
    return -1;
}

}  // namespace cvtl::test
