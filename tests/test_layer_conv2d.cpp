// Conv2d against the naive double-precision kernels: forward and every gradient.
// Tolerance: scaled_error <= 1e-4, i.e. max |got - ref| <= 1e-4 * max(1, max |ref|). float32 sums over
// I*k*k <= 576 products of values in [-1, 1] are off by about 1e-6 relative; the margin absorbs oneDNN's
// blocked accumulation order.
#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/conv2d.hpp"
#include "pipeline/engine/layers/tensor_shape.hpp"
#include "support/naive_kernels.hpp"

#include <doctest/doctest.h>

#include <memory>

using namespace cvtl;

namespace {

struct ConvCase {
    int n, in, out, h, w, kernel, stride, pad;
    bool relu;
};

// One training forward/backward of `conv` on fresh random data, checked against the naive kernels.
// Returns the forward's scaled error.
double check_against_naive(Conv2d& conv, const ConvCase& c, std::uint64_t seed, double tolerance = 1e-4) {
    const cv::Mat src = test::random_tensor({c.n, c.in, c.h, c.w}, seed);
    const cv::Mat& weights = conv.params()[0]->value;
    const cv::Mat& bias = conv.params()[1]->value;
    cv::Mat expected = test::conv2d_forward(src, weights, bias, c.stride, c.pad);
    if (c.relu) expected = test::relu(expected);

    cv::Mat dst, eval_dst;
    conv.forward(src, eval_dst, false);
    conv.forward(src, dst, true);
    CHECK(test::scaled_error(dst, expected) <= tolerance);
    CHECK(test::scaled_error(eval_dst, expected) <= tolerance);

    const cv::Mat diff_dst = test::random_tensor(mat_shape(dst), seed + 1);
    cv::Mat diff_src(4, src.size.p, CV_32F);
    test::fill_nan(diff_src);
    for (Param* p : conv.params()) test::fill_nan(p->grad);
    conv.backward(src, dst, diff_dst, diff_src, true);

    const cv::Mat masked = c.relu ? test::relu_backward(dst, diff_dst) : diff_dst;
    CHECK(test::scaled_error(diff_src, test::conv2d_backward_data(masked, weights, {c.n, c.in, c.h, c.w}, c.stride,
                                                                  c.pad)) <= tolerance);
    CHECK(test::scaled_error(conv.params()[0]->grad,
                             test::conv2d_backward_weights(src, masked, c.kernel, c.stride, c.pad)) <= tolerance);
    CHECK(test::scaled_error(conv.params()[1]->grad, test::conv2d_backward_bias(masked)) <= tolerance);
    return test::scaled_error(dst, expected);
}

std::unique_ptr<Conv2d> make_conv(const ConvCase& c, std::uint64_t seed) {
    auto conv = std::make_unique<Conv2d>(c.in, c.out, c.kernel, c.stride, c.pad, c.relu);
    conv->setup({c.in, c.h, c.w});
    conv->params()[0]->value = test::random_tensor({c.out, c.in, c.kernel, c.kernel}, seed);
    conv->params()[1]->value = test::random_tensor({c.out}, seed + 1);
    return conv;
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("conv2d matches the naive kernels forward and backward on odd shapes") {
        const ConvCase cases[] = {
            {1, 3, 5, 7, 6, 3, 1, 1, false},     // first-layer style: 3 input channels
            {3, 17, 20, 9, 11, 3, 2, 0, true},   // stride 2, no padding, channels not multiples of 16
            {3, 32, 48, 14, 14, 3, 1, 1, true},  // blocked layouts (VGG-like)
            {2, 20, 36, 8, 8, 1, 1, 0, false},   // 1x1
            {1, 16, 24, 10, 9, 5, 2, 2, true},   // 5x5, stride 2, pad 2, odd width
            {3, 64, 64, 7, 7, 3, 1, 1, false},
            {1, 256, 256, 14, 14, 3, 1, 1, true},  // oneDNN's Winograd backward-weights path
        };
        std::uint64_t seed = 100;
        for (const ConvCase& c : cases) {
            CAPTURE(c.n);
            CAPTURE(c.in);
            CAPTURE(c.out);
            CAPTURE(c.kernel);
            CAPTURE(c.stride);
            check_against_naive(*make_conv(c, seed), c, seed + 10);
            seed += 100;
        }
    }

    // bf16 operands carry 8 significant bits (relative rounding 2^-9): errors of about 1e-3 of the largest
    // value on these sums; the bound for bf16 is 1e-2. The lower bound shows bf16 really ran.
    TEST_CASE("conv2d in bf16 stays within 1e-2 of the naive kernels forward and backward") {
        if (!cpu_has_bf16()) {
            CHECK_THROWS_WITH_AS(Conv2d(2, 2, 3, 1, 1, false).set_precision(Precision::bf16),
                                 doctest::Contains("AVX512-BF16"), Error);
            MESSAGE("this CPU has no AVX512-BF16: only the refusal is checked");
            return;
        }
        const ConvCase cases[] = {
            {1, 3, 5, 7, 6, 3, 1, 1, false},
            {3, 17, 20, 9, 11, 3, 2, 0, true},
            {2, 64, 64, 14, 14, 3, 1, 1, true},
            {2, 256, 256, 7, 7, 3, 1, 1, true},
        };
        std::uint64_t seed = 300;
        for (const ConvCase& c : cases) {
            CAPTURE(c.in);
            CAPTURE(c.out);
            CAPTURE(c.stride);
            const std::unique_ptr<Conv2d> conv = make_conv(c, seed);
            conv->set_precision(Precision::bf16);
            CHECK(check_against_naive(*conv, c, seed + 10, 1e-2) > 1e-5);
            conv->set_precision(Precision::f32);  // and back: plans rebuilt in f32
            CHECK(check_against_naive(*conv, c, seed + 20) <= 1e-5);
            seed += 100;
        }
    }

    TEST_CASE("conv2d stays correct when the batch size changes between calls") {
        ConvCase c{3, 32, 16, 6, 5, 3, 1, 1, true};
        const std::unique_ptr<Conv2d> conv = make_conv(c, 7);
        for (const int n : {3, 1, 3, 2}) {
            CAPTURE(n);
            c.n = n;
            check_against_naive(*conv, c, 1000 + static_cast<std::uint64_t>(n));
        }
    }

    TEST_CASE("conv2d rejects a wrong input shape with expected and found") {
        Conv2d conv(64, 8, 3, 1, 1, true);
        CHECK_THROWS_WITH_AS(conv.setup({32, 8, 8}), "conv2d expects 64 input channels, found 32", Error);
        CHECK_THROWS_WITH_AS(conv.setup({64, 8}), "conv2d expects one sample's shape [C, H, W], found [64, 8]", Error);
        Conv2d big(4, 4, 5, 1, 0, false);
        CHECK_THROWS_AS(big.setup({4, 3, 3}), Error);
        CHECK_THROWS_WITH_AS(Conv2d(4, 4, 3, 0, 1, false), "conv2d expects stride >= 1, found 0", Error);

        conv.setup({64, 8, 8});
        cv::Mat dst;
        const cv::Mat wrong = test::random_tensor({2, 64, 8, 7}, 1);
        CHECK_THROWS_WITH_AS(conv.forward(wrong, dst, true),
                             "conv2d expects a continuous float32 tensor [N, 64, 8, 8], found [2, 64, 8, 7]", Error);
    }

    TEST_CASE("conv2d backward without a training forward of that batch is refused") {
        Conv2d conv(2, 2, 3, 1, 1, false);
        conv.setup({2, 4, 4});
        const cv::Mat src = test::random_tensor({2, 2, 4, 4}, 1);
        cv::Mat dst, diff_src;
        conv.forward(src, dst, false);
        CHECK_THROWS_AS(conv.backward(src, dst, dst, diff_src, true), Error);
    }

}  // TEST_SUITE
