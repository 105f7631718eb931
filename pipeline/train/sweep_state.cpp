#include "pipeline/train/sweep_state.hpp"

#include "pipeline/core/atomic_file.hpp"
#include "pipeline/core/error.hpp"

#include <boost/filesystem.hpp>

#include <fstream>

namespace cvtl {

namespace fs = boost::filesystem;

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
