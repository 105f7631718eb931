#include "pipeline/engine/network.hpp"

#include "pipeline/engine/layer_kind.hpp"
#include "pipeline/engine/layers/dropout.hpp"
#include "pipeline/core/error.hpp"

namespace cvtl {

nlohmann::json NetworkSpec::to_json() const {
    nlohmann::json layers_json = nlohmann::json::array();
    for (const auto& l : layers)
        layers_json.push_back({{"name", l.name}, {"block", l.block}, {"type", l.type}, {"args", l.args}});
    return {{"input_shape", input_shape}, {"input_tap", input_tap}, {"layers", layers_json}};
}

NetworkSpec NetworkSpec::from_json(const nlohmann::json& j) {
    NetworkSpec spec;
    spec.input_shape = j.at("input_shape").get<std::vector<int>>();
    spec.input_tap = j.at("input_tap").get<std::string>();
    for (const auto& l : j.at("layers"))
        spec.layers.push_back({l.at("name"), l.at("block"), l.at("type"), l.at("args")});
    return spec;
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
    std::vector<int> shape = spec.input_shape;
    for (const LayerSpec& s : spec.layers) {
        Entry e{s, make_layer(s)};
        try {
            shape = e.layer->setup(shape);
        } catch (const Error& err) {
            throw Error("layer " + s.name + ": " + err.message());
        }
        entries_.push_back(std::move(e));
    }
    output_shape_ = shape;
    activations_.resize(entries_.size() + 1);
    diffs_.resize(entries_.size() + 1);
}

const cv::Mat& Network::forward(const cv::Mat& input, bool train) {
    activations_[0] = input;
    for (size_t i = 0; i < entries_.size(); ++i)
        entries_[i].layer->forward(activations_[i], activations_[i + 1], train);
    return activations_.back();
}

void Network::backward(const cv::Mat& diff_logits, const std::function<void(std::size_t)>& layer_done) {
    // Nothing below the first layer that learns needs a gradient: backward stops there, and that layer
    // skips its diff_src (for VGG's fc6 alone a 25088-wide product per step).
    size_t first = entries_.size();
    for (size_t i = 0; i < entries_.size() && first == entries_.size(); ++i)
        for (const Param* p : entries_[i].layer->params())
            if (p->lr_mult > 0) first = i;
    diffs_.back() = diff_logits;
    for (size_t i = entries_.size(); i-- > first;) {
        entries_[i].layer->backward(activations_[i], activations_[i + 1], diffs_[i + 1], diffs_[i], i > first);
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
