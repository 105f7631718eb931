#include "pipeline/engine/optimizer.hpp"

#include "pipeline/core/error.hpp"

#include <cmath>
#include <cstddef>

namespace cvtl {

Optimizer::Optimizer(const OptimizerConfig& config, NamedParams params) : config_(config) {
    CVTL_ASSERT(config.kind.has_value());
    for (auto& [name, p] : params) {
        Slot s{name, p, cv::Mat::zeros(p->value.dims, p->value.size.p, CV_32F), {}};
        if (config.kind != OptimizerKind::sgd) s.second = cv::Mat::zeros(p->value.dims, p->value.size.p, CV_32F);
        slots_.push_back(std::move(s));
    }
}

namespace {

// Element-wise updates, one pass over each tensor. Threads split the elements (no reductions), so the
// result is bit-identical to a serial loop; tensors below kParallelFrom stay on one thread, where
// waking the OpenMP team would cost more than the loop.
constexpr std::ptrdiff_t kParallelFrom = 1 << 16;

// PyTorch's SGD: d = g + decay*w; m = first ? d : mu*m + d; w -= rate * (nesterov ? d + mu*m : m).
template <bool Momentum, bool Nesterov>
void sgd_update(float* w, const float* g, float* m, std::ptrdiff_t n, float rate, float decay, float mu, bool first) {
#pragma omp parallel for simd if (n >= kParallelFrom)
    for (std::ptrdiff_t i = 0; i < n; ++i) {
        float d = g[i] + decay * w[i];
        if (Momentum) {
            m[i] = first ? d : mu * m[i] + d;
            d = Nesterov ? d + mu * m[i] : m[i];
        }
        w[i] -= rate * d;
    }
}

// Adam (L2 decay added to the gradient) and AdamW (decoupled decay), with PyTorch's bias corrections.
template <bool Decoupled>
void adam_update(float* w, const float* g, float* m, float* v, std::ptrdiff_t n, float rate, float decay, float b1,
                 float b2, float step_size, float root_bias2, float eps) {
#pragma omp parallel for simd if (n >= kParallelFrom)
    for (std::ptrdiff_t i = 0; i < n; ++i) {
        float d = g[i];
        if (Decoupled)
            w[i] -= rate * decay * w[i];
        else
            d += decay * w[i];
        m[i] = b1 * m[i] + (1 - b1) * d;
        v[i] = b2 * v[i] + (1 - b2) * d * d;
        w[i] -= step_size * m[i] / (std::sqrt(v[i]) / root_bias2 + eps);
    }
}

}  // namespace

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
        const auto n = static_cast<std::ptrdiff_t>(p.value.total());
        if (c.kind == OptimizerKind::sgd) {
            const auto mu = static_cast<float>(c.momentum);
            const bool first = steps_ == 1;  // PyTorch: the first step seeds the momentum buffer
            if (mu == 0.0f)
                sgd_update<false, false>(w, g, m, n, rate, decay, mu, first);
            else if (c.nesterov)
                sgd_update<true, true>(w, g, m, n, rate, decay, mu, first);
            else
                sgd_update<true, false>(w, g, m, n, rate, decay, mu, first);
        } else {
            const auto b1 = static_cast<float>(c.beta1), b2 = static_cast<float>(c.beta2);
            const float step_size = rate / static_cast<float>(bias1);
            const auto root_bias2 = static_cast<float>(std::sqrt(bias2));
            const auto eps = static_cast<float>(c.eps);
            float* v = s.second.ptr<float>();
            if (c.kind == OptimizerKind::adamw)
                adam_update<true>(w, g, m, v, n, rate, decay, b1, b2, step_size, root_bias2, eps);
            else
                adam_update<false>(w, g, m, v, n, rate, decay, b1, b2, step_size, root_bias2, eps);
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
                throw Error("checkpoint has no optimizer state for " + s.name + suffix +
                            " (was it made with another {optimizer}?)");
            it->second.reshape(1, dst->dims, dst->size.p).copyTo(*dst);
        }
    }
}

double Schedule::at(double t) const {
    if (warmup_epochs > 0 && t < warmup_epochs) return base_lr * (t + 1e-3) / warmup_epochs;
    CVTL_ASSERT(kind.has_value());
    if (kind == ScheduleKind::constant) return base_lr;
    if (kind == ScheduleKind::step) return base_lr * std::pow(gamma, std::floor(t / std::max(1, step_epochs)));
    const double span = std::max(1e-9, epochs - warmup_epochs);
    return 0.5 * base_lr * (1.0 + std::cos(M_PI * std::min(1.0, (t - warmup_epochs) / span)));
}

}  // namespace cvtl
