#pragma once
// The MPI engine of dist::communicator: the ranks of MPI_COMM_WORLD, as `mpirun -np N program`
// starts them (link MPI::MPI_CXX; cnnzoo's CMake does where MPI is found, CNNZOO_MPI).
//
//   int main(int argc, char** argv) {
//     cnnzoo::dist::mpi_session mpi(argc, argv);   // MPI_Init_thread ... MPI_Finalize
//     cnnzoo::dist::mpi_world ranks;
//     ...
//   }
//
// Sums are MPI_Allreduce with MPI_SUM. MPI recommends, and Open MPI's algorithms give, the same
// result on every rank; with two ranks this is exact by construction (a + b == b + a), and the
// trainer checks the weights' identity across ranks after every epoch anyway.
// A failing MPI call throws dist_error with MPI's own text. Errors that must end the whole job
// (one rank cannot go on) go through abort(), which stops every rank at once: the other ranks
// would otherwise wait forever in their next collective.
#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <span>
#include <string>

#include "communicator.hpp"

namespace cnnzoo::dist {

namespace mpi_detail {
inline void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw dist_error(std::string("cnnzoo: ") + what + " failed: " + std::string(text, static_cast<std::size_t>(len)));
}
// MPI counts are ints: larger spans go in pieces.
template <class T, class F>
void in_pieces(std::span<T> values, F&& f) {
  constexpr std::size_t most = std::numeric_limits<int>::max() / 2;
  for (std::size_t first = 0; first < values.size(); first += most)
    f(values.data() + first, static_cast<int>(std::min(most, values.size() - first)));
}
}  // namespace mpi_detail

// MPI's lifetime: initialised with MPI_THREAD_FUNNELED (OpenMP threads compute, the main thread
// communicates), errors returned rather than fatal so they reach the program as dist_error.
class mpi_session {
public:
  mpi_session(int& argc, char**& argv) {
    int provided = 0;
    mpi_detail::check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (provided < MPI_THREAD_FUNNELED) {
      MPI_Finalize();
      throw dist_error("cnnzoo: this MPI library does not allow OpenMP threads beside MPI (MPI_THREAD_FUNNELED)");
    }
  }
  ~mpi_session() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
  mpi_session(const mpi_session&) = delete;
  mpi_session& operator=(const mpi_session&) = delete;
};

class mpi_world final : public communicator {
public:
  mpi_world() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;
    mpi_detail::check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
                      "MPI_Comm_split_type");
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(version, &len);
    std::string v(version, static_cast<std::size_t>(len));
    if (const auto end = v.find_first_of(",\n"); end != std::string::npos) v.resize(end);
    engine_ = "mpi (" + v + ")";
  }

  int rank() const noexcept override { return rank_; }
  int size() const noexcept override { return size_; }
  int local_size() const noexcept override { return local_size_; }
  std::string engine() const override { return engine_; }

  void sum(std::span<float> values) override { sum_as(values, MPI_FLOAT); }
  void sum(std::span<double> values) override { sum_as(values, MPI_DOUBLE); }
  void broadcast(std::span<std::byte> bytes, int root) override {
    mpi_detail::in_pieces(bytes, [&](std::byte* p, int n) {
      mpi_detail::check(MPI_Bcast(p, n, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
    });
  }

  // Ends every rank of the job with `exit_code` (the launcher reports which rank asked).
  [[noreturn]] static void abort(int exit_code) {
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);
  }

private:
  template <class T>
  void sum_as(std::span<T> values, MPI_Datatype type) {
    mpi_detail::in_pieces(values, [&](T* p, int n) {
      mpi_detail::check(MPI_Allreduce(MPI_IN_PLACE, p, n, type, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
    });
  }

  int rank_ = 0, size_ = 1, local_size_ = 1;
  std::string engine_;
};

}  // namespace cnnzoo::dist
