// The parameter-free reshaping and elementwise layers: ReLU and Flatten.
#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/flatten.hpp"
#include "pipeline/engine/layers/relu.hpp"
#include "pipeline/engine/layers/tensor_shape.hpp"
#include "support/naive_kernels.hpp"

#include <doctest/doctest.h>

using namespace cvtl;

TEST_SUITE("unit") {
    TEST_CASE("relu matches the naive kernel forward and backward") {
        ReLU relu;
        CHECK(relu.setup({5, 7, 3}) == std::vector<int>{5, 7, 3});
        for (const int n : {3, 1}) {
            const cv::Mat src = test::random_tensor({n, 5, 7, 3}, 1 + static_cast<std::uint64_t>(n));
            cv::Mat dst;
            relu.forward(src, dst, true);
            CHECK(test::scaled_error(dst, test::relu(src)) == 0.0);
            const cv::Mat diff_dst = test::random_tensor({n, 5, 7, 3}, 10);
            cv::Mat diff_src(4, src.size.p, CV_32F);
            test::fill_nan(diff_src);
            relu.backward(src, dst, diff_dst, diff_src, true);
            CHECK(test::scaled_error(diff_src, test::relu_backward(dst, diff_dst)) == 0.0);
        }
    }

    TEST_CASE("flatten reshapes without copying in both directions") {
        Flatten flatten;
        CHECK(flatten.setup({4, 3, 2}) == std::vector<int>{24});
        const cv::Mat src = test::random_tensor({3, 4, 3, 2}, 1);
        cv::Mat dst;
        flatten.forward(src, dst, true);
        CHECK(mat_shape(dst) == std::vector<int>{3, 24});
        CHECK(dst.data == src.data);

        const cv::Mat diff_dst = test::random_tensor({3, 24}, 2);
        cv::Mat diff_src;
        flatten.backward(src, dst, diff_dst, diff_src, true);
        CHECK(mat_shape(diff_src) == std::vector<int>{3, 4, 3, 2});
        CHECK(diff_src.data == diff_dst.data);
    }

    TEST_CASE("a layer writing into a view of its own input gets a fresh buffer instead") {
        // Flatten hands out views; reusing such a Mat as a later output must not overwrite the viewed input.
        Flatten flatten;
        flatten.setup({2, 3, 3});
        ReLU relu;
        relu.setup({18});
        const cv::Mat src = test::random_tensor({2, 2, 3, 3}, 3);
        const cv::Mat before = src.clone();
        cv::Mat flat, out;
        flatten.forward(src, flat, true);
        out = flat;  // e.g. a trainer reusing an activation buffer
        relu.forward(flat, out, true);
        CHECK(test::scaled_error(src, before) == 0.0);
        CHECK(out.data != src.data);
    }

    TEST_CASE("parameter-free layers reject inputs that differ from their setup shape") {
        ReLU relu;
        cv::Mat dst;
        CHECK_THROWS_WITH_AS(relu.forward(test::random_tensor({1, 4}, 1), dst, true),
                             "relu expects setup() before use, found no input shape", Error);
        relu.setup({4});
        CHECK_THROWS_WITH_AS(relu.forward(test::random_tensor({2, 5}, 1), dst, true),
                             "relu expects a continuous float32 tensor [N, 4], found [2, 5]", Error);
    }

}  // TEST_SUITE
