#include "pipeline/train/sweep_state.hpp"

#include "pipeline/core/atomic_file.hpp"
#include "pipeline/core/error.hpp"

#include <boost/filesystem.hpp>

#include <fstream>

namespace cvtl {
namespace fs = boost::filesystem;

namespace {

AbandonedTraining abandoned_from_json(const nlohmann::json& j, const std::string& state) {
    const std::string damaged =
        state + " is damaged (an abandoned training's record); pass {force} to start the sweep over";
    AbandonedTraining a;
    if (j.is_string())
        a.note = j.get<std::string>();
    else if (j.is_object() && j.contains("note") && j.at("note").is_string()) {
        a.note = j.at("note").get<std::string>();
        a.seconds = j.value("seconds", 0.0);
        a.epochs = j.value("epochs", 0);
    } else {
        throw Error(damaged);
    }
    if (a.note.rfind(kGateNote, 0) != 0 || a.note.size() > 1000 || !(a.seconds >= 0 && a.seconds < 1e9) ||
        a.epochs < 0 || a.epochs > 100000)
        throw Error(damaged);
    return a;
}

}  // namespace

nlohmann::json state_json(const nlohmann::json& settings, const std::vector<SweepTrial>& trials) {
    nlohmann::json folds_of = nlohmann::json::object(), abandoned = nlohmann::json::object();
    for (const auto& t : trials) {
        nlohmann::json folds = nlohmann::json::array();
        for (const auto& f : t.folds) folds.push_back(fold_json(f));
        folds_of[t.candidate.name] = folds;
        if (t.note.rfind(kGateNote, 0) == 0)
            abandoned[t.candidate.name] = {
                {"note", t.note}, {"seconds", t.stopped_seconds}, {"epochs", t.stopped_epochs}};
    }
    return {{"format", kStateFormat},
            {"version", kStateVersion},
            {"settings", settings},
            {"trials", folds_of},
            {"abandoned", abandoned}};
}

SavedSweep read_state(const std::string& dir, const nlohmann::json& settings) {
    const std::string state = dir + "/sweep.json";
    SavedSweep saved;
    if (!fs::exists(state)) return saved;
    nlohmann::json j;
    try {
        std::ifstream in(state);
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw Error(state + " is not valid JSON (" + e.what() + "); pass {force} to start the sweep over");
    }
    if (!j.is_object() || j.value("format", "") != kStateFormat || j.value("version", 0) != kStateVersion ||
        !j.contains("trials"))
        throw Error(state + " is not a cvtl sweep state of a known version; pass {force} to start the sweep over");
    if (j.value("settings", nlohmann::json()) != settings)
        throw Error(dir +
                    " holds a sweep with other settings (cache, model, folds, seed, batch, steps, precision, "
                    "candidates or the epoch gate); "
                    "pass {force} to start over, or another output directory");
    for (auto& [name, folds] : j.at("trials").items())
        for (const auto& f : folds) saved.folds[name].push_back(fold_from_json(f, state));
    // Trainings the epoch gate stopped (no fold result): not trained again on a resume.
    const nlohmann::json abandoned = j.value("abandoned", nlohmann::json::object());
    if (!abandoned.is_object())
        throw Error(state + " is damaged (its abandoned trainings); pass {force} to start the sweep over");
    for (const auto& [name, record] : abandoned.items()) saved.abandoned[name] = abandoned_from_json(record, state);
    return saved;
}

nlohmann::json fold_json(const SweepFold& f) {
    return {{"fold", f.fold},         {"val_accuracy", f.val_accuracy},
            {"val_loss", f.val_loss}, {"seconds", f.seconds},
            {"run", f.run},           {"trained_parameters", f.trained_parameters}};
}

SweepFold fold_from_json(const nlohmann::json& j, const std::string& file) {
    SweepFold f;
    try {
        f.fold = j.at("fold").get<int>();
        f.val_accuracy = j.at("val_accuracy").get<std::vector<double>>();
        f.val_loss = j.at("val_loss").get<std::vector<double>>();
        f.seconds = j.at("seconds").get<double>();
        f.run = j.at("run").get<std::string>();
        f.trained_parameters = j.at("trained_parameters").get<std::int64_t>();
    } catch (const nlohmann::json::exception& e) {
        throw Error(file + " is damaged (" + e.what() + "); pass {force} to start the sweep over");
    }
    for (double a : f.val_accuracy)
        if (!(a >= 0 && a <= 1))
            throw Error(file + " holds an accuracy outside [0, 1]; pass {force} to start the sweep over");
    if (f.val_loss.size() != f.val_accuracy.size() || f.fold < 0)
        throw Error(file + " is damaged (inconsistent fold record); pass {force} to start the sweep over");
    return f;
}

void write_json_atomically(const std::string& path, const nlohmann::json& j) {
    write_file_atomically(path, j.dump(1) + "\n");
}

std::uint64_t directory_bytes(const std::string& dir) {
    std::uint64_t bytes = 0;
    boost::system::error_code ec;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (fs::is_regular_file(it->path(), ec)) bytes += static_cast<std::uint64_t>(fs::file_size(it->path(), ec));
    return bytes;
}

}  // namespace cvtl
