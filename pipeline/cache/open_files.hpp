#pragma once
// How many files this process may hold open. HDF5 keeps every source file of a virtual dataset open
// once read, and reads a source it cannot open (past the limit: EMFILE) as the fill value: a mapped
// cache of more row files than the limit allows would read as zeros in silence.
#include <cstdint>

namespace cvtl {

// The soft limit (RLIMIT_NOFILE); UINT64_MAX when unlimited or unknown.
std::uint64_t open_files_limit();

// Raises the soft limit to the hard one (the most an unprivileged process may take). For a
// program's main: it changes the whole process. Failure leaves the limit as it was.
void raise_open_files_limit();

// Files a process keeps for everything but a cache's row files (its own, the model, images, HDF5's).
inline constexpr std::uint64_t kOpenFilesReserve = 64;

}  // namespace cvtl
