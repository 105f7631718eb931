#include "pipeline/engine/weights.hpp"

#include "pipeline/engine/layer_kind.hpp"
#include "pipeline/engine/layers/batch_norm2d.hpp"
#include "pipeline/core/error.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace cvtl {

WeightMap fresh_weights(const NetworkSpec& spec, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    WeightMap w;
    for (const LayerSpec& l : spec.layers) layer_kind(l.type).initialise(l, rng, w);
    return w;
}

void load_weights(Network& network, const WeightMap& weights) {
    auto copy_into = [&](const std::string& name, cv::Mat& dst) {
        auto it = weights.find(name);
        if (it == weights.end()) throw Error("no initial value for parameter " + name);
        if (it->second.total() != dst.total())
            throw Error("parameter " + name + " expects " + std::to_string(dst.total()) + " values, found " +
                        std::to_string(it->second.total()));
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
