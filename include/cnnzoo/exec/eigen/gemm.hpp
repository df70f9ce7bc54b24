#pragma once
#include "common.hpp"
// The one matrix product the CPU kernels call (convolution and dense layers): row-major
// C = op(A) op(B) (+ C), with leading dimensions, so that a kernel can multiply blocks of larger
// buffers in place.
//
// Two engines, chosen when the program is built:
//  - Eigen's GEMM, compiled into the caller: its instruction set is the compiler's target, so a
//    portable build (x86-64 baseline, SSE2) multiplies at a fraction of what an AVX2 or AVX-512
//    machine can do.
//  - oneDNN's sgemm (CNNZOO_HAVE_ONEDNN, fp32 only), which generates its kernel at run time for
//    the CPU it finds: the same binary runs AVX-512 code on a machine that has it and AVX2 or SSE4.1
//    code elsewhere. The build defines CNNZOO_HAVE_ONEDNN where Debian's libdnnl-dev is found.
// Both are deterministic for a fixed thread count and CPU: called inside one of the kernels'
// OpenMP regions a product runs on the calling thread; called outside, it spreads over the team.
// fp64 (the reference) always takes Eigen's path.
#include <string>
#include <type_traits>

#ifdef CNNZOO_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#include <stdexcept>
#endif

namespace cnnzoo::exec::eigen_detail {

enum class accumulate : bool { no, yes };

// C (m x n, rows ldc apart) = op(A) * op(B), or += with accumulate::yes. op(A) is m x k: A is
// stored m x k (lda) or, transposed, k x m (lda); op(B) is k x n likewise. Eigen's engine.
template <class T>
void eigen_gemm(bool trans_a, bool trans_b, std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, const T* a,
                std::ptrdiff_t lda, const T* b, std::ptrdiff_t ldb, T* c, std::ptrdiff_t ldc, accumulate acc) {
  using stride = Eigen::OuterStride<>;
  using const_map = Eigen::Map<const row_matrix<T>, Eigen::Unaligned, stride>;
  Eigen::Map<row_matrix<T>, Eigen::Unaligned, stride> cm(c, m, n, stride(ldc));
  // A stored transposed is a column-major view of the same memory: no copy either way.
  auto product = [&](const auto& am) {
    if (trans_b) {
      const const_map bm(b, n, k, stride(ldb));
      if (acc == accumulate::yes) cm.noalias() += am * bm.transpose();
      else cm.noalias() = am * bm.transpose();
    } else {
      const const_map bm(b, k, n, stride(ldb));
      if (acc == accumulate::yes) cm.noalias() += am * bm;
      else cm.noalias() = am * bm;
    }
  };
  if (trans_a) product(const_map(a, k, m, stride(lda)).transpose());
  else product(const_map(a, m, k, stride(lda)));
}

// The same product by the build's engine: oneDNN's for float where the build has it, else Eigen's.
template <class T>
void gemm(bool trans_a, bool trans_b, std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, const T* a,
          std::ptrdiff_t lda, const T* b, std::ptrdiff_t ldb, T* c, std::ptrdiff_t ldc, accumulate acc) {
#ifdef CNNZOO_HAVE_ONEDNN
  if constexpr (std::is_same_v<T, float>) {
    const dnnl_status_t s = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, 1.0f, a, lda, b, ldb,
                                       acc == accumulate::yes ? 1.0f : 0.0f, c, ldc);
    if (s != dnnl_success)
      throw std::runtime_error("cnnzoo: oneDNN's sgemm failed (status " + std::to_string(static_cast<int>(s)) +
                               ") on a " + std::to_string(m) + "x" + std::to_string(k) + " by " + std::to_string(k) +
                               "x" + std::to_string(n) + " product");
    return;
  }
#endif
  eigen_gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, acc);
}

// Which engine gemm<float> runs, for the programs' first line and the benchmarks' context.
inline std::string gemm_engine() {
#ifdef CNNZOO_HAVE_ONEDNN
  const dnnl_version_t* v = dnnl_version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
         " sgemm (instruction set chosen at run time)";
#else
  return "Eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
         std::to_string(EIGEN_MINOR_VERSION) + " GEMM (" + Eigen::SimdInstructionSetsInUse() +
         ", fixed when compiled)";
#endif
}

}  // namespace cnnzoo::exec::eigen_detail
