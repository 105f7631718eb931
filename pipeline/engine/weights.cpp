#include "pipeline/engine/weights.hpp"

#include "pipeline/engine/layers/batch_norm2d.hpp"
#include "plugin/error.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace cvtl {

WeightMap fresh_weights(const NetworkSpec& spec, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    auto normal = [&](std::vector<int> shape, double stddev) {
        cv::Mat m(shape, CV_32F);
        std::normal_distribution<float> dist(0.0f, static_cast<float>(stddev));
        for (size_t i = 0; i < m.total(); ++i) m.ptr<float>()[i] = dist(rng);
        return m;
    };
    auto uniform = [&](std::vector<int> shape, double bound) {
        cv::Mat m(shape, CV_32F);
        std::uniform_real_distribution<float> dist(static_cast<float>(-bound), static_cast<float>(bound));
        for (size_t i = 0; i < m.total(); ++i) m.ptr<float>()[i] = dist(rng);
        return m;
    };
    auto filled = [](int n, float v) { return cv::Mat(std::vector<int>{n}, CV_32F, cv::Scalar(v)); };
    WeightMap w;
    for (const LayerSpec& l : spec.layers) {
        const auto& a = l.args;
        if (l.type == "conv2d") {
            const int out = a.at("out"), in = a.at("in"), k = a.at("kernel");
            w[l.name + ".weights"] = normal({out, in, k, k}, std::sqrt(2.0 / (out * k * k)));
            w[l.name + ".bias"] = filled(out, 0);
        } else if (l.type == "linear") {
            const int out = a.at("out"), in = a.at("in");
            // PyTorch's nn.Linear default, U(-1/sqrt(in), 1/sqrt(in)) for weights and bias: it keeps the
            // logits' scale at any width. torchvision's N(0, 0.01) was tuned for 4096-wide layers and
            // leaves a narrow classifier's logits near zero, where training stalls.
            const double bound = 1.0 / std::sqrt(static_cast<double>(in));
            w[l.name + ".weights"] = uniform({out, in}, bound);
            w[l.name + ".bias"] = uniform({out}, bound);
        } else if (l.type == "batch_norm") {
            const int c = a.at("channels");
            w[l.name + ".gamma"] = filled(c, 1);
            w[l.name + ".beta"] = filled(c, 0);
            w[l.name + ".running_mean"] = filled(c, 0);
            w[l.name + ".running_var"] = filled(c, 1);
        }
    }
    return w;
}

void load_weights(Network& network, const WeightMap& weights) {
    auto copy_into = [&](const std::string& name, cv::Mat& dst) {
        auto it = weights.find(name);
        if (it == weights.end()) throw Error("no initial value for parameter " + name);
        if (it->second.total() != dst.total())
            throw Error("parameter " + name + " expects " + std::to_string(dst.total()) + " values, found " + std::to_string(it->second.total()));
        std::copy_n(it->second.ptr<float>(), dst.total(), dst.ptr<float>());
    };
    for (auto& e : network.entries()) {
        for (Param* p : e.layer->params()) copy_into(e.spec.name + "." + p->name, p->value);
        if (auto* bn = dynamic_cast<BatchNorm2d*>(e.layer.get())) {
            copy_into(e.spec.name + ".running_mean", bn->running_mean());
            copy_into(e.spec.name + ".running_var", bn->running_var());
        }
    }
}

WeightMap save_weights(Network& network) {
    WeightMap w;
    for (auto& e : network.entries()) {
        for (Param* p : e.layer->params()) w[e.spec.name + "." + p->name] = p->value.clone();
        if (auto* bn = dynamic_cast<BatchNorm2d*>(e.layer.get())) {
            w[e.spec.name + ".running_mean"] = bn->running_mean().clone();
            w[e.spec.name + ".running_var"] = bn->running_var().clone();
        }
    }
    return w;
}

}  // namespace cvtl
