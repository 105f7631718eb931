#pragma once
// The processes of one job and what they say to each other (MPI), as cvtl's library uses it.
//
// cvtl links Open MPI always, but a process that was not started by a launcher (mpirun, srun) never
// calls MPI: it is rank 0 of 1 and every collective below returns at once, so a plain `cvtl ...`
// behaves exactly as a program without MPI. Under a launcher, MpiSession initialises MPI and
// Communicator::world() is MPI_COMM_WORLD. mpi.h stays out of this header: apps that link libcvtl
// need no MPI headers.
#include "pipeline/core/error.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cvtl {

// An error that every rank of the job throws together (from_root, all_or_none): the ranks are in
// step, so a front end reports it once (rank 0) and ends normally.
class SharedError : public Error {
public:
    using Error::Error;
};

class Communicator {
public:
    Communicator() = default;     // one process: rank 0 of 1
    static Communicator world();  // every process of the job (one process without a launcher)

    int rank() const { return rank_; }
    int size() const { return size_; }
    bool distributed() const { return size_ > 1; }
    bool root() const { return rank_ == 0; }

    void barrier() const;
    void broadcast(std::string& text, int root = 0) const;
    void broadcast(float* data, std::size_t n, int root = 0) const;
    void sum(double* data, std::size_t n) const;  // in place, on every rank
    void sum(std::int64_t* data, std::size_t n) const;
    std::vector<std::string> gather_strings(const std::string& mine) const;  // every rank's, on every rank
    bool same(std::uint64_t value) const;                                    // whether every rank holds the same value

    // Runs `work` on the root alone and gives every rank its result, or makes every rank throw the
    // root's error: nobody is left waiting for a root that failed.
    std::string from_root(const std::function<std::string()>& work) const;
    // Every rank runs `work`; when any rank throws, every rank throws the lowest failing rank's
    // message (prefixed with its rank), so all ranks leave a collective step together.
    void all_or_none(const std::function<void()>& work) const;

private:
    Communicator(int rank, int size) : rank_(rank), size_(size) {}
    int rank_ = 0, size_ = 1;
};

// True when MPI was initialised with MPI_THREAD_SERIALIZED or more: any one thread at a time may call
// it (the gradient reducer's communication thread).
bool mpi_thread_level_serialized();

// True when a launcher started this process (Open MPI's mpirun, PMI/PMIx launchers such as srun).
bool launched_by_mpi();

// MPI for the life of a program's main: initialised when launched_by_mpi(), finalised at the end.
class MpiSession {
public:
    MpiSession(int& argc, char**& argv);
    ~MpiSession();
    MpiSession(const MpiSession&) = delete;
    MpiSession& operator=(const MpiSession&) = delete;
    bool active() const { return active_; }
    // Ends every rank of the job with `code`: for a failure other ranks may be waiting on.
    [[noreturn]] void abort(int code) const;

private:
    bool active_ = false;
};

}  // namespace cvtl
