#include "pipeline/deploy/model_description.hpp"

#include "plugin/tap_name.hpp"

#include "pipeline/core/error.hpp"

#include <nlohmann/json.hpp>

#include <set>

namespace cvtl {

void check_class_names(const std::vector<std::string>& classes, const std::string& source) {
    if (classes.empty() || classes.size() > kMaxClasses)
        throw Error(source + " lists " + std::to_string(classes.size()) + " classes (expected 1.." +
                    std::to_string(kMaxClasses) + "); re-export the model");
    std::set<std::string> seen;
    for (const auto& c : classes) {
        if (c.empty()) throw Error(source + " lists an empty class name; re-export the model");
        // Two equal names would make evaluate's mapping from data classes to outputs ambiguous.
        if (!seen.insert(c).second) throw Error(source + " lists class '" + c + "' twice; re-export the model");
    }
}

namespace {

// The tap a model reads, as its sidecar or metadata names it: one of cvtl's tap names.
std::string checked_tap(const nlohmann::json& value, const std::string& source) {
    if (!value.is_string() || tap::depth(value.get<std::string>()) < 0)
        throw Error(source + ": \"input_tap\" must name a tap (input, pool1..pool5, fc6, fc7), found " + value.dump() +
                    "; re-export the model");
    return value.get<std::string>();
}

}  // namespace

ModelDescription parse_sidecar(const std::string& text, const std::string& source) {
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("format") || j["format"] != "cvtl-model")
        throw Error(source +
                    " is not a cvtl model sidecar (no \"format\": \"cvtl-model\"); remove it or re-export the model");
    ModelDescription d;
    try {
        d.classes = j.at("classes").get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception&) {
        throw Error(source + ": \"classes\" must be a list of names; re-export the model");
    }
    check_class_names(d.classes, source);
    d.preprocess = Preprocessing::from_json(j.contains("preprocess") ? j["preprocess"] : nlohmann::json(), source);
    if (j.contains("input_tap")) d.tap = checked_tap(j["input_tap"], source);  // older sidecars: images
    return d;
}

bool parse_metadata(const std::map<std::string, std::string>& metadata, const std::string& source,
                    ModelDescription& out) {
    const auto classes = metadata.find("cvtl.classes");
    if (classes == metadata.end()) return false;
    const auto preprocess = metadata.find("cvtl.preprocess");
    try {
        out.classes = nlohmann::json::parse(classes->second).get<std::vector<std::string>>();
        if (preprocess == metadata.end()) throw Error("no cvtl.preprocess entry");
        out.preprocess = Preprocessing::from_json(nlohmann::json::parse(preprocess->second), source);
        const auto tap = metadata.find("cvtl.tap");
        if (tap != metadata.end()) out.tap = checked_tap(tap->second, source);
    } catch (const nlohmann::json::exception& e) {
        throw Error(source + ": its cvtl metadata is malformed (" + std::string(e.what()) + "); re-export the model");
    } catch (const Error& e) {
        throw Error(source + ": its cvtl metadata is malformed (" + e.message() + "); re-export the model");
    }
    check_class_names(out.classes, source);
    return true;
}

}  // namespace cvtl
