#pragma once
// Every file a user keeps (models, sidecars, run state, sweep and pilot state, caches) is replaced
// atomically and durably: written beside its target as PATH.tmp, flushed to the disk (fsync),
// renamed over PATH, and the directory entry flushed too. A reader, a kill or a power cut then
// finds the old file or the new one, never an empty or partial one (rename alone is atomic against
// kills but, without the fsyncs, a power cut can leave a renamed file with no data).
#include <string>

namespace cvtl {

// Writes `bytes` to PATH.tmp and commits it (below). Throws cvtl::Error naming PATH; the old file stays.
void write_file_atomically(const std::string& path, const std::string& bytes);

// For a temporary written by another library (HDF5): fsync `tmp`, rename it over `path`, fsync the
// directory. Throws cvtl::Error naming `path`.
void commit_file(const std::string& tmp, const std::string& path);

// fsync of a file or directory. Throws cvtl::Error naming it.
void sync_path(const std::string& path);

}  // namespace cvtl
