// cvtl under mpirun (issue 14): sharded extraction, data-parallel training and sharded evaluation
// give what one process gives. Every test starts real Open MPI jobs of 2 or 3 ranks on this machine.
#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/cache_info.hpp"
#include "support/fixtures.hpp"
#include "support/reference.hpp"
#include "support/subprocess.hpp"

#include <doctest/doctest.h>

#include <boost/filesystem.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>

using namespace cvtl;
namespace fs = boost::filesystem;

namespace {

// `cvtl ARGS...` as an N-rank Open MPI job (root allowed: CI runs as root; oversubscribed: 2 cores).
test::RunResult mpirun(int ranks, const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                       const std::function<bool()>& kill_when = {}) {
    std::vector<std::string> argv{
        "/usr/bin/mpirun", "--allow-run-as-root", "--oversubscribe", "-np", std::to_string(ranks), CVTL_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run_program(argv, env, kill_when);
}

std::vector<std::string> extract_args(const std::string& data, const std::string& cache) {
    return {"extract",     test::fixture("tiny_vgg16.onnx"),
            data,          "-o",
            cache,         "--taps",
            "pool4,pool5", "--batch",
            "4",           "--threads",
            "1",           "--val-fraction",
            "0.3",         "--views",
            "2",           "--augment",
            "flip=1"};
}

// 36 images and one undecodable file.
std::string make_tree(const test::TempDir& dir) {
    const std::string data = test::make_image_tree(dir.path(), 3);
    test::write_file(data + "/dog/broken.png", "not a png");
    return data;
}

int error_lines(const std::string& err) {
    int n = 0;
    for (size_t at = err.find("cvtl: error:"); at != std::string::npos; at = err.find("cvtl: error:", at + 1)) ++n;
    return n;
}

// The same rows, paths, labels, splits, stamps and skipped files; taps within 1e-5.
void check_same_cache(const std::string& a, const std::string& b) {
    for (const char* d :
         {cache::kSamplesPath, cache::kSamplesSha256, cache::kSkippedPath, cache::kSkippedReason, cache::kClasses}) {
        CAPTURE(d);
        CHECK(test::read_string_list(a, d) == test::read_string_list(b, d));
    }
    for (const char* d : {cache::kSamplesLabel, cache::kSamplesSplit, cache::kViewsSample, cache::kViewsIndex,
                          "/taps/pool4", "/taps/pool5", "/views/taps/pool5"}) {
        CAPTURE(d);
        const cv::Mat x = test::read_tensor(a, d), y = test::read_tensor(b, d);
        REQUIRE(x.total() == y.total());
        CHECK(test::diff(x, y).max_abs <= 1e-5);
    }
    CHECK(read_cache_info(a).rows == read_cache_info(b).rows);
}

std::vector<std::string> train_args(const std::string& cache, const std::string& run, const std::string& dropout) {
    return {"train",   cache, "-o",        run,     "--strategy", "finetune", "--from-block", "5", "--epochs", "3",
            "--batch", "7",   "--dropout", dropout, "--threads",  "1",        "--seed",       "5"};
}

// Largest difference between two runs' checkpointed weights.
double weight_difference(const std::string& run_a, const std::string& run_b) {
    const std::string a = run_a + "/checkpoint.h5", b = run_b + "/checkpoint.h5";
    double worst = 0;
    int compared = 0;
    for (const std::string name :
         {"block5.conv1.weights", "block5.conv3.bias", "classifier.fc6.weights", "classifier.fc8.weights"}) {
        CAPTURE(name);
        const cv::Mat x = test::read_tensor(a, "/weights/" + name), y = test::read_tensor(b, "/weights/" + name);
        REQUIRE(x.total() == y.total());
        worst = std::max(worst, test::diff(x, y).max_abs);
        ++compared;
    }
    CHECK(compared == 4);
    return worst;
}

}  // namespace

TEST_SUITE("mpi") {
    TEST_CASE(
        "mpirun extract on 2 and 3 ranks writes one virtual cache equal to a single process and to --shard plus "
        "merge") {
        test::TempDir dir;
        const std::string data = make_tree(dir);
        REQUIRE(test::run_cvtl(extract_args(data, dir / "single.h5")).exit_code == 0);
        for (int ranks : {2, 3}) {
            CAPTURE(ranks);
            const std::string cache = dir / ("ranks" + std::to_string(ranks) + ".h5");
            const auto r = mpirun(ranks, extract_args(data, cache));
            INFO(r.err);
            REQUIRE(r.exit_code == 0);
            CHECK(r.out.find("on " + std::to_string(ranks) + " ranks") != std::string::npos);
            const CacheInfo info = read_cache_info(cache);
            CHECK(info.shards.size() == static_cast<size_t>(ranks));  // HDF5 virtual datasets over the shards
            CHECK(info.complete);
            check_same_cache(dir / "single.h5", cache);
        }
        // The job-array route over the same shards' ranges: cvtl extract --shard K/3, then cache merge.
        std::vector<std::string> merge{"cache", "merge", dir / "merged.h5"};
        for (int k = 0; k < 3; ++k) {
            auto args = extract_args(data, dir / "merged.h5");
            args.insert(args.end(), {"--shard", std::to_string(k) + "/3"});
            REQUIRE(test::run_cvtl(args).exit_code == 0);
            merge.push_back(dir / ("merged.h5.shards/rank-" + std::to_string(k) + "-of-3.h5"));
        }
        REQUIRE(test::run_cvtl(merge).exit_code == 0);
        check_same_cache(dir / "ranks3.h5", dir / "merged.h5");
    }

    TEST_CASE("mpirun extract after a rank was killed with SIGKILL resumes every shard to the same cache") {
        test::TempDir dir;
        const std::string data = make_tree(dir);
        REQUIRE(test::run_cvtl(extract_args(data, dir / "single.h5")).exit_code == 0);
        // Rank 1 is killed once its shard has sealed a segment: mpirun then ends the job.
        const std::string parts = dir / "cache.h5.shards/rank-1-of-2.h5.parts";
        const auto sealed = [&] {
            boost::system::error_code ec;
            int n = 0;
            for (fs::directory_iterator it(parts, ec), end; !ec && it != end; it.increment(ec)) ++n;
            return n >= 1;
        };
        bool killed = false;
        const std::string job = "CVTL_TEST_JOB=" + dir.path();
        const auto kill_rank_1 = [&] {
            if (killed || !sealed()) return false;
            // This job's rank 1 only: ctest runs other mpirun tests beside this one.
            const int pid = test::find_process_with_env({"OMPI_COMM_WORLD_RANK=1", job}, CVTL_BINARY);
            if (pid > 0) killed = ::kill(pid, SIGKILL) == 0;
            return false;
        };
        const auto first =
            mpirun(2, extract_args(data, dir / "cache.h5"), {"CVTL_TEST_SEGMENT_ROWS=2", job}, kill_rank_1);
        REQUIRE(killed);
        CHECK(first.exit_code != 0);
        CHECK_FALSE(fs::exists(dir / "cache.h5"));
        const auto again = mpirun(2, extract_args(data, dir / "cache.h5"), {"CVTL_TEST_SEGMENT_ROWS=2"});
        INFO(again.err);
        REQUIRE(again.exit_code == 0);
        CHECK(again.out.find("resumed after") != std::string::npos);
        check_same_cache(dir / "single.h5", dir / "cache.h5");
    }

    TEST_CASE("mpirun extract refuses another rank count and mpirun reports an error once") {
        test::TempDir dir;
        const std::string data = make_tree(dir);
        REQUIRE(mpirun(2, extract_args(data, dir / "cache.h5")).exit_code == 0);
        const auto other = mpirun(3, extract_args(data, dir / "cache.h5"));
        CHECK(other.exit_code != 0);
        CHECK(other.err.find("cvtl: error:") != std::string::npos);
        CHECK(other.err.find("2-way") != std::string::npos);
        const auto missing = mpirun(2, {"train", dir / "missing.h5", "-o", dir / "run"});
        CHECK(missing.exit_code == 1);
        CHECK(error_lines(missing.err) == 1);
    }

    TEST_CASE("mpirun train on 2 ranks matches one process on the same global batches and resumes") {
        test::TempDir dir;
        const std::string data = make_tree(dir);
        REQUIRE(test::run_cvtl(extract_args(data, dir / "cache.h5")).exit_code == 0);
        REQUIRE(test::run_cvtl(train_args(dir / "cache.h5", dir / "one", "0")).exit_code == 0);
        const auto two = mpirun(2, train_args(dir / "cache.h5", dir / "two", "0"));
        INFO(two.err);
        REQUIRE(two.exit_code == 0);
        CHECK(two.out.find("data-parallel on 2 ranks") != std::string::npos);
        CHECK(weight_difference(dir / "one", dir / "two") <= 1e-5);  // float sums in another order only
        CHECK(fs::exists(dir / "two/model.h5"));
        // Interrupted after one epoch, resumed on 2 ranks: the same weights again.
        auto first = train_args(dir / "cache.h5", dir / "resumed", "0");
        first.insert(first.end(), {"--stop-after-epochs", "1"});
        REQUIRE(mpirun(2, first).exit_code == 0);
        auto rest = train_args(dir / "cache.h5", dir / "resumed", "0");
        rest.push_back("--resume");
        REQUIRE(mpirun(2, rest).exit_code == 0);
        CHECK(weight_difference(dir / "one", dir / "resumed") <= 1e-5);
    }

    TEST_CASE("mpirun train on 3 ranks draws the global batch's dropout masks") {
        test::TempDir dir;
        const std::string data = make_tree(dir);
        REQUIRE(test::run_cvtl(extract_args(data, dir / "cache.h5")).exit_code == 0);
        REQUIRE(test::run_cvtl(train_args(dir / "cache.h5", dir / "one", "0.5")).exit_code == 0);
        // Batches of 7 rows split 2/2/3, and the epoch's last batch of 4 splits 1/1/2.
        const auto three = mpirun(3, train_args(dir / "cache.h5", dir / "three", "0.5"));
        INFO(three.err);
        REQUIRE(three.exit_code == 0);
        CHECK(weight_difference(dir / "one", dir / "three") <= 1e-5);
        // Without the global masks the runs part: a different dropout seed moves the weights far more.
        auto reseeded = train_args(dir / "cache.h5", dir / "other", "0.5");
        reseeded.back() = "6";
        REQUIRE(test::run_cvtl(reseeded).exit_code == 0);
        CHECK(weight_difference(dir / "one", dir / "other") > 1e-3);
    }

    TEST_CASE("mpirun evaluate on 2 ranks scores every image once and reports what one process reports") {
        test::TempDir dir;
        const std::string data = make_tree(dir);
        REQUIRE(test::run_cvtl(extract_args(data, dir / "cache.h5")).exit_code == 0);
        REQUIRE(test::run_cvtl({"train", dir / "cache.h5", "-o", dir / "run", "--strategy", "classifier", "--head",
                                "linear", "--tap", "pool5", "--epochs", "3", "--threads", "1"})
                    .exit_code == 0);
        REQUIRE(test::run_cvtl({"export", dir / "run", "-o", dir / "model.onnx"}).exit_code == 0);
        const std::vector<std::string> args{"evaluate", dir / "model.onnx", data, "--threads",
                                            "1",        "--batch",          "4",  "--report"};
        auto one = args, two = args;
        one.push_back(dir / "one.json");
        two.push_back(dir / "two.json");
        REQUIRE(test::run_cvtl(one).exit_code == 0);
        const auto r = mpirun(2, two);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const auto a = nlohmann::json::parse(test::read_file(dir / "one.json")),
                   b = nlohmann::json::parse(test::read_file(dir / "two.json"));
        CHECK(a.at("images") == 36);
        CHECK(b.at("images") == a.at("images"));
        CHECK(b.at("skipped") == a.at("skipped"));
        CHECK(b.at("confusion") == a.at("confusion"));
        CHECK(b.at("accuracy") == a.at("accuracy"));
    }

    TEST_CASE("mpirun sweep deals its trainings to 2 ranks and scores and picks as one process does") {
        test::TempDir dir;
        const std::string data = make_tree(dir);
        REQUIRE(test::run_cvtl(extract_args(data, dir / "cache.h5")).exit_code == 0);
        const std::vector<std::string> args{"sweep", dir / "cache.h5", "--only", "probe,classifier", "--steps",
                                            "12",    "--folds",        "2",      "--threads",        "1",
                                            "-o"};
        auto one = args, two = args;
        one.push_back(dir / "one");
        two.push_back(dir / "two");
        const auto a = test::run_cvtl(one);
        INFO(a.err);
        REQUIRE(a.exit_code == 0);
        const auto b = mpirun(2, two);
        INFO(b.err);
        REQUIRE(b.exit_code == 0);
        CHECK(b.out.find("on 2 ranks") != std::string::npos);
        // The same trainings (each on one rank, single-process arithmetic): the same curves, the same winner.
        const auto trials_a = nlohmann::json::parse(test::read_file(dir / "one/sweep.json")).at("trials");
        const auto trials_b = nlohmann::json::parse(test::read_file(dir / "two/sweep.json")).at("trials");
        REQUIRE(trials_a.size() == trials_b.size());
        REQUIRE(trials_a.size() >= 3);
        for (const auto& item : trials_a.items()) {
            // A named copy, not a structured binding: clang cannot capture a binding in CAPTURE's lambda.
            const std::string name = item.key();
            const auto& folds = item.value();
            CAPTURE(name);
            REQUIRE(folds.size() == trials_b.at(name).size());
            for (size_t f = 0; f < folds.size(); ++f) {
                CHECK(folds[f].at("fold") == trials_b.at(name)[f].at("fold"));
                CHECK(folds[f].at("val_accuracy") == trials_b.at(name)[f].at("val_accuracy"));
                CHECK(folds[f].at("val_loss") == trials_b.at(name)[f].at("val_loss"));
            }
        }
        const auto winner = [](const std::string& out) {
            return out.substr(out.find("winner:"), out.find('\n', out.find("winner:")) - out.find("winner:"));
        };
        CHECK(winner(a.out) == winner(b.out));
        CHECK(fs::exists(dir / "two/best.onnx"));
    }

}  // TEST_SUITE
