// The files a user keeps survive a kill: sweep.json, run state (model.h5) and exports are, after SIGKILL
// at any moment, the old file or the new one, never empty or partial (pipeline/core/atomic_file).
#include "pipeline/core/atomic_file.hpp"
#include "pipeline/core/error.hpp"
#include "pipeline/train/run_state.hpp"
#include "pipeline/train/sweep_state.hpp"
#include "support/fixtures.hpp"
#include "support/subprocess.hpp"
#include "support/trained_runs.hpp"

#include <doctest/doctest.h>

#include <boost/filesystem.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/dnn.hpp>

#include <chrono>
#include <csignal>
#include <functional>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace cvtl;

namespace {

// Forks a child that runs `write(k)` for k = 0, 1, 2, ... until it is killed with SIGKILL after
// `delay`, and waits for it. The child does nothing but write: no threads are running in it.
void kill_writer_after(const std::function<void(int)>& write, std::chrono::microseconds delay) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        for (int k = 0;; ++k) write(k);
    }
    std::this_thread::sleep_for(delay);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
}

// sweep.json as the sweep writes it: version k of a state with enough trials to take a while to write.
nlohmann::json sweep_state_version(int k) {
    nlohmann::json j = {{"version", k}, {"trials", nlohmann::json::array()}};
    for (int t = 0; t < 2000; ++t) j["trials"].push_back({{"id", "candidate-" + std::to_string(t)}, {"score", k + t}});
    return j;
}

RunState run_state_version(int k) {
    RunState s;
    s.meta = {{"version", k}};
    s.spec = nlohmann::json::object();
    s.progress = {{"epoch", k}};
    s.weights["w"] = cv::Mat(std::vector<int>{256, 256}, CV_32F, cv::Scalar(static_cast<float>(k)));
    return s;
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("sweep.json killed while being rewritten is a whole earlier or later version") {
        test::TempDir dir;
        const std::string path = dir / "sweep.json";
        write_json_atomically(path, sweep_state_version(-1));
        for (int attempt = 0; attempt < 12; ++attempt) {
            kill_writer_after([&](int k) { write_json_atomically(path, sweep_state_version(k)); },
                              std::chrono::microseconds(500 + 1700 * attempt));
            const std::string text = test::read_file(path);
            REQUIRE(!text.empty());
            const nlohmann::json j = nlohmann::json::parse(text);  // throws on a partial file
            CHECK(j == sweep_state_version(j.at("version").get<int>()));
        }
    }

    TEST_CASE("a run state killed while being saved loads as a whole earlier or later version") {
        test::TempDir dir;
        const std::string path = dir / "model.h5";
        save_run_state(path, run_state_version(-1));
        for (int attempt = 0; attempt < 12; ++attempt) {
            kill_writer_after([&](int k) { save_run_state(path, run_state_version(k)); },
                              std::chrono::microseconds(500 + 1700 * attempt));
            const RunState s = load_run_state(path);  // throws on a damaged file
            const int k = s.meta.at("version");
            CHECK(s.progress.at("epoch") == k);
            CHECK(cv::norm(s.weights.at("w"), cv::NORM_INF) == doctest::Approx(std::abs(k)));
        }
    }

    TEST_CASE("an export killed mid-write leaves the previous model, and the next export replaces it whole") {
        test::TempDir dir;
        const std::string cache = test::fixture_cache(dir);
        const std::string run =
            test::train_fixture_run(cache, dir / "run", Strategy::classifier, ClassifierHead::linear, 5, 1);
        const std::string onnx = dir / "model.onnx", sidecar = dir / "model.json";
        test::write_file(onnx, "the previous model");
        test::write_file(sidecar, "{}");
        // Killed as soon as the temporary exists: mid-write, the moment a plain write would truncate.
        const auto killed = test::run_cvtl({"export", run, "-o", onnx, "--force"}, {},
                                           [&] { return boost::filesystem::exists(onnx + ".tmp"); });
        CHECK(killed.exit_code == -9);
        CHECK(test::read_file(onnx) == "the previous model");
        CHECK(test::read_file(sidecar) == "{}");
        const auto done = test::run_cvtl({"export", run, "-o", onnx, "--force"});
        CAPTURE(done.err);
        REQUIRE(done.exit_code == 0);
        CHECK(!cv::dnn::readNet(onnx).empty());
        CHECK(!boost::filesystem::exists(onnx + ".tmp"));
    }
}  // TEST_SUITE
