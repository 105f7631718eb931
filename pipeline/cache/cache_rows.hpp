#pragma once
// Where a finished cache of several segments keeps its rows: the directory PATH.rows-XXXXXXXX beside
// it, named in the cache's "segments" attribute (cache_map.hpp). Each extraction gets a directory of
// its own, so a cache being replaced stays whole until its replacement is renamed over it; then its
// directory is removed.
#include <string>
#include <vector>

namespace cvtl {

// A new, unused rows directory name for the cache at `cache` (not created). Throws cvtl::Error when
// the folder cannot be searched.
std::string new_rows_dir(const std::string& cache);

// The rows directories the file at `cache` maps, as paths this process opens: those of its listed
// segments that are CACHE.rows-XXXXXXXX beside it (never any other path the file might name, nor
// another cache's rows: a copy of the file shares them). Empty when `cache` is absent, unreadable,
// not a cache, or a single file. Never throws.
std::vector<std::string> rows_dirs_of(const std::string& cache);

// The segment files the file at `cache` lists that are not there, as it names them (relative to it).
std::vector<std::string> missing_segments(const std::string& cache);

// Completes a mapped commit a kill cut short (CacheWriter::finish): when CACHE.tmp is a whole map
// of segments whose rows directory exists (the segments were moved, CACHE.tmp not yet renamed), it
// is renamed over `cache`, and the replaced cache's rows are removed. Anything else at CACHE.tmp is
// left to whoever writes it next: a map whose segments have not moved yet (the extraction resumes and
// maps again), a partial copy, update or merge. Whoever writes CACHE.tmp calls this first, so that a
// finished extraction is never overwritten.
void finish_interrupted_map(const std::string& cache);

// Removes each of `dirs` except `keep`. Never throws: a directory that cannot be removed only costs disk.
void remove_rows_dirs(const std::vector<std::string>& dirs, const std::string& keep = "");

}  // namespace cvtl
