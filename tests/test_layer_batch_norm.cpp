// BatchNorm2d against the naive kernels and PyTorch's running-statistics formula.
// Tolerance: scaled_error <= 1e-4; outputs are normalised to about unit scale and the statistics of at most
// 3*6*5 = 90 values per channel are summed in float32 by oneDNN.
#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/batch_norm2d.hpp"
#include "pipeline/engine/layers/tensor_shape.hpp"
#include "support/naive_kernels.hpp"

#include <doctest/doctest.h>

using namespace cvtl;

TEST_SUITE("unit") {
    TEST_CASE("batch norm in training matches the naive kernels forward and backward") {
        const std::vector<int> shapes[] = {{3, 5, 6, 5}, {1, 17, 4, 3}, {2, 32, 7, 7}};
        std::uint64_t seed = 1;
        for (const std::vector<int>& shape : shapes) {
            CAPTURE(shape[1]);
            BatchNorm2d norm(shape[1]);
            norm.setup({shape[1], shape[2], shape[3]});
            norm.params()[0]->value = test::random_tensor({shape[1]}, seed, 0.5f, 2.0f);
            norm.params()[1]->value = test::random_tensor({shape[1]}, seed + 1);
            // Offset and scaled inputs: the statistics must not assume zero mean or unit variance.
            const cv::Mat src = test::random_tensor(shape, seed + 2, 1.0f, 4.0f);
            const test::BatchNormForward expected =
                test::batch_norm_train_forward(src, norm.params()[0]->value, norm.params()[1]->value, 1e-5);

            cv::Mat dst;
            norm.forward(src, dst, true);
            CHECK(test::scaled_error(dst, expected.dst) <= 1e-4);

            const cv::Mat diff_dst = test::random_tensor(shape, seed + 3);
            cv::Mat diff_src(4, shape.data(), CV_32F);
            test::fill_nan(diff_src);
            for (Param* p : norm.params()) test::fill_nan(p->grad);
            norm.backward(src, dst, diff_dst, diff_src, true);
            const test::BatchNormBackward grads =
                test::batch_norm_train_backward(src, norm.params()[0]->value, diff_dst, 1e-5);
            CHECK(test::scaled_error(diff_src, grads.diff_src) <= 1e-4);
            CHECK(test::scaled_error(norm.params()[0]->grad, grads.diff_gamma) <= 1e-4);
            CHECK(test::scaled_error(norm.params()[1]->grad, grads.diff_beta) <= 1e-4);
            seed += 10;
        }
    }

    TEST_CASE("batch norm running statistics after one step follow PyTorch's formula") {
        const float momentum = 0.25f;
        BatchNorm2d norm(4, 1e-5f, momentum);
        norm.setup({4, 3, 3});
        norm.running_mean() = test::random_tensor({4}, 20);
        norm.running_var() = test::random_tensor({4}, 21, 0.5f, 1.5f);
        const cv::Mat mean_before = norm.running_mean().clone(), var_before = norm.running_var().clone();
        const cv::Mat src = test::random_tensor({2, 4, 3, 3}, 22, -1.0f, 3.0f);
        cv::Mat dst;
        norm.forward(src, dst, true);

        const test::BatchNormForward batch =
            test::batch_norm_train_forward(src, cv::Mat::ones(4, 1, CV_32F), cv::Mat::zeros(4, 1, CV_32F), 1e-5);
        const double m = 2 * 3 * 3;
        for (int c = 0; c < 4; ++c) {
            CAPTURE(c);
            const double mean = (1 - momentum) * mean_before.at<float>(c) + momentum * batch.mean.at<double>(c);
            // running_var takes the unbiased batch variance.
            const double var =
                (1 - momentum) * var_before.at<float>(c) + momentum * batch.var.at<double>(c) * m / (m - 1);
            CHECK(norm.running_mean().at<float>(c) == doctest::Approx(mean).epsilon(1e-5));
            CHECK(norm.running_var().at<float>(c) == doctest::Approx(var).epsilon(1e-5));
        }
    }

    TEST_CASE("batch norm in eval uses the running statistics and leaves them unchanged") {
        BatchNorm2d norm(5);
        norm.setup({5, 4, 3});
        norm.params()[0]->value = test::random_tensor({5}, 30, 0.5f, 2.0f);
        norm.params()[1]->value = test::random_tensor({5}, 31);
        norm.running_mean() = test::random_tensor({5}, 32);
        norm.running_var() = test::random_tensor({5}, 33, 0.5f, 2.0f);
        const cv::Mat mean = norm.running_mean().clone(), var = norm.running_var().clone();

        for (const int n : {3, 1}) {
            const cv::Mat src = test::random_tensor({n, 5, 4, 3}, 34 + static_cast<std::uint64_t>(n));
            cv::Mat dst;
            norm.forward(src, dst, false);
            CHECK(test::scaled_error(dst, test::batch_norm_eval_forward(src, norm.params()[0]->value,
                                                                        norm.params()[1]->value, mean, var, 1e-5)) <=
                  1e-5);
        }
        CHECK(test::scaled_error(norm.running_mean(), mean) == 0.0);
        CHECK(test::scaled_error(norm.running_var(), var) == 0.0);

        // Training on the same data normalises with the batch instead, so the outputs differ.
        const cv::Mat src = test::random_tensor({3, 5, 4, 3}, 37, 2.0f, 3.0f);
        cv::Mat train_dst, eval_dst;
        norm.forward(src, eval_dst, false);
        norm.forward(src, train_dst, true);
        CHECK(test::scaled_error(train_dst, eval_dst) > 0.1);
    }

    TEST_CASE("batch norm refuses training on one value per channel and a wrong channel count") {
        BatchNorm2d norm(3);
        CHECK_THROWS_WITH_AS(norm.setup({4, 2, 2}), "batch_norm expects 3 channels, found 4", Error);
        norm.setup({3, 1, 1});
        const cv::Mat src = test::random_tensor({1, 3, 1, 1}, 1);
        cv::Mat dst;
        CHECK_THROWS_AS(norm.forward(src, dst, true), Error);
        CHECK_NOTHROW(norm.forward(src, dst, false));
        CHECK(mat_shape(dst) == std::vector<int>{1, 3, 1, 1});
    }

}  // TEST_SUITE
