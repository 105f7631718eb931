// Dropout: train vs eval, keep rate and scaling, and the reproducible mask stream.
#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/dropout.hpp"
#include "pipeline/engine/layers/onednn_context.hpp"
#include "support/naive_kernels.hpp"

#include <doctest/doctest.h>

#include <omp.h>

#include <cmath>

using namespace cvtl;

namespace {

cv::Mat train_forward(Dropout& dropout, const cv::Mat& src) {
    cv::Mat dst;
    dropout.forward(src, dst, true);
    return dst;
}

// 1 where an element was kept.
cv::Mat kept(const cv::Mat& dst) { return dst != 0.0f; }

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("dropout keeps about 1 - p of a large tensor and scales the kept by 1/(1 - p)") {
        const float p = 0.3f;
        Dropout dropout(p, 1);
        dropout.setup({64, 32, 32});
        const cv::Mat src = cv::Mat(4, std::vector<int>{4, 64, 32, 32}.data(), CV_32F, cv::Scalar(2.0f));
        const cv::Mat dst = train_forward(dropout, src);
        const double rate =
            static_cast<double>(cv::countNonZero(kept(dst).reshape(1, 1))) / static_cast<double>(dst.total());
        // 262144 draws: the standard deviation of the rate is 0.0009, so 0.005 is over 5 sigma.
        CHECK(std::abs(rate - (1 - p)) < 0.005);
        double low, high;
        cv::minMaxIdx(dst, &low, &high);
        CHECK(low == 0.0);
        CHECK(high == doctest::Approx(2.0 / (1 - p)).epsilon(1e-6));
        CHECK(dropout.calls() == 1);
    }

    TEST_CASE("dropout in eval is the identity and draws nothing") {
        Dropout dropout(0.5f, 1);
        dropout.setup({10});
        const cv::Mat src = test::random_tensor({3, 10}, 2);
        cv::Mat dst;
        dropout.forward(src, dst, false);
        CHECK(dst.data == src.data);
        CHECK(dropout.calls() == 0);
    }

    TEST_CASE("dropout masks repeat for the same seed and calls and change otherwise") {
        const cv::Mat src = test::random_tensor({2, 5000}, 3, 1.0f, 2.0f);
        Dropout a(0.5f, 42), b(0.5f, 42), other_seed(0.5f, 43);
        for (Dropout* d : {&a, &b, &other_seed}) d->setup({5000});

        const cv::Mat first = train_forward(a, src);
        CHECK(cv::countNonZero(kept(first) != kept(train_forward(b, src))) == 0);
        CHECK(cv::countNonZero(kept(first) != kept(train_forward(other_seed, src))) > 1000);
        const cv::Mat second = train_forward(a, src);
        CHECK(cv::countNonZero(kept(first) != kept(second)) > 1000);

        // reseed restarts the stream; set_calls resumes it where a checkpoint left it.
        a.reseed(42);
        CHECK(cv::countNonZero(kept(first) != kept(train_forward(a, src))) == 0);
        b.set_calls(1);
        CHECK(cv::countNonZero(kept(second) != kept(train_forward(b, src))) == 0);
        CHECK(b.calls() == 2);
    }

    TEST_CASE("dropout masks do not depend on the thread count") {
        const int threads = omp_get_max_threads();
        Dropout dropout(0.5f, 5);
        dropout.setup({100000});
        const cv::Mat src = test::random_tensor({2, 100000}, 6, 1.0f, 2.0f);
        set_engine_threads(1);
        const cv::Mat one = train_forward(dropout, src);
        dropout.reseed(5);
        set_engine_threads(2);
        const cv::Mat two = train_forward(dropout, src);
        set_engine_threads(threads);
        CHECK(cv::countNonZero(one != two) == 0);
        CHECK_THROWS_WITH_AS(set_engine_threads(0), "set_engine_threads expects at least 1 thread, found 0", Error);
    }

    TEST_CASE("dropout backward applies the forward's mask and scale") {
        Dropout dropout(0.25f, 9);
        dropout.setup({3, 4, 5});
        const cv::Mat src = test::random_tensor({2, 3, 4, 5}, 4, 1.0f, 2.0f);
        const cv::Mat dst = train_forward(dropout, src);
        const cv::Mat diff_dst = test::random_tensor({2, 3, 4, 5}, 5);
        cv::Mat diff_src(4, src.size.p, CV_32F);
        test::fill_nan(diff_src);
        dropout.backward(src, dst, diff_dst, diff_src, true);
        cv::Mat expected;
        cv::divide(dst, src, expected);  // the scale where kept, 0 elsewhere
        CHECK(test::scaled_error(diff_src, expected.mul(diff_dst)) <= 1e-6);
    }

    TEST_CASE("dropout rejects p outside the half-open unit interval") {
        CHECK_THROWS_AS(Dropout(1.0f, 1), Error);
        CHECK_THROWS_AS(Dropout(-0.1f, 1), Error);
        CHECK_NOTHROW(Dropout(0.0f, 1));
    }

}  // TEST_SUITE
