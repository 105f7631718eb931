#include "pipeline/cache/h5_handle.hpp"
#include "pipeline/train/run_state.hpp"
#include "pipeline/core/error.hpp"
#include "support/fixtures.hpp"
#include "support/synthetic_cache.hpp"

#include <doctest/doctest.h>

#include <H5Cpp.h>

#include <atomic>
#include <chrono>
#include <thread>

using namespace cvtl;

TEST_SUITE("unit") {
    TEST_CASE("run state round trip") {
        test::TempDir dir;
        RunState s;
        s.kind = RunKind::checkpoint;
        s.meta = {{"strategy", "finetune"}, {"classes", {"a", "b"}}};
        s.spec = {{"layers", nlohmann::json::array()}};
        s.progress = {{"epoch", 3}};
        cv::Mat w(std::vector<int>{2, 3, 1, 1}, CV_32F);
        cv::randu(w, -1, 1);
        s.weights["block5.conv1.weights"] = w;
        s.optimizer["block5.conv1.weights/first"] = w * 2;
        save_run_state(dir / "c.h5", s);
        const RunState r = load_run_state(dir / "c.h5");
        CHECK(r.kind == RunKind::checkpoint);
        CHECK(r.meta == s.meta);
        CHECK(r.progress.at("epoch") == 3);
        CHECK(r.weights.at("block5.conv1.weights").size == w.size);
        CHECK(cv::norm(r.weights.at("block5.conv1.weights").reshape(1, 1), w.reshape(1, 1), cv::NORM_INF) == 0);
        CHECK(cv::norm(r.optimizer.at("block5.conv1.weights/first").reshape(1, 1), cv::Mat(w * 2).reshape(1, 1),
                       cv::NORM_INF) == 0);
    }

    TEST_CASE("run files of another version or kind of file are refused") {
        test::TempDir dir;
        {
            H5::H5File f(dir / "v9.h5", H5F_ACC_TRUNC);
            H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
            f.createAttribute("format", t, H5::DataSpace(H5S_SCALAR)).write(t, std::string(kRunFormat));
            long long v = 9;
            f.createAttribute("version", H5::PredType::STD_I64LE, H5::DataSpace(H5S_SCALAR))
                .write(H5::PredType::NATIVE_LLONG, &v);
            f.createAttribute("cvtl_version", t, H5::DataSpace(H5S_SCALAR)).write(t, std::string("9.0"));
        }
        CHECK_THROWS_WITH_AS(load_run_state(dir / "v9.h5"), doctest::Contains("version 9"), Error);
        test::write_file(dir / "x.h5", "not hdf5");
        CHECK_THROWS_WITH_AS(load_run_state(dir / "x.h5"), doctest::Contains("not a cvtl run file"), Error);
        CHECK_THROWS_WITH_AS(load_run_state(dir / "none.h5"), doctest::Contains("does not exist"), Error);
        // A run file whose kind is neither model nor checkpoint: the error names the file and the kinds.
        save_run_state(dir / "odd.h5", RunState{});
        {
            H5::H5File f(dir / "odd.h5", H5F_ACC_RDWR);
            H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
            f.removeAttr("kind");
            f.createAttribute("kind", t, H5::DataSpace(H5S_SCALAR)).write(t, std::string("snapshot"));
        }
        const std::string odd =
            "unknown run file kind 'snapshot' in " + (dir / "odd.h5") + " (expected model or checkpoint)";
        CHECK_THROWS_WITH_AS(load_run_state(dir / "odd.h5"), odd.c_str(), Error);
    }

}  // TEST_SUITE

TEST_SUITE("unit") {
    // Debian's HDF5 is not thread-safe: training reads the cache on a prefetch thread while the main thread
    // writes checkpoints. While one thread uses an HDF5 object through its handle, no other thread can
    // reach HDF5 through cvtl: here the writer must wait until the reader's access ends.
    TEST_CASE("while one thread holds access to a cache file another thread's HDF5 work waits") {
        test::TempDir dir;
        test::SyntheticCache spec;
        spec.taps = {"pool5"};
        spec.shapes = {{8, 2, 2}};
        test::write_synthetic_cache(dir / "c.h5", spec);
        RunState s;
        s.kind = RunKind::checkpoint;
        s.weights["fc.weights"] = cv::Mat(std::vector<int>{4, 4}, CV_32F, cv::Scalar(1));
        const h5::File file(dir / "c.h5", H5F_ACC_RDONLY);
        std::atomic<bool> saved{false};
        std::thread writer;
        {
            const auto access = file.access();
            writer = std::thread([&] {
                save_run_state(dir / "r.h5", s);
                saved = true;
            });
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            CHECK_FALSE(saved);
            CHECK(access->getFileName() == std::string(dir / "c.h5"));
        }
        writer.join();
        CHECK(saved);
        CHECK(load_run_state(dir / "r.h5").kind == RunKind::checkpoint);
    }

}  // TEST_SUITE
