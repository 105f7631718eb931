#pragma once
#include "pipeline/data/image_decode.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace cvtl {

enum class Split : std::uint8_t { Train = 0, Val = 1, Test = 2 };

struct Sample {
    std::string path;  // as stored in the cache: relative to the dataset root, or as the CSV wrote it
    int label = 0;     // index into Dataset::classes
    Split split = Split::Train;
};

struct Dataset {
    std::string source;                                     // the folder or CSV the user named
    std::string root;                                       // where relative sample paths are resolved
    std::vector<std::string> classes;                       // sorted
    std::vector<Sample> samples;                            // deterministic order: by class, then by path
    std::uint64_t max_image_bytes = kDefaultMaxImageBytes;  // how many bytes of one file decoding may read

    std::string file(const Sample& s) const;  // readable path of a sample
    std::string fingerprint() const;          // changes when any path, label or split changes
};

struct ScanOptions {
    double val_fraction = 0.1;  // per class, for samples whose split the source does not give
    std::uint32_t seed = 0;
    std::uint64_t max_image_bytes = kDefaultMaxImageBytes;  // larger files are skipped, not read
    double test_fraction = 0;  // like val_fraction, held out for testing; val_fraction + test_fraction < 1
};

// Scans a class-per-folder tree (DATA/<class>/<image>, nested folders allowed) or a CSV of
// path,label[,split] (split: train|val|test or 0|1|2; a header line is optional). When the source
// gives no split, a sample is validation when split_draw(seed, path) < val_fraction and test when
// split_draw >= 1 - test_fraction: a function of the sample alone, so adding or removing images never
// moves another image between splits, the same seed gives the same split on any machine, and a test
// share taken later leaves the validation images where they were. Each class keeps at least one
// training sample.
// Throws cvtl::Error naming the folder or line when the source is unusable (e.g. an empty class).
Dataset scan_dataset(const std::string& source, const ScanOptions& options);

// "train"/"val"/"test" (or 0/1/2, "valid", "validation"; any case); throws cvtl::Error naming `where`.
Split parse_split(const std::string& text, const std::string& where);

// A sample's uniform draw in [0, 1): the top 53 bits of
// splitmix64(splitmix64(0x73706C6974 ^ seed) ^ fnv1a64(path)).
double split_draw(std::uint32_t seed, const std::string& path);

// File extensions treated as images, lower case with the dot.
const std::vector<std::string>& image_extensions();

}  // namespace cvtl
