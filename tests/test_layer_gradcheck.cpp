// Finite-difference gradient checks of every layer's backward, Caffe-style.
//
// Objective L = sum(dst * R) for a fixed random R, so backward(diff_dst = R) must give dL/dsrc and dL/dparam.
// Each input and parameter element x is moved to x +- step (in float32, so the step actually taken is used)
// and the optimized layer's forward recomputes L in double. A point passes when
// |analytic - numeric| / max(1, |analytic|, |numeric|) <= tolerance (Caffe's relative error with a floor of 1).
// Tolerance 1e-3, ten times tighter than Caffe's usual 1e-2: with step 1e-2 the float32 rounding of L is
// about 1e-7 * |L| per pass, the layers are piecewise linear (central differences exact away from kinks)
// except batch norm, whose curvature error at this step is small; the worst errors measured were 2e-5
// (batch norm) and 1.4e-5 (conv2d), so the margin is 50x while a wrong term gives errors near 1.
// Kinks are avoided rather than tolerated: a point is skipped when the perturbation flips the sign of any
// pre-activation, and max pooling gets inputs spaced 0.05 apart, more than the 2 * step a move can close.
#include "pipeline/engine/layer_kind.hpp"
#include "pipeline/engine/layers/avg_pool2d.hpp"
#include "pipeline/engine/layers/batch_norm2d.hpp"
#include "pipeline/engine/layers/clip.hpp"
#include "pipeline/engine/layers/conv2d.hpp"
#include "pipeline/engine/layers/dropout.hpp"
#include "pipeline/engine/layers/flatten.hpp"
#include "pipeline/engine/layers/linear.hpp"
#include "pipeline/engine/layers/max_pool2d.hpp"
#include "pipeline/engine/layers/onednn_context.hpp"
#include "pipeline/engine/layers/relu.hpp"
#include "pipeline/engine/layers/softmax_cross_entropy.hpp"
#include "pipeline/engine/layers/tensor_shape.hpp"
#include "support/naive_kernels.hpp"

#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <functional>
#include <string>
#include <tuple>

using namespace cvtl;

namespace {

struct GradCheck {
    double step = 1e-2;
    double tolerance = 1e-3;
    std::function<void()> before_forward;                      // e.g. reseed dropout so the mask stays fixed
    std::function<cv::Mat(const cv::Mat& src)> preactivation;  // the values whose sign must not flip
};

cv::Mat run_forward(Layer& layer, const cv::Mat& src, const GradCheck& check) {
    if (check.before_forward) check.before_forward();
    cv::Mat dst;
    layer.forward(src, dst, true);
    return dst;
}

double objective(const cv::Mat& dst, const cv::Mat& r) {
    double sum = 0.0;
    for (size_t i = 0; i < dst.total(); ++i) sum += static_cast<double>(dst.ptr<float>()[i]) * r.ptr<float>()[i];
    return sum;
}

bool sign_flips(const cv::Mat& a, const cv::Mat& b) {
    for (size_t i = 0; i < a.total(); ++i)
        if (a.ptr<double>()[i] * b.ptr<double>()[i] <= 0.0) return true;
    return false;
}

struct Worst {
    double error = 0.0;
    std::string where;
    int checked = 0, skipped = 0;
};

// Compares analytic[i] with the central difference of L in element i of `x`, for every element.
void probe_all(Layer& layer, cv::Mat& src, cv::Mat& x, const cv::Mat& analytic, const cv::Mat& r,
               const GradCheck& check, const std::string& name, Worst& worst) {
    float* values = x.ptr<float>();
    for (size_t i = 0; i < x.total(); ++i) {
        const float saved = values[i];
        const float up = saved + static_cast<float>(check.step), down = saved - static_cast<float>(check.step);
        values[i] = up;
        const double plus = objective(run_forward(layer, src, check), r);
        const cv::Mat z_plus = check.preactivation ? check.preactivation(src) : cv::Mat();
        values[i] = down;
        const double minus = objective(run_forward(layer, src, check), r);
        const cv::Mat z_minus = check.preactivation ? check.preactivation(src) : cv::Mat();
        values[i] = saved;
        if (check.preactivation && sign_flips(z_plus, z_minus)) {
            ++worst.skipped;
            continue;
        }
        const double numeric = (plus - minus) / (static_cast<double>(up) - static_cast<double>(down));
        const double a = analytic.ptr<float>()[i];
        const double error = std::abs(a - numeric) / std::max({1.0, std::abs(a), std::abs(numeric)});
        ++worst.checked;
        if (error > worst.error) {
            worst.error = error;
            worst.where = name + "[" + std::to_string(i) + "] analytic " + std::to_string(a) + " numeric " +
                          std::to_string(numeric);
        }
    }
}

// One OpenMP thread for the thousands of tiny forwards a check runs: with two, each primitive ends in a
// barrier that costs a scheduler slice whenever the cores are shared (ctest -j, a concurrent build), which
// made a 0.4 s run take 20 s. The parity tests cover the threaded kernels.
class SingleThread {
public:
    SingleThread() : threads_(omp_get_max_threads()) { set_engine_threads(1); }
    ~SingleThread() { set_engine_threads(threads_); }
    SingleThread(const SingleThread&) = delete;
    SingleThread& operator=(const SingleThread&) = delete;

private:
    int threads_;
};

void check_gradients(Layer& layer, cv::Mat src, const GradCheck& check = {}) {
    const SingleThread single_thread;
    const cv::Mat dst = run_forward(layer, src, check);
    const cv::Mat r = test::random_tensor(mat_shape(dst), 4242);

    // Garbage first: backward must assign every element.
    cv::Mat diff_src(src.dims, src.size.p, CV_32F);
    test::fill_nan(diff_src);
    for (Param* p : layer.params()) test::fill_nan(p->grad);
    layer.backward(src, dst, r, diff_src, true);
    REQUIRE(test::all_finite(diff_src));
    std::vector<cv::Mat> grads;
    for (Param* p : layer.params()) {
        REQUIRE(test::all_finite(p->grad));
        grads.push_back(p->grad.clone());
    }

    // need_diff_src = false still assigns every parameter gradient, identically.
    for (Param* p : layer.params()) test::fill_nan(p->grad);
    cv::Mat untouched;
    layer.backward(src, dst, r, untouched, false);
    for (size_t k = 0; k < grads.size(); ++k) CHECK(test::scaled_error(layer.params()[k]->grad, grads[k]) == 0.0);

    Worst worst;
    probe_all(layer, src, src, diff_src, r, check, "diff_src", worst);
    for (size_t k = 0; k < grads.size(); ++k) {
        Param& p = *layer.params()[k];
        probe_all(layer, src, p.value, grads[k], r, check, p.name, worst);
    }
    CAPTURE(worst.where);
    CHECK(worst.error <= check.tolerance);
    // Too many kinks would make the check vacuous.
    CHECK(worst.skipped * 5 <= worst.checked);
}

}  // namespace

TEST_SUITE("gradcheck") {
    TEST_CASE("conv2d gradients match finite differences with stride and padding") {
        for (const bool relu : {false, true}) {
            CAPTURE(relu);
            Conv2d conv(3, 4, 3, 2, 1, relu);
            conv.setup({3, 5, 6});
            conv.params()[0]->value = test::random_tensor({4, 3, 3, 3}, 1, -0.5f, 0.5f);
            conv.params()[1]->value = test::random_tensor({4}, 2, -0.5f, 0.5f);
            GradCheck check;
            if (relu)
                check.preactivation = [&](const cv::Mat& src) {
                    return test::conv2d_forward(src, conv.params()[0]->value, conv.params()[1]->value, 2, 1);
                };
            check_gradients(conv, test::random_tensor({2, 3, 5, 6}, 3), check);
        }
    }

    TEST_CASE("grouped and depthwise conv2d gradients match finite differences") {
        // {in, out, groups}: two groups of 2 -> 3 channels, and MobileNet's depthwise (a group per channel).
        for (const auto& shape : {std::tuple{4, 6, 2}, std::tuple{3, 3, 3}}) {
            const int in = std::get<0>(shape), out = std::get<1>(shape), groups = std::get<2>(shape);
            CAPTURE(groups);  // (clang cannot capture a structured binding)
            Conv2d conv(in, out, 3, 2, 1, false, groups);
            conv.setup({in, 5, 6});
            conv.params()[0]->value = test::random_tensor({out, in / groups, 3, 3}, 21, -0.5f, 0.5f);
            conv.params()[1]->value = test::random_tensor({out}, 22, -0.5f, 0.5f);
            check_gradients(conv, test::random_tensor({2, in, 5, 6}, 23));
        }
    }

    TEST_CASE("clip (ReLU6) gradient matches finite differences away from its bounds") {
        Clip clip(0.0f, 6.0f);
        clip.setup({3, 4, 4});
        GradCheck check;
        // (x - 0) * (x - 6) changes sign exactly when x crosses a bound.
        check.preactivation = [](const cv::Mat& src) {
            cv::Mat z;
            src.convertTo(z, CV_64F);
            return z.mul(z - 6.0);
        };
        check_gradients(clip, test::random_tensor({2, 3, 4, 4}, 24, -2.0f, 8.0f), check);
    }

    TEST_CASE("relu gradient matches finite differences away from zero") {
        ReLU relu;
        relu.setup({3, 4, 4});
        GradCheck check;
        check.preactivation = [](const cv::Mat& src) {
            cv::Mat z;
            src.convertTo(z, CV_64F);
            return z;
        };
        check_gradients(relu, test::random_tensor({2, 3, 4, 4}, 5), check);
    }

    TEST_CASE("max pool gradient matches finite differences without ties") {
        for (const bool ceil_mode : {false, true}) {
            CAPTURE(ceil_mode);
            MaxPool2d pool(3, 2, 1, ceil_mode);
            pool.setup({2, 6, 7});
            check_gradients(pool, test::distinct_tensor({2, 2, 6, 7}, 6, 0.05f));
        }
    }

    TEST_CASE("avg pool gradient matches finite differences with and without padding in the divisor") {
        for (const bool include_pad : {false, true}) {
            CAPTURE(include_pad);
            AvgPool2d pool(3, 2, 1, include_pad);
            pool.setup({2, 5, 6});
            check_gradients(pool, test::random_tensor({2, 2, 5, 6}, 7));
        }
    }

    TEST_CASE("flatten gradient matches finite differences") {
        Flatten flatten;
        flatten.setup({2, 3, 2});
        check_gradients(flatten, test::random_tensor({2, 2, 3, 2}, 8));
    }

    TEST_CASE("linear gradients match finite differences on a four-dimensional input") {
        for (const bool relu : {false, true}) {
            CAPTURE(relu);
            Linear linear(12, 5, relu);
            linear.setup({3, 2, 2});
            linear.params()[0]->value = test::random_tensor({5, 12}, 9, -0.5f, 0.5f);
            linear.params()[1]->value = test::random_tensor({5}, 10, -0.5f, 0.5f);
            GradCheck check;
            if (relu)
                check.preactivation = [&](const cv::Mat& src) {
                    return test::linear_forward(src, linear.params()[0]->value, linear.params()[1]->value);
                };
            check_gradients(linear, test::random_tensor({3, 3, 2, 2}, 11), check);
        }
    }

    TEST_CASE("dropout gradient matches finite differences with the mask held fixed") {
        Dropout dropout(0.3f, 77);
        dropout.setup({4, 3, 3});
        GradCheck check;
        check.before_forward = [&] { dropout.reseed(77); };
        check_gradients(dropout, test::random_tensor({2, 4, 3, 3}, 12), check);
    }

    TEST_CASE("batch norm gradients in training match finite differences through the batch statistics") {
        BatchNorm2d norm(3);
        norm.setup({3, 3, 2});
        norm.params()[0]->value = test::random_tensor({3}, 13, 0.5f, 1.5f);
        norm.params()[1]->value = test::random_tensor({3}, 14);
        check_gradients(norm, test::random_tensor({2, 3, 3, 2}, 15, -2.0f, 2.0f));
    }

    TEST_CASE("batch norm gradients with frozen statistics match finite differences, and the statistics stay") {
        BatchNorm2d norm(3);
        norm.setup({3, 3, 2});
        norm.params()[0]->value = test::random_tensor({3}, 13, 0.5f, 1.5f);
        norm.params()[1]->value = test::random_tensor({3}, 14);
        norm.running_mean() = test::random_tensor({3}, 16);
        norm.running_var() = test::random_tensor({3}, 17, 0.5f, 2.0f);
        const cv::Mat mean = norm.running_mean().clone(), var = norm.running_var().clone();
        norm.set_frozen_statistics(true);
        check_gradients(norm, test::random_tensor({2, 3, 3, 2}, 15, -2.0f, 2.0f));
        CHECK(cv::norm(norm.running_mean(), mean, cv::NORM_INF) == 0);
        CHECK(cv::norm(norm.running_var(), var, cv::NORM_INF) == 0);
        // A training forward now equals the eval forward (the running statistics, not the batch's).
        const cv::Mat x = test::random_tensor({2, 3, 3, 2}, 18);
        cv::Mat train_out, eval_out;
        norm.forward(x, train_out, true);
        norm.forward(x, eval_out, false);
        CHECK(cv::norm(train_out, eval_out, cv::NORM_INF) == 0);
    }

    TEST_CASE("scale gradients match finite differences (the kind's own layer, made through the registry)") {
        const std::unique_ptr<Layer> scale = layer_kind("scale").make({{"channels", 3}});
        scale->setup({3, 2, 3});
        scale->params()[0]->value = test::random_tensor({3}, 17, 0.5f, 1.5f);
        scale->params()[1]->value = test::random_tensor({3}, 18);
        check_gradients(*scale, test::random_tensor({2, 3, 2, 3}, 19, -2.0f, 2.0f));
    }

    TEST_CASE("softmax cross-entropy gradient matches finite differences") {
        cv::Mat logits = test::random_tensor({3, 5}, 16, -3.0f, 3.0f);
        const std::vector<int> labels{4, 0, 2};
        cv::Mat diff;
        softmax_cross_entropy(logits, labels, diff);
        double worst = 0.0;
        const double step = 1e-3;
        for (size_t i = 0; i < logits.total(); ++i) {
            float& z = logits.ptr<float>()[i];
            const float saved = z, up = saved + static_cast<float>(step), down = saved - static_cast<float>(step);
            cv::Mat unused;
            z = up;
            const double plus = softmax_cross_entropy(logits, labels, unused);
            z = down;
            const double minus = softmax_cross_entropy(logits, labels, unused);
            z = saved;
            const double numeric = (plus - minus) / (static_cast<double>(up) - down);
            const double a = diff.ptr<float>()[i];
            worst = std::max(worst, std::abs(a - numeric) / std::max({1.0, std::abs(a), std::abs(numeric)}));
        }
        CHECK(worst <= 1e-4);
    }

}  // TEST_SUITE
