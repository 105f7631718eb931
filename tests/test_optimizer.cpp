#include "pipeline/engine/optimizer.hpp"
#include "pipeline/core/error.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace cvtl;

namespace {

Param make_param(std::vector<float> values, std::vector<float> grads, float decay_mult = 1.0f) {
    Param p;
    p.name = "w";
    p.value = cv::Mat(values, true).reshape(1, 1);
    p.grad = cv::Mat(grads, true).reshape(1, 1);
    p.decay_mult = decay_mult;
    return p;
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("SGD with momentum and weight decay follows PyTorch's rule") {
        Param p = make_param({1.0f, -2.0f}, {0.5f, 0.25f});
        OptimizerConfig c;
        c.momentum = 0.9;
        c.weight_decay = 0.1;
        Optimizer opt(c, {{"w", &p}});
        opt.step(0.1);  // d = g + 0.1 w = [0.6, 0.05]; buf = d; w -= 0.1 d
        CHECK(p.value.at<float>(0) == doctest::Approx(0.94));
        CHECK(p.value.at<float>(1) == doctest::Approx(-2.005));
        opt.step(0.1);  // d = [0.5 + 0.094, 0.25 - 0.2005]; buf = 0.9 buf + d
        const double d0 = 0.5 + 0.1 * 0.94, buf0 = 0.9 * 0.6 + d0;
        CHECK(p.value.at<float>(0) == doctest::Approx(0.94 - 0.1 * buf0));
    }

    TEST_CASE("Nesterov SGD and multipliers") {
        Param p = make_param({1.0f}, {1.0f}, 0.0f);  // no decay on this parameter
        p.lr_mult = 0.5f;
        OptimizerConfig c;
        c.momentum = 0.9;
        c.nesterov = true;
        c.weight_decay = 10.0;
        Optimizer opt(c, {{"w", &p}});
        opt.step(0.1);  // buf = 1; d = 1 + 0.9 = 1.9; w -= 0.05 * 1.9
        CHECK(p.value.at<float>(0) == doctest::Approx(1.0 - 0.05 * 1.9));
        Param frozen = make_param({3.0f}, {1.0f});
        frozen.lr_mult = 0.0f;
        Optimizer opt2(c, {{"f", &frozen}});
        opt2.step(1.0);
        CHECK(frozen.value.at<float>(0) == 3.0f);
    }

    TEST_CASE("Adam and AdamW match the reference update") {
        for (const OptimizerKind kind : {OptimizerKind::adam, OptimizerKind::adamw}) {
            CAPTURE(to_string(kind));
            Param p = make_param({1.0f}, {0.2f});
            OptimizerConfig c;
            c.kind = kind;
            c.weight_decay = 0.01;
            Optimizer opt(c, {{"w", &p}});
            double w = 1.0, m = 0, v = 0;
            for (int t = 1; t <= 3; ++t) {
                double g = 0.2;
                if (kind == OptimizerKind::adamw)
                    w -= 0.01 * 0.01 * w;
                else
                    g += 0.01 * w;
                m = 0.9 * m + 0.1 * g;
                v = 0.999 * v + 0.001 * g * g;
                const double mhat = m / (1 - std::pow(0.9, t)), vhat = v / (1 - std::pow(0.999, t));
                w -= 0.01 * mhat / (std::sqrt(vhat) + 1e-8);
                opt.step(0.01);
                CHECK(p.value.at<float>(0) == doctest::Approx(w).epsilon(1e-5));
            }
        }
        CHECK_THROWS_AS(parse_optimizer_kind("lion"), Error);
    }

    TEST_CASE("updates of large tensors (split across threads) equal the serial updates bit for bit") {
        const int n = 300000, head = 1000;  // the optimizer runs tensors of >= 65536 values on the OpenMP team
        cv::Mat values(1, n, CV_32F), grads(1, n, CV_32F);
        cv::RNG rng(5);
        rng.fill(values, cv::RNG::UNIFORM, -1.0, 1.0);
        for (const std::string kind : {"sgd", "nesterov", "adam", "adamw"}) {
            CAPTURE(kind);
            OptimizerConfig c;
            c.kind = kind == "nesterov" ? OptimizerKind::sgd : parse_optimizer_kind(kind);
            c.nesterov = kind == "nesterov";
            Param big, small;
            big.value = values.clone();
            small.value = values.colRange(0, head).clone();
            Optimizer big_opt(c, {{"w", &big}}), small_opt(c, {{"w", &small}});
            for (int step = 0; step < 3; ++step) {
                rng.fill(grads, cv::RNG::UNIFORM, -0.5, 0.5);
                big.grad = grads.clone();
                small.grad = grads.colRange(0, head).clone();
                big_opt.step(0.01);
                small_opt.step(0.01);
            }
            CHECK(cv::norm(values.colRange(0, head), small.value, cv::NORM_INF) > 0);  // it did move
            CHECK(cv::norm(big.value.colRange(0, head), small.value, cv::NORM_INF) == 0);
        }
    }

    TEST_CASE("optimizer state round-trips") {
        Param p = make_param({1.0f, 2.0f}, {0.1f, 0.2f});
        OptimizerConfig c;
        c.kind = OptimizerKind::adam;
        Optimizer a(c, {{"w", &p}});
        a.step(0.1);
        Param q = make_param({1.0f, 2.0f}, {0.1f, 0.2f});
        Optimizer b(c, {{"w", &q}});
        b.load_state(a.state());
        b.set_steps(a.steps());
        q.value = p.value.clone();
        a.step(0.1);
        b.step(0.1);
        CHECK(cv::norm(p.value, q.value, cv::NORM_INF) == 0);
    }

    TEST_CASE("schedules: constant - step - cosine with warm-up") {
        Schedule s;
        s.base_lr = 0.1;
        s.epochs = 10;
        s.kind = ScheduleKind::constant;
        CHECK(s.at(7.5) == doctest::Approx(0.1));
        s.kind = ScheduleKind::step;
        s.step_epochs = 3;
        CHECK(s.at(2.9) == doctest::Approx(0.1));
        CHECK(s.at(3.0) == doctest::Approx(0.01));
        s.kind = ScheduleKind::cosine;
        CHECK(s.at(0) == doctest::Approx(0.1));
        CHECK(s.at(5) == doctest::Approx(0.05));
        CHECK(s.at(10) == doctest::Approx(0.0));
        s.warmup_epochs = 2;
        CHECK(s.at(1) < 0.06);
        CHECK(s.at(2) == doctest::Approx(0.1));
        CHECK_THROWS_AS(parse_schedule_kind("exp"), Error);
    }

}  // TEST_SUITE
