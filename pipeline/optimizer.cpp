#include "pipeline/optimizer.hpp"

#include "plugin/error.hpp"

#include <cmath>

namespace cvtl {

Optimizer::Optimizer(const OptimizerConfig& config, NamedParams params) : config_(config) {
    if (config.kind != "sgd" && config.kind != "adam" && config.kind != "adamw")
        throw Error("unknown --optimizer '" + config.kind + "' (expected sgd, adam or adamw)");
    for (auto& [name, p] : params) {
        Slot s{name, p, cv::Mat::zeros(p->value.dims, p->value.size.p, CV_32F), {}};
        if (config.kind != "sgd") s.second = cv::Mat::zeros(p->value.dims, p->value.size.p, CV_32F);
        slots_.push_back(std::move(s));
    }
}

void Optimizer::step(double lr) {
    ++steps_;
    const auto c = config_;
    const double bias1 = 1.0 - std::pow(c.beta1, static_cast<double>(steps_));
    const double bias2 = 1.0 - std::pow(c.beta2, static_cast<double>(steps_));
    for (Slot& s : slots_) {
        Param& p = *s.param;
        if (p.lr_mult == 0.0f) continue;
        const float rate = static_cast<float>(lr * p.lr_mult);
        const float decay = static_cast<float>(c.weight_decay * p.decay_mult);
        float* w = p.value.ptr<float>();
        const float* g = p.grad.ptr<float>();
        float* m = s.first.ptr<float>();
        const size_t n = p.value.total();
        if (c.kind == "sgd") {
            const auto mu = static_cast<float>(c.momentum);
            for (size_t i = 0; i < n; ++i) {
                float d = g[i] + decay * w[i];
                if (mu != 0.0f) {
                    m[i] = steps_ == 1 ? d : mu * m[i] + d;   // PyTorch: the first step seeds the buffer
                    d = c.nesterov ? d + mu * m[i] : m[i];
                }
                w[i] -= rate * d;
            }
        } else {
            float* v = s.second.ptr<float>();
            const auto b1 = static_cast<float>(c.beta1), b2 = static_cast<float>(c.beta2);
            const float step_size = rate / static_cast<float>(bias1);
            const auto root_bias2 = static_cast<float>(std::sqrt(bias2));
            const bool decoupled = c.kind == "adamw";
            for (size_t i = 0; i < n; ++i) {
                float d = g[i];
                if (decoupled) w[i] -= rate * decay * w[i];
                else d += decay * w[i];
                m[i] = b1 * m[i] + (1 - b1) * d;
                v[i] = b2 * v[i] + (1 - b2) * d * d;
                w[i] -= step_size * m[i] / (std::sqrt(v[i]) / root_bias2 + static_cast<float>(c.eps));
            }
        }
    }
}

std::map<std::string, cv::Mat> Optimizer::state() const {
    std::map<std::string, cv::Mat> out;
    for (const Slot& s : slots_) {
        out[s.name + "/first"] = s.first.clone();
        if (!s.second.empty()) out[s.name + "/second"] = s.second.clone();
    }
    return out;
}

void Optimizer::load_state(const std::map<std::string, cv::Mat>& state) {
    for (Slot& s : slots_) {
        for (auto [suffix, dst] : {std::pair<const char*, cv::Mat*>{"/first", &s.first}, {"/second", &s.second}}) {
            if (dst->empty()) continue;
            auto it = state.find(s.name + suffix);
            if (it == state.end() || it->second.total() != dst->total())
                throw Error("checkpoint has no optimizer state for " + s.name + suffix + " (was it made with another --optimizer?)");
            it->second.reshape(1, dst->dims, dst->size.p).copyTo(*dst);
        }
    }
}

double Schedule::at(double t) const {
    if (warmup_epochs > 0 && t < warmup_epochs) return base_lr * (t + 1e-3) / warmup_epochs;
    if (kind == "constant") return base_lr;
    if (kind == "step") return base_lr * std::pow(gamma, std::floor(t / std::max(1, step_epochs)));
    if (kind == "cosine") {
        const double span = std::max(1e-9, epochs - warmup_epochs);
        return 0.5 * base_lr * (1.0 + std::cos(M_PI * std::min(1.0, (t - warmup_epochs) / span)));
    }
    throw Error("unknown --schedule '" + kind + "' (expected constant, step or cosine)");
}

}  // namespace cvtl
