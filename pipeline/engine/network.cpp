#include "pipeline/engine/network.hpp"

#include "pipeline/engine/layer_kind.hpp"
#include "pipeline/engine/layers/dropout.hpp"
#include "pipeline/core/error.hpp"

namespace cvtl {

nlohmann::json NetworkSpec::to_json() const {
    nlohmann::json layers_json = nlohmann::json::array();
    for (const auto& l : layers) {
        nlohmann::json j{{"name", l.name}, {"block", l.block}, {"type", l.type}, {"args", l.args}};
        if (!l.inputs.empty()) j["inputs"] = l.inputs;
        layers_json.push_back(std::move(j));
    }
    return {{"input_shape", input_shape}, {"input_tap", input_tap}, {"layers", layers_json}};
}

NetworkSpec NetworkSpec::from_json(const nlohmann::json& j) {
    NetworkSpec spec;
    spec.input_shape = j.at("input_shape").get<std::vector<int>>();
    spec.input_tap = j.at("input_tap").get<std::string>();
    for (const auto& l : j.at("layers"))
        spec.layers.push_back(
            {l.at("name"), l.at("block"), l.at("type"), l.at("args"), l.value("inputs", std::vector<std::string>{})});
    return spec;
}

void append_layers(NetworkSpec& below, const NetworkSpec& above) {
    const std::string joint = below.layers.empty() ? std::string(kNetworkInput) : below.layers.back().name;
    for (LayerSpec l : above.layers) {
        for (std::string& input : l.inputs)
            if (input == kNetworkInput) input = joint;
        below.layers.push_back(std::move(l));
    }
}

std::vector<int> resolve_inputs(const NetworkSpec& spec, std::size_t i) {
    const LayerSpec& l = spec.layers.at(i);
    if (l.inputs.empty()) return {static_cast<int>(i)};
    std::vector<int> from;
    for (const std::string& name : l.inputs) {
        int index = name == kNetworkInput ? 0 : -1;
        for (std::size_t j = 0; j < i && index < 0; ++j)
            if (spec.layers[j].name == name) index = static_cast<int>(j) + 1;
        if (index < 0) throw Error("layer " + l.name + " reads '" + name + "', which is not a layer before it");
        from.push_back(index);
    }
    return from;
}

std::unique_ptr<Layer> make_layer(const LayerSpec& s) {
    const LayerKind& kind = layer_kind(s.type);
    try {
        return kind.make(s.args);
    } catch (const nlohmann::json::exception& e) {
        throw Error("layer " + s.name + " (" + s.type + ") has malformed arguments " + s.args.dump() + ": " + e.what());
    } catch (const Error& e) {  // a kind's typed arguments refused a value
        throw Error("layer " + s.name + ": " + e.message());
    }
}

Network::Network(const NetworkSpec& spec) : spec_(spec) {
    std::vector<std::vector<int>> shapes{spec.input_shape};  // per activation
    for (size_t i = 0; i < spec.layers.size(); ++i) {
        const LayerSpec& s = spec.layers[i];
        Entry e{s, make_layer(s)};
        from_.push_back(resolve_inputs(spec, i));
        const std::vector<int>& from = from_.back();
        if (static_cast<int>(from.size()) != e.layer->arity())
            throw Error("layer " + s.name + " (" + s.type + ") reads " + std::to_string(e.layer->arity()) +
                        " inputs, given " + std::to_string(from.size()));
        for (int k : from)
            if (shapes[static_cast<size_t>(k)] != shapes[static_cast<size_t>(from[0])])
                throw Error("layer " + s.name + " adds inputs of different shapes");
        try {
            shapes.push_back(e.layer->setup(shapes[static_cast<size_t>(from[0])]));
        } catch (const Error& err) {
            throw Error("layer " + s.name + ": " + err.message());
        }
        entries_.push_back(std::move(e));
    }
    output_shape_ = shapes.back();
    activations_.resize(entries_.size() + 1);
    diffs_.resize(entries_.size() + 1);
}

const cv::Mat& Network::forward(const cv::Mat& input, bool train) {
    activations_[0] = input;
    std::vector<const cv::Mat*> srcs;
    for (size_t i = 0; i < entries_.size(); ++i) {
        srcs.clear();
        for (int k : from_[i]) srcs.push_back(&activations_[static_cast<size_t>(k)]);
        entries_[i].layer->forward_inputs(srcs, activations_[i + 1], train);
    }
    return activations_.back();
}

void Network::backward(const cv::Mat& diff_logits, const std::function<void(std::size_t)>& layer_done) {
    // Nothing below the first layer that learns needs a gradient: backward stops there, and that layer
    // skips its diff_src (for VGG's fc6 alone a 25088-wide product per step).
    size_t first = entries_.size();
    for (size_t i = 0; i < entries_.size() && first == entries_.size(); ++i)
        for (const Param* p : entries_[i].layer->params())
            if (p->lr_mult > 0) first = i;
    // Only activations made at or after the first trained layer need a gradient (index > first). One read
    // by several layers (a residual fork) sums its readers' gradients: the first writes it, the rest add.
    std::vector<bool> written(diffs_.size(), false);
    diffs_.back() = diff_logits;
    written.back() = true;
    for (size_t i = entries_.size(); i-- > first;) {
        const std::vector<int>& from = from_[i];
        const size_t k0 = static_cast<size_t>(from[0]);
        bool need = false;
        for (int k : from) need = need || static_cast<size_t>(k) > first;
        const bool direct = need && !written[k0] && k0 > first;
        cv::Mat& diff_src = direct ? diffs_[k0] : scratch_diff_;
        entries_[i].layer->backward(activations_[k0], activations_[i + 1], diffs_[i + 1], diff_src, need);
        for (size_t j = 0; need && j < from.size(); ++j) {
            const size_t k = static_cast<size_t>(from[j]);
            if (k <= first || (direct && j == 0)) {
                written[k] = written[k] || k > first;
                continue;
            }
            if (written[k])
                diffs_[k] += diff_src;
            else
                diff_src.copyTo(diffs_[k]);
            written[k] = true;
        }
        if (layer_done) layer_done(i);
    }
}

void Network::set_batch_offset(std::int64_t first_row) {
    for (auto& e : entries_)
        if (auto* d = dynamic_cast<Dropout*>(e.layer.get())) d->set_row_offset(first_row);
}

void Network::skip_training_forward() {
    for (auto& e : entries_)
        if (auto* d = dynamic_cast<Dropout*>(e.layer.get())) d->set_calls(d->calls() + 1);
}

void Network::set_precision(Precision precision) {
    for (auto& e : entries_) e.layer->set_precision(precision);
    precision_ = precision;
}

void Network::set_frozen_statistics(bool frozen) {
    for (auto& e : entries_) e.layer->set_frozen_statistics(frozen);
}

std::vector<std::pair<std::string, Param*>> Network::named_params() {
    std::vector<std::pair<std::string, Param*>> out;
    for (auto& e : entries_)
        for (Param* p : e.layer->params()) out.emplace_back(e.spec.name + "." + p->name, p);
    return out;
}

std::int64_t Network::trainable_values() {
    std::int64_t n = 0;
    for (auto& [name, p] : named_params())
        if (p->lr_mult > 0) n += static_cast<std::int64_t>(p->value.total());
    return n;
}

}  // namespace cvtl
