// cvtl_bench_optimizer: the optimizer step of a wide classifier against the memory bandwidth of the
// same machine, measured in the same run.
//
// The step of VGG-16's classifier (25088-4096-4096-10, 120 M parameters) does a few flops per
// element and streams every parameter, gradient and moment once: it is bound by memory bandwidth.
// Adam reads w, g, m, v and writes w, m, v: 28 bytes per parameter, 3.35 GB per step. The physical
// limit is the rate at which this machine moves bytes at all, measured here as a parallel copy of a
// buffer as large as the parameters (bytes read + bytes written, per second). The figure of merit is
// (bytes the step moves / its time) / copy bandwidth; the target is at least 0.70.
//
// Also timed: the same 4-read/3-write stream with no arithmetic ("stream7"), which shows how much
// of the gap is the access pattern rather than the update's arithmetic.
//
// Prints one JSON line: sizes, median times, GB/s and the fraction for each kind.
#include "pipeline/engine/layers/layer.hpp"
#include "pipeline/engine/layers/onednn_context.hpp"
#include "pipeline/engine/optimizer.hpp"
#include "pipeline/core/error.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct Options {
    std::string layers = "25088x4096,4096x4096,4096x10";  // in x out of each fully connected layer
    int threads = 2;
    int reps = 7;  // median over these
    std::string kinds = "sgd,adam,adamw";
};

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

double rounded(double v, double unit = 1e-3) { return std::round(v / unit) * unit; }

// Weights and bias of each layer, filled with small values (the update's speed does not depend on them;
// zeros would let the CPU skip nothing either, but keep denormals out).
std::vector<cvtl::Param> make_params(const std::string& layers) {
    std::vector<cvtl::Param> params;
    std::stringstream list(layers);
    for (std::string item; std::getline(list, item, ',');) {
        int in = 0, out = 0;
        if (std::sscanf(item.c_str(), "%dx%d", &in, &out) != 2 || in < 1 || out < 1)
            throw cvtl::Error("--layers: '" + item + "' is not IN x OUT (e.g. 25088x4096)");
        for (const auto& shape : {std::vector<int>{out, in}, std::vector<int>{out}}) {
            cvtl::Param p;
            p.name = shape.size() == 2 ? "weights" : "bias";
            p.value = cv::Mat(shape, CV_32F, cv::Scalar(0.01));
            p.grad = cv::Mat(shape, CV_32F, cv::Scalar(0.001));
            p.decay_mult = shape.size() == 2 ? 1.0f : 0.0f;
            params.push_back(std::move(p));
        }
    }
    return params;
}

// Parallel copy of `bytes`; returns bytes moved (read + written) per second, median over reps.
double copy_rate(size_t bytes, int reps) {
    std::vector<char> src(bytes, 1), dst(bytes, 0);
    std::vector<double> rates;
    for (int r = 0; r <= reps; ++r) {  // the first is a warm-up
        const auto start = Clock::now();
        const auto n = static_cast<std::ptrdiff_t>(bytes);
        constexpr std::ptrdiff_t kChunk = 1 << 22;
#pragma omp parallel for schedule(static)
        for (std::ptrdiff_t i = 0; i < n; i += kChunk)
            std::memcpy(dst.data() + i, src.data() + i, std::min(kChunk, n - i));
        if (r > 0) rates.push_back(2.0 * static_cast<double>(bytes) / seconds_since(start));
    }
    if (dst[bytes / 2] != 1) throw cvtl::Error("copy check failed");
    return median(rates);
}

// The optimizer's access pattern without its arithmetic: read four arrays, write three.
double stream7_seconds(std::vector<cvtl::Param>& params, std::vector<cv::Mat>& m, std::vector<cv::Mat>& v, int reps) {
    std::vector<double> times;
    for (int r = 0; r <= reps; ++r) {
        const auto start = Clock::now();
        for (size_t k = 0; k < params.size(); ++k) {
            float* w = params[k].value.ptr<float>();
            const float* g = params[k].grad.ptr<float>();
            float* a = m[k].ptr<float>();
            float* b = v[k].ptr<float>();
            const auto n = static_cast<std::ptrdiff_t>(params[k].value.total());
#pragma omp parallel for simd if (n >= (1 << 16))
            for (std::ptrdiff_t i = 0; i < n; ++i) {
                const float s = w[i] + g[i] + a[i] + b[i];
                w[i] = s;
                a[i] = s;
                b[i] = s;
            }
        }
        if (r > 0) times.push_back(seconds_since(start));
    }
    return median(times);
}

double step_seconds(const std::string& kind, std::vector<cvtl::Param>& params, int reps) {
    cvtl::OptimizerConfig config;
    config.kind = cvtl::parse_optimizer_kind(kind);
    cvtl::Optimizer::NamedParams named;
    for (size_t k = 0; k < params.size(); ++k) named.emplace_back(std::to_string(k), &params[k]);
    cvtl::Optimizer optimizer(config, named);
    std::vector<double> times;
    for (int r = 0; r <= reps; ++r) {
        const auto start = Clock::now();
        optimizer.step(1e-6);
        if (r > 0) times.push_back(seconds_since(start));
    }
    return median(times);
}

// Bytes one step moves per parameter: sgd with momentum reads w, g, m and writes w, m; adam adds v.
double bytes_per_param(const std::string& kind) { return kind == "sgd" ? 5 * 4.0 : 7 * 4.0; }

void run(const Options& o) {
    if (o.threads < 1 || o.reps < 1) throw cvtl::Error("--threads and --reps expect at least 1");
    cvtl::set_engine_threads(o.threads);
    std::vector<cvtl::Param> params = make_params(o.layers);
    size_t count = 0;
    for (const auto& p : params) count += p.value.total();
    const double copy = copy_rate(count * sizeof(float), o.reps);
    json out = {
        {"impl", "cvtl"}, {"parameters", count}, {"threads", o.threads}, {"copy_GBps", rounded(copy / 1e9, 0.01)}};
    std::stringstream list(o.kinds);
    for (std::string kind; std::getline(list, kind, ',');) {
        const double s = step_seconds(kind, params, o.reps);
        const double bytes = bytes_per_param(kind) * static_cast<double>(count);
        out[kind] = {{"ms", rounded(s * 1e3, 0.01)},
                     {"GB", rounded(bytes / 1e9)},
                     {"GBps", rounded(bytes / s / 1e9, 0.01)},
                     {"of_copy", rounded(bytes / s / copy)}};
    }
    std::vector<cv::Mat> m, v;
    for (const auto& p : params) {
        m.push_back(cv::Mat::zeros(p.value.dims, p.value.size.p, CV_32F));
        v.push_back(cv::Mat::zeros(p.value.dims, p.value.size.p, CV_32F));
    }
    const double s7 = stream7_seconds(params, m, v, o.reps);
    const double bytes7 = 28.0 * static_cast<double>(count);
    out["stream7"] = {{"ms", rounded(s7 * 1e3, 0.01)},
                      {"GBps", rounded(bytes7 / s7 / 1e9, 0.01)},
                      {"of_copy", rounded(bytes7 / s7 / copy)}};
    std::cout << out.dump() << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"The optimizer step of a wide classifier against this machine's copy bandwidth (one JSON line)"};
    Options o;
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.add_option("--layers", o.layers, "comma-separated IN x OUT of the fully connected layers")
        ->capture_default_str();
    app.add_option("--threads", o.threads, "OpenMP threads")->capture_default_str();
    app.add_option("--reps", o.reps, "timed steps (the median is reported)")->capture_default_str();
    app.add_option("--kinds", o.kinds, "comma-separated optimizers: sgd, adam, adamw")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    try {
        run(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cvtl_bench_optimizer: %s\n", e.what());
        return 1;
    }
    return 0;
}
