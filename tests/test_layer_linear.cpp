// Linear against the naive double-precision kernels: forward and every gradient.
// Tolerance: scaled_error <= 1e-4 (max |got - ref| <= 1e-4 * max(1, max |ref|)); sums over D <= 300 products.
#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/linear.hpp"
#include "pipeline/engine/layers/tensor_shape.hpp"
#include "support/naive_kernels.hpp"

#include <doctest/doctest.h>

#include <memory>

using namespace cvtl;

namespace {

// Returns the forward's scaled error.
double check_against_naive(Linear& linear, const std::vector<int>& src_shape, bool relu, std::uint64_t seed,
                           double tolerance = 1e-4) {
    const cv::Mat src = test::random_tensor(src_shape, seed);
    const cv::Mat& weights = linear.params()[0]->value;
    const cv::Mat& bias = linear.params()[1]->value;
    cv::Mat expected = test::linear_forward(src, weights, bias);
    if (relu) expected = test::relu(expected);

    cv::Mat dst, eval_dst;
    linear.forward(src, eval_dst, false);
    linear.forward(src, dst, true);
    CHECK(test::scaled_error(dst, expected) <= tolerance);
    CHECK(test::scaled_error(eval_dst, expected) <= tolerance);

    const cv::Mat diff_dst = test::random_tensor({dst.rows, dst.cols}, seed + 1);
    cv::Mat diff_src(src.dims, src.size.p, CV_32F);
    test::fill_nan(diff_src);
    for (Param* p : linear.params()) test::fill_nan(p->grad);
    linear.backward(src, dst, diff_dst, diff_src, true);

    CHECK(mat_shape(diff_src) == src_shape);
    const cv::Mat masked = relu ? test::relu_backward(dst, diff_dst) : diff_dst;
    CHECK(test::scaled_error(diff_src, test::linear_backward_data(masked, weights)) <= tolerance);
    CHECK(test::scaled_error(linear.params()[0]->grad, test::linear_backward_weights(src, masked)) <= tolerance);
    CHECK(test::scaled_error(linear.params()[1]->grad, test::linear_backward_bias(masked)) <= tolerance);
    return test::scaled_error(dst, expected);
}

std::unique_ptr<Linear> make_linear(int in, int out, bool relu, const std::vector<int>& sample, std::uint64_t seed) {
    auto linear = std::make_unique<Linear>(in, out, relu);
    linear->setup(sample);
    linear->params()[0]->value = test::random_tensor({out, in}, seed, -0.2f, 0.2f);
    linear->params()[1]->value = test::random_tensor({out}, seed + 1);
    return linear;
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("linear matches the naive kernels on flat and four-dimensional inputs") {
        for (const bool relu : {false, true}) {
            CAPTURE(relu);
            const std::unique_ptr<Linear> flat = make_linear(37, 10, relu, {37}, 1);
            check_against_naive(*flat, {3, 37}, relu, 2);
            check_against_naive(*flat, {1, 37}, relu, 3);
            check_against_naive(*make_linear(300, 17, relu, {12, 5, 5}, 4), {3, 12, 5, 5}, relu, 5);
        }
    }

    TEST_CASE("linear stays correct when the batch size changes between calls") {
        const std::unique_ptr<Linear> linear = make_linear(48, 20, true, {48}, 6);
        for (const int n : {4, 1, 4, 7}) {
            CAPTURE(n);
            check_against_naive(*linear, {n, 48}, true, 10 + static_cast<std::uint64_t>(n));
        }
    }

    // bf16 operands (8 significant bits): errors near 1e-3 of the largest value; the bound is 1e-2.
    // The lower bound shows bf16 really ran.
    TEST_CASE("linear in bf16 stays within 1e-2 of the naive kernels forward and backward") {
        if (!cpu_has_bf16()) {
            CHECK_THROWS_WITH_AS(Linear(4, 2, false).set_precision(Precision::bf16), doctest::Contains("AVX512-BF16"),
                                 Error);
            MESSAGE("this CPU has no AVX512-BF16: only the refusal is checked");
            return;
        }
        for (const bool relu : {false, true}) {
            CAPTURE(relu);
            const std::unique_ptr<Linear> linear = make_linear(300, 64, relu, {12, 5, 5}, 40);
            linear->set_precision(Precision::bf16);
            CHECK(check_against_naive(*linear, {5, 12, 5, 5}, relu, 41, 1e-2) > 1e-5);
            CHECK(check_against_naive(*linear, {1, 12, 5, 5}, relu, 42, 1e-2) > 1e-5);
            linear->set_precision(Precision::f32);
            CHECK(check_against_naive(*linear, {5, 12, 5, 5}, relu, 43) <= 1e-5);
        }
    }

    TEST_CASE("linear rejects an input whose flattened size differs from in_features") {
        Linear linear(25088, 10, false);
        CHECK_THROWS_WITH_AS(linear.setup({256, 7, 7}),
                             "linear expects 25088 input features, found 12544 in [256, 7, 7]", Error);
        CHECK(linear.setup({512, 7, 7}) == std::vector<int>{10});
        CHECK(linear.params()[0]->decay_mult == 1.0f);
        CHECK(linear.params()[1]->decay_mult == 0.0f);
    }

}  // TEST_SUITE
