#pragma once
// The HDF5 activation cache: every name and the format version live here (docs/architecture.md, "Cache format").

#include <string>

namespace cvtl::cache {

// Where an unfinished extraction keeps its sealed segments (see CacheWriter).
inline std::string parts_dir(const std::string& path) { return path + ".parts"; }
// A finished cache of several segments maps them where they were sealed, in PATH.rows-XXXXXXXX/
// (cache_rows.hpp): a name of its own per extraction, so that --force keeps the old cache whole until
// the new one replaces it.
inline constexpr const char* kRowsDirInfix = ".rows-";

inline constexpr const char* kFormat = "cvtl-cache";
// Version 2 added per-row file stamps (/samples/size, mtime_ns, sha256) and augmented views
// (/views); version 1 caches are still read, but neither resumed nor updated.
inline constexpr int kVersion = 2;
inline constexpr int kOldestReadable = 1;

// Root attributes.
inline constexpr const char* kAttrFormat = "format";
inline constexpr const char* kAttrVersion = "version";
inline constexpr const char* kAttrModelSha256 = "model_sha256";
inline constexpr const char* kAttrModelFile = "model_file";
inline constexpr const char* kAttrModelWeights = "model_weights";  // Caffe only: the .caffemodel read with model_file
inline constexpr const char* kAttrPreprocess = "preprocess";       // JSON
inline constexpr const char* kAttrTaps = "taps";                   // JSON list of {name, layer, shape}
inline constexpr const char* kAttrDtype = "dtype";                 // "f32" or "f16"
inline constexpr const char* kAttrPrecision = "precision";         // "f32" or "bf16": the network's arithmetic
inline constexpr const char* kAttrCompression = "compression";     // "none" or "shuffle+deflate"
inline constexpr const char* kAttrDataset = "dataset";             // the folder or CSV extracted
inline constexpr const char* kAttrDatasetFingerprint = "dataset_fingerprint";
inline constexpr const char* kAttrDatasetSize = "dataset_size";  // entries scanned, written or skipped
inline constexpr const char* kAttrSplit = "split";               // JSON {val_fraction, seed, rule[, test_fraction]}
inline constexpr const char* kAttrViews = "views";               // JSON {count, augment, seed} (version 2)
inline constexpr const char* kAttrShard = "shard";               // a shard file: JSON ShardRecord (shards.hpp)
inline constexpr const char* kAttrShards = "shards";             // a merged cache: JSON list of its shard files
inline constexpr const char* kAttrSegments = "segments";         // a cache of several segments: JSON list of them
inline constexpr const char* kAttrOpenCvVersion = "opencv_version";
inline constexpr const char* kAttrCvtlVersion = "cvtl_version";
inline constexpr const char* kAttrCreated = "created";
inline constexpr const char* kAttrComplete = "complete";

// Values of kAttrCompression.
inline constexpr const char* kCompressionNone = "none";
inline constexpr const char* kCompressionDeflate = "shuffle+deflate";

// Datasets and groups.
inline constexpr const char* kSamplesGroup = "/samples";
inline constexpr const char* kSamplesPath = "/samples/path";
inline constexpr const char* kSamplesLabel = "/samples/label";
inline constexpr const char* kSamplesSplit = "/samples/split";
inline constexpr const char* kSamplesSize = "/samples/size";       // bytes of the file (version 2)
inline constexpr const char* kSamplesMtime = "/samples/mtime_ns";  // its modification time
inline constexpr const char* kSamplesSha256 = "/samples/sha256";   // hex digest of its content
inline constexpr const char* kClasses = "/classes";
inline constexpr const char* kTapsGroup = "/taps";
inline constexpr const char* kSkippedGroup = "/skipped";
inline constexpr const char* kSkippedPath = "/skipped/path";  // files that could not be decoded
inline constexpr const char* kSkippedReason = "/skipped/reason";
inline constexpr const char* kProgress = "/progress";
// Augmented views 1..K-1 of the training rows (version 2): view 0 of every row is /taps itself.
// View rows are stored in row order, the K-1 views of a row together, each naming its row.
inline constexpr const char* kViewsGroup = "/views";
inline constexpr const char* kViewsSample = "/views/sample";  // int64: the row in /samples
inline constexpr const char* kViewsIndex = "/views/view";     // uint8: 1..K-1
inline constexpr const char* kViewTapsGroup = "/views/taps";  // one dataset per tap, like /taps

// /progress attributes; advanced only after the rows they count are flushed.
inline constexpr const char* kAttrDone = "done";        // rows in /samples and /taps
inline constexpr const char* kAttrNextInput = "next";   // dataset entries consumed (written + skipped)
inline constexpr const char* kAttrSkipped = "skipped";  // rows in /skipped
inline constexpr const char* kAttrViewRows = "views";   // rows in /views (version 2)

// The name of a dataset inside its group ("/samples/path" -> "path"): datasets are created by this
// name in their group, and read by their full path.
constexpr const char* leaf(const char* path) {
    const char* name = path;
    for (const char* c = path; *c; ++c)
        if (*c == '/') name = c + 1;
    return name;
}

// A tap's dataset in /taps or /views/taps.
inline std::string tap_path(const std::string& group, const std::string& tap) { return group + "/" + tap; }

// Tap dataset attributes.
inline constexpr const char* kAttrTapLayer = "source_layer";
inline constexpr const char* kAttrTapShape = "shape";

}  // namespace cvtl::cache
