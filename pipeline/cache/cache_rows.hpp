#pragma once
// Where a finished cache of several segments keeps its rows: the directory PATH.rows-XXXXXXXX beside
// it, named in the cache's "segments" attribute (cache_map.hpp). Each extraction gets a directory of
// its own, so a cache being replaced stays whole until its replacement is renamed over it; then its
// directory is removed.
#include <string>
#include <vector>

namespace cvtl {

// A new, unused rows directory name for the cache at `cache` (not created).
std::string new_rows_dir(const std::string& cache);

// The rows directories the file at `cache` maps, as paths this process opens: those of its listed
// segments whose name is a rows directory of a cache in the same folder (never any other path the
// file might name). Empty when `cache` is absent, not a cache, or a single file.
std::vector<std::string> rows_dirs_of(const std::string& cache);

// The segment files the file at `cache` lists that are not there, as it names them (relative to it).
std::vector<std::string> missing_segments(const std::string& cache);

// Removes each of `dirs` except `keep`. Never throws: a directory that cannot be removed only costs disk.
void remove_rows_dirs(const std::vector<std::string>& dirs, const std::string& keep = "");

// Removes the cache file at `cache` and the rows directories it maps.
void remove_cache_file(const std::string& cache);

}  // namespace cvtl
