// MaxPool2d and AvgPool2d against the naive kernels (PyTorch's definitions, ceil mode included).
// Tolerance: scaled_error <= 1e-5: a max is exact and a mean of at most 7x7 values loses ~1e-7.
#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/avg_pool2d.hpp"
#include "pipeline/engine/layers/max_pool2d.hpp"
#include "pipeline/engine/layers/tensor_shape.hpp"
#include "pipeline/engine/layers/window.hpp"
#include "support/naive_kernels.hpp"

#include <doctest/doctest.h>

#include <functional>

using namespace cvtl;

namespace {

struct PoolCase {
    int n, c, h, w, kernel, stride, pad;
    bool flag;  // ceil_mode for max pooling, count_include_pad for average pooling
};

// Forward in both modes and backward of `pool` on `src`, each checked against the expected tensors.
void check_pool(Pool2d& pool, const cv::Mat& src, const cv::Mat& expected,
                const std::function<cv::Mat(const cv::Mat& diff_dst)>& expected_diff_src, std::uint64_t seed) {
    cv::Mat dst, eval_dst;
    pool.forward(src, eval_dst, false);
    pool.forward(src, dst, true);
    REQUIRE(mat_shape(dst) == mat_shape(expected));
    CHECK(test::scaled_error(dst, expected) <= 1e-5);
    CHECK(test::scaled_error(eval_dst, expected) <= 1e-5);

    const cv::Mat diff_dst = test::random_tensor(mat_shape(dst), seed);
    cv::Mat diff_src(src.dims, src.size.p, CV_32F);
    test::fill_nan(diff_src);
    pool.backward(src, dst, diff_dst, diff_src, true);
    CHECK(test::scaled_error(diff_src, expected_diff_src(diff_dst)) <= 1e-5);
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("max pool matches the naive kernel in floor and ceil mode") {
        const PoolCase cases[] = {
            {1, 3, 8, 8, 2, 2, 0, false},   // VGG's pool
            {3, 5, 7, 9, 2, 2, 0, false},   // odd sizes drop the last row/column
            {3, 5, 7, 9, 2, 2, 0, true},    // ... or keep it in ceil mode
            {2, 4, 9, 10, 3, 2, 1, false},  // overlapping windows with padding
            {2, 4, 9, 10, 3, 2, 1, true},
            {1, 17, 5, 5, 2, 2, 1, true},  // ceil mode where PyTorch drops a window starting in the padding
        };
        std::uint64_t seed = 1;
        for (const PoolCase& c : cases) {
            CAPTURE(c.h);
            CAPTURE(c.w);
            CAPTURE(c.kernel);
            CAPTURE(c.stride);
            CAPTURE(c.pad);
            CAPTURE(c.flag);
            MaxPool2d pool(c.kernel, c.stride, c.pad, c.flag);
            const std::vector<int> out = pool.setup({c.c, c.h, c.w});
            CHECK(out[1] == test::pool_output_size(c.h, c.kernel, c.stride, c.pad, c.flag));
            const cv::Mat src = test::distinct_tensor({c.n, c.c, c.h, c.w}, seed, 0.01f);
            check_pool(
                pool, src, test::max_pool_forward(src, c.kernel, c.stride, c.pad, c.flag),
                [&](const cv::Mat& diff_dst) {
                    return test::max_pool_backward(src, diff_dst, c.kernel, c.stride, c.pad, c.flag);
                },
                seed + 1);
            seed += 2;
        }
    }

    TEST_CASE("avg pool matches the naive kernel with and without padding in the divisor") {
        const PoolCase cases[] = {
            {3, 5, 7, 9, 3, 2, 1, true},  {3, 5, 7, 9, 3, 2, 1, false},  {1, 6, 8, 8, 2, 2, 0, false},
            {2, 3, 6, 5, 3, 1, 1, false}, {2, 33, 7, 7, 7, 1, 0, false},  // global average pool: kernel == H == W
        };
        std::uint64_t seed = 50;
        for (const PoolCase& c : cases) {
            CAPTURE(c.kernel);
            CAPTURE(c.stride);
            CAPTURE(c.pad);
            CAPTURE(c.flag);
            AvgPool2d pool(c.kernel, c.stride, c.pad, c.flag);
            pool.setup({c.c, c.h, c.w});
            const cv::Mat src = test::random_tensor({c.n, c.c, c.h, c.w}, seed);
            check_pool(
                pool, src, test::avg_pool_forward(src, c.kernel, c.stride, c.pad, c.flag),
                [&](const cv::Mat& diff_dst) {
                    return test::avg_pool_backward(diff_dst, {c.n, c.c, c.h, c.w}, c.kernel, c.stride, c.pad, c.flag);
                },
                seed + 1);
            seed += 2;
        }
    }

    TEST_CASE("pooling stays correct when the batch size changes between calls") {
        MaxPool2d pool(2, 2, 0);
        pool.setup({6, 6, 6});
        for (const int n : {3, 1, 3}) {
            CAPTURE(n);
            const cv::Mat src = test::distinct_tensor({n, 6, 6, 6}, 70 + static_cast<std::uint64_t>(n), 0.01f);
            check_pool(
                pool, src, test::max_pool_forward(src, 2, 2, 0, false),
                [&](const cv::Mat& diff_dst) { return test::max_pool_backward(src, diff_dst, 2, 2, 0, false); }, 80);
        }
    }

    TEST_CASE("pooling rejects an output smaller than 1x1 and padding over half the kernel") {
        MaxPool2d pool(3, 2, 0);
        CHECK_THROWS_WITH_AS(
            pool.setup({8, 2, 2}),
            "max_pool expects an output of at least 1x1, found input [8, 2, 2] smaller than kernel 3 with pad 0",
            Error);
        CHECK(pool.setup({8, 3, 3}) == std::vector<int>{8, 1, 1});
        CHECK_THROWS_WITH_AS(AvgPool2d(3, 1, 2, true), "avg_pool expects pad <= kernel/2 (1), found 2", Error);
    }

    TEST_CASE("one window formula: floor and ceil sizes as PyTorch computes them - odd sizes included") {
        // Values from torch.nn.functional.max_pool2d / conv2d output shapes (ceil_mode as given).
        CHECK(window_output_size(7, 2, 2, 0) == 3);
        CHECK(window_output_size(7, 2, 2, 0, true) == 4);
        CHECK(window_output_size(6, 3, 2, 1, true) == 4);
        CHECK(window_output_size(5, 2, 2, 1, true) == 3);  // a 4th window would start in the right padding
        CHECK(window_output_size(227, 3, 1, 1) == 227);    // VGG's convolutions keep odd sizes
        CHECK(window_output_size(227, 2, 2, 0) == 113);
        CHECK(window_output_size(227, 2, 2, 0, true) == 114);  // Caffe's default
        CHECK(window_output_size(57, 2, 2, 0) == 28);
        CHECK(window_output_size(57, 2, 2, 0, true) == 29);
        CHECK(window_output_size(1, 3, 1, 0) <= 0);  // no window fits
        // oneDNN's arithmetic, floor((in + pad + right - kernel) / stride) + 1, must give the same size.
        for (int in = 1; in <= 40; ++in)
            for (int k = 1; k <= 4; ++k)
                for (int s = 1; s <= 3; ++s)
                    for (int p = 0; p <= k / 2; ++p)
                        for (bool ceil : {false, true}) {
                            const int out = window_output_size(in, k, s, p, ceil);
                            if (out <= 0) continue;
                            const int right = window_right_padding(in, out, k, s, p);
                            CAPTURE(in);
                            CAPTURE(k);
                            CAPTURE(s);
                            CAPTURE(p);
                            CAPTURE(ceil);
                            CHECK(right >= p);
                            CHECK((in + p + right - k) / s + 1 == out);
                        }
    }

}  // TEST_SUITE
