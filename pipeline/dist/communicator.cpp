#include "pipeline/dist/communicator.hpp"

#include "pipeline/core/error.hpp"

#include <mpi.h>

#include <cstdlib>
#include <limits>

namespace cvtl {
namespace {

bool g_active = false;  // MpiSession initialised MPI
bool g_serialized = false;

// MPI counts are int: larger buffers go in pieces.
constexpr std::size_t kPiece = static_cast<std::size_t>(std::numeric_limits<int>::max() / 2);

template <class T>
void in_pieces(T* data, std::size_t n, const std::function<void(T*, int)>& call) {
    for (std::size_t at = 0; at < n; at += kPiece) call(data + at, static_cast<int>(std::min(kPiece, n - at)));
}

void check(int rc, const char* what) {
    if (rc != MPI_SUCCESS) throw Error(std::string("MPI ") + what + " failed (error " + std::to_string(rc) + ")");
}

}  // namespace

bool mpi_thread_level_serialized() { return g_active && g_serialized; }

bool launched_by_mpi() {
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
        if (std::getenv(v)) return true;
    return false;
}

Communicator Communicator::world() {
    if (!g_active) return {};
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return {rank, size};
}

void Communicator::barrier() const {
    if (distributed()) check(MPI_Barrier(MPI_COMM_WORLD), "barrier");
}

void Communicator::broadcast(std::string& text, int from) const {
    if (!distributed()) return;
    auto n = static_cast<std::uint64_t>(text.size());
    check(MPI_Bcast(&n, 1, MPI_UINT64_T, from, MPI_COMM_WORLD), "broadcast");
    text.resize(n);
    in_pieces<char>(text.data(), n,
                    [&](char* p, int k) { check(MPI_Bcast(p, k, MPI_CHAR, from, MPI_COMM_WORLD), "broadcast"); });
}

void Communicator::broadcast(float* data, std::size_t n, int from) const {
    if (!distributed()) return;
    in_pieces<float>(data, n,
                     [&](float* p, int k) { check(MPI_Bcast(p, k, MPI_FLOAT, from, MPI_COMM_WORLD), "broadcast"); });
}

void Communicator::sum(double* data, std::size_t n) const {
    if (!distributed()) return;
    in_pieces<double>(data, n, [&](double* p, int k) {
        check(MPI_Allreduce(MPI_IN_PLACE, p, k, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "allreduce");
    });
}

void Communicator::sum(std::int64_t* data, std::size_t n) const {
    if (!distributed()) return;
    in_pieces<std::int64_t>(data, n, [&](std::int64_t* p, int k) {
        check(MPI_Allreduce(MPI_IN_PLACE, p, k, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD), "allreduce");
    });
}

std::vector<std::string> Communicator::gather_strings(const std::string& mine) const {
    std::vector<std::string> all(static_cast<std::size_t>(size_));
    all[static_cast<std::size_t>(rank_)] = mine;
    for (int r = 0; r < size_ && distributed(); ++r) broadcast(all[static_cast<std::size_t>(r)], r);
    return all;
}

bool Communicator::same(std::uint64_t value) const {
    if (!distributed()) return true;
    std::uint64_t low = 0, high = 0;
    check(MPI_Allreduce(&value, &low, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD), "allreduce");
    check(MPI_Allreduce(&value, &high, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD), "allreduce");
    return low == high;
}

std::string Communicator::from_root(const std::function<std::string()>& work) const {
    std::string payload, error;
    if (root()) {
        try {
            payload = work();
        } catch (const Error& e) {
            error = e.message();
        } catch (const std::exception& e) {  // cv::Exception, JSON: a message is all the other ranks need
            error = e.what();
        }
    }
    if (!distributed()) {
        if (!error.empty()) throw Error(error);
        return payload;
    }
    std::string failed = error.empty() ? "" : "1";
    broadcast(failed);
    if (!failed.empty()) {
        broadcast(error);
        throw SharedError(error);
    }
    broadcast(payload);
    return payload;
}

void Communicator::all_or_none(const std::function<void()>& work) const {
    std::string error;
    try {
        work();
    } catch (const SharedError&) {
        throw;  // every rank threw it together already (a nested all_or_none or from_root)
    } catch (const Error& e) {
        error = e.message();
    } catch (const std::exception& e) {
        error = e.what();
    }
    if (!distributed()) {
        if (!error.empty()) throw Error(error);
        return;
    }
    int mine = error.empty() ? size_ : rank_, first = size_;
    check(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "allreduce");
    if (first == size_) return;
    broadcast(error, first);
    throw SharedError(first == 0 ? error : "rank " + std::to_string(first) + ": " + error);
}

MpiSession::MpiSession(int& argc, char**& argv) {
    if (!launched_by_mpi()) return;
    int provided = 0;
    // SERIALIZED: the main thread and the gradient reducer's thread take turns; oneTBB and OpenMP
    // threads never call MPI.
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) return;
    active_ = g_active = true;
    g_serialized = provided >= MPI_THREAD_SERIALIZED;
}

MpiSession::~MpiSession() {
    if (active_) MPI_Finalize();
    g_active = false;
}

void MpiSession::abort(int code) const {
    if (active_) MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);
}

}  // namespace cvtl
