#pragma once
// One scan of the dataset for every rank: rank 0 scans it and broadcasts the sample list, so all
// ranks agree on the global order and split even if their views of the filesystem lag (and a
// 20-million-file folder is listed once, not N times).
#include "pipeline/data/dataset.hpp"
#include "pipeline/dist/communicator.hpp"

#include <functional>
#include <string>

namespace cvtl {

// Runs `scan` on rank 0 and returns its dataset on every rank (every rank throws rank 0's error).
Dataset scan_on_root(const Communicator& comm, const std::function<Dataset()>& scan);

// The wire format: length-prefixed fields, so any path (commas, newlines) survives.
std::string dataset_to_bytes(const Dataset& data);
// Throws cvtl::Error when `bytes` is not a whole dataset.
Dataset dataset_from_bytes(const std::string& bytes);

}  // namespace cvtl
