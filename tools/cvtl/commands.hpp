#pragma once
#include <CLI/CLI.hpp>

#include <array>
#include <cstdint>
#include <string>

namespace cvtl::cli {

// One function per subcommand: each registers its options and its callback on `app`.
void add_inspect(CLI::App& app);
void add_extract(CLI::App& app);
void add_cache(CLI::App& app);
void add_train(CLI::App& app);
void add_export(CLI::App& app);
void add_predict(CLI::App& app);
void add_evaluate(CLI::App& app);
void add_sweep(CLI::App& app);
void add_pilot(CLI::App& app);

// "A,B,C" -> three numbers; throws cvtl::Error naming `flag` otherwise.
std::array<double, 3> parse_triplet(const std::string& text, const std::string& flag);

// --max-image-mb M: the per-image file-size limit, stored in bytes.
void add_max_image_option(CLI::App* cmd, std::uint64_t& bytes);

// --weights FILE: a Caffe model's .caffemodel when it is not next to its .prototxt. Every command
// that reads a source model takes it; train, sweep and export default to the recorded one.
void add_weights_option(CLI::App* cmd, std::string& weights);

// Exit codes of the error contract.
inline constexpr int kExitInput = 1, kExitUsage = 2, kExitInternal = 3;
// Not an exit code: main's signal that one rank of an mpirun job failed alone (it ends the job).
inline constexpr int kExitFailedAlone = -1;

// Prints `message` as one line "cvtl: error: ..." on stderr and returns `code`.
int fail(std::string message, int code);

// Thousands separators for counts: 25088 -> "25,088".
std::string group_digits(long long value);

// 1536 -> "1.5 KiB"
std::string human_bytes(double bytes);

}  // namespace cvtl::cli
