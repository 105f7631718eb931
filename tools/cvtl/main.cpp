// cvtl: transfer learning on top of OpenCV DNN. A thin dispatcher; each verb lives in cmd_<verb>.cpp.
#include "tools/cvtl/commands.hpp"
#include "tools/cvtl/progress.hpp"

#include "pipeline/cache/open_files.hpp"
#include "pipeline/data/image_decode.hpp"
#include "pipeline/core/error.hpp"
#include "pipeline/dist/communicator.hpp"

#include <cvtl/version.hpp>

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace cvtl::cli {

std::array<double, 3> parse_triplet(const std::string& text, const std::string& flag) {
    std::array<double, 3> v{};
    std::stringstream in(text);
    std::string item;
    size_t n = 0;
    while (std::getline(in, item, ',')) {
        if (n == 3) break;
        try {
            size_t used = 0;
            v[n] = std::stod(item, &used);
            if (used != item.size()) throw std::invalid_argument(item);
        } catch (const std::exception&) {
            throw Error(flag + " expects three numbers A,B,C, got '" + text + "'");
        }
        ++n;
    }
    if (n != 3 || std::getline(in, item)) throw Error(flag + " expects three numbers A,B,C, got '" + text + "'");
    return v;
}

void add_weights_option(CLI::App* cmd, std::string& weights) {
    cmd->add_option(
        "--weights", weights,
        "Caffe weights (.caffemodel) when not next to the .prototxt (train, sweep, export: default the recorded file)");
}

void add_max_image_option(CLI::App* cmd, std::uint64_t& bytes) {
    cmd->add_option_function<double>(
        "--max-image-mb",
        [&bytes](double mb) {
            if (!(mb > 0) || mb > 1e6) throw Error("--max-image-mb must be in (0, 1e6], got " + std::to_string(mb));
            bytes = static_cast<std::uint64_t>(mb * 1048576.0);
        },
        "Skip image files larger than this many MiB (default " + std::to_string(kDefaultMaxImageBytes >> 20) + ")");
}

int fail(std::string message, int code) {
    // One line, whatever the message carried (OpenCV's messages span several).
    for (char& c : message)
        if (c == '\n' || c == '\r') c = ' ';
    std::fprintf(stderr, "cvtl: error: %s\n", message.c_str());
    return code;
}

std::string group_digits(long long value) {
    std::string s = std::to_string(value < 0 ? -value : value);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
    return value < 0 ? "-" + s : s;
}

std::string human_bytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
    return buf;
}

}  // namespace cvtl::cli

int run_cli(CLI::App& app, int argc, char** argv, const cvtl::Communicator& world);

int main(int argc, char** argv) {
    // OpenCV's warnings span several lines (a failed imdecode prints its source location); cvtl
    // reports what matters in its own one-line messages. OPENCV_LOG_LEVEL, when set, still decides.
    if (!std::getenv("OPENCV_LOG_LEVEL")) cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
    // A mapped cache keeps each of its row files open while it is read (pipeline/cache/open_files.hpp).
    cvtl::raise_open_files_limit();
    CLI::App app{"cvtl: transfer learning for VGG networks on top of OpenCV DNN"};
    app.set_version_flag("--version", std::string("cvtl ") + cvtl::kVersion + " (OpenCV " + CV_VERSION + ")");
    app.require_subcommand(1);
    cvtl::cli::add_inspect(app);
    cvtl::cli::add_pilot(app);
    cvtl::cli::add_extract(app);
    cvtl::cli::add_cache(app);
    cvtl::cli::add_train(app);
    cvtl::cli::add_sweep(app);
    cvtl::cli::add_export(app);
    cvtl::cli::add_predict(app);
    cvtl::cli::add_evaluate(app);
    // The error contract: every failure is one line "cvtl: error: ..." and an exit code per class
    // (README, "Errors"): 2 usage, 1 input (a file, an option value, the data), 3 internal.
    // Under mpirun every rank runs this same main (pipeline/dist/communicator.hpp); without it, MPI is
    // never touched.
    const cvtl::MpiSession mpi(argc, argv);
    const cvtl::Communicator world = cvtl::Communicator::world();
    const int code = run_cli(app, argc, argv, world);
    // A failure on some ranks only may leave others waiting in a collective: end the whole job.
    if (code == cvtl::cli::kExitFailedAlone) mpi.abort(cvtl::cli::kExitInput);
    return code;
}

int run_cli(CLI::App& app, int argc, char** argv, const cvtl::Communicator& world) {
    using cvtl::cli::fail;
    const auto fail_alone = [&](const std::string& message, int code) {
        if (!world.distributed()) return fail(message, code);
        fail("rank " + std::to_string(world.rank()) + " of " + std::to_string(world.size()) + ": " + message, code);
        return cvtl::cli::kExitFailedAlone;
    };
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return world.root() ? app.exit(e) : 0;
    } catch (const CLI::CallForAllHelp& e) {
        return world.root() ? app.exit(e) : 0;
    } catch (const CLI::CallForVersion& e) {
        return world.root() ? app.exit(e) : 0;
    } catch (const CLI::ParseError& e) {
        // Every rank parses the same command line: rank 0 reports.
        if (!world.root()) return cvtl::cli::kExitUsage;
        return fail(std::string(e.what()) + "; see cvtl --help or cvtl COMMAND --help", cvtl::cli::kExitUsage);
    } catch (const cvtl::SharedError& e) {
        // Every rank threw it together: one report, a normal end.
        if (!world.root()) return cvtl::cli::kExitInput;
        return fail(cvtl::cli::as_flags(e.message()), cvtl::cli::kExitInput);
    } catch (const cvtl::Error& e) {
        return fail_alone(cvtl::cli::as_flags(e.message()), cvtl::cli::kExitInput);
    } catch (const cv::Exception& e) {
        return fail_alone(
            "OpenCV could not process the input: " + e.err + (e.func.empty() ? "" : " (in " + e.func + ")"),
            cvtl::cli::kExitInput);
    } catch (const nlohmann::json::exception& e) {
        return fail_alone(std::string("malformed JSON in an input file: ") + e.what(), cvtl::cli::kExitInput);
    } catch (const std::bad_alloc&) {
        return fail_alone("out of memory; lower --batch or --memory, or use a machine with more memory",
                          cvtl::cli::kExitInternal);
    } catch (const std::exception& e) {
        return fail_alone(std::string("internal error: ") + e.what() + " (please report it with the command line)",
                          cvtl::cli::kExitInternal);
    }
    return 0;
}
