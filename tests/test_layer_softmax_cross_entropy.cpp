// softmax_cross_entropy against the naive (long double, unshifted) reference, and its numeric stability.
#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/softmax_cross_entropy.hpp"
#include "support/naive_kernels.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace cvtl;

TEST_SUITE("unit") {
    TEST_CASE("softmax cross-entropy matches the naive reference") {
        const cv::Mat logits = test::random_tensor({4, 7}, 1, -5.0f, 5.0f);
        const std::vector<int> labels{0, 6, 3, 3};
        cv::Mat diff, probs, expected_diff;
        const double loss = softmax_cross_entropy(logits, labels, diff, &probs);
        CHECK(loss == doctest::Approx(test::softmax_cross_entropy(logits, labels, expected_diff)).epsilon(1e-12));
        CHECK(test::scaled_error(diff, expected_diff) <= 1e-7);
        cv::Mat row_sums;
        cv::reduce(probs, row_sums, 1, cv::REDUCE_SUM, CV_64F);
        for (int i = 0; i < 4; ++i) CHECK(row_sums.at<double>(i) == doctest::Approx(1.0).epsilon(1e-6));
    }

    TEST_CASE("softmax cross-entropy stays finite for huge logits") {
        // exp(1e4) overflows even in double: only the log-sum-exp shift keeps this finite.
        cv::Mat logits = (cv::Mat_<float>(2, 3) << 1e4f, 0.0f, -1e4f, -1e4f, 1e4f - 2.0f, 1e4f);
        cv::Mat diff;
        const double loss = softmax_cross_entropy(logits, {0, 1}, diff);
        // Sample 0 is certain and right (loss 0); sample 1 is 2 below the max: loss log(1 + e^2).
        CHECK(loss == doctest::Approx(std::log(1.0 + std::exp(2.0)) / 2).epsilon(1e-6));
        CHECK(test::all_finite(diff));
    }

    TEST_CASE("softmax cross-entropy rejects labels outside the classes") {
        const cv::Mat logits = test::random_tensor({2, 3}, 2);
        cv::Mat diff;
        CHECK_THROWS_WITH_AS(softmax_cross_entropy(logits, {0, 3}, diff),
                             "softmax_cross_entropy expects labels in [0, 3), found 3 for sample 1", Error);
        CHECK_THROWS_AS(softmax_cross_entropy(logits, {-1, 0}, diff), Error);
        CHECK_THROWS_AS(softmax_cross_entropy(logits, {0}, diff), Error);
    }

}  // TEST_SUITE
