#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: exec/cuda/detail_*.hpp are internal; include <cnnzoo/exec/cuda/kernels.hpp> from one .cu file"
#endif
// The device kernels: one grid-stride loop that runs any functor of functors.hpp, the
// per-channel partial sums behind BatchNorm and bias gradients, and a sum of squares.
#include <algorithm>

#include "functors.hpp"
#include "detail_runtime.hpp"

namespace cnnzoo::exec::cuda_detail {

inline constexpr int block_threads = 256;

template <class F>
__global__ void __launch_bounds__(block_threads) each_kernel(index_t n, F f) {
  const index_t stride = static_cast<index_t>(gridDim.x) * blockDim.x;
  for (index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) f(i);
}

// f(i) for every i < n, on the stream; launch errors name the op.
template <class F>
void launch_each(cudaStream_t stream, index_t n, const F& f, const char* op) {
  if (n == 0) return;
  const index_t blocks = std::min<index_t>((n + block_threads - 1) / block_threads, index_t{1} << 20);
  each_kernel<<<static_cast<unsigned>(blocks), block_threads, 0, stream>>>(n, f);
  check_cuda(cudaGetLastError(), op, "kernel launch");
}

template <class V>
__device__ V warp_sum(V v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}

// Sum over the block, valid in thread 0. blockDim.x is a multiple of 32 (block_threads). Starts
// with a barrier so that two calls in a row may share the scratch.
template <class V>
__device__ V block_sum(V v) {
  __shared__ V shared[32];
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  __syncthreads();
  v = warp_sum(v);
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = threadIdx.x < blockDim.x / 32 ? shared[lane] : V(0);
  if (warp == 0) v = warp_sum(v);
  return v;
}

// Block b = c * slices + s sums f over slice s of channel c's n * hw values (see channel_element).
template <class F>
__global__ void __launch_bounds__(block_threads)
    channel_partials_kernel(F f, index_t channels, index_t slices, index_t per_channel, index_t hw, sum2* partial) {
  const index_t c = blockIdx.x / slices, s = blockIdx.x % slices;
  const index_t chunk = (per_channel + slices - 1) / slices;
  const index_t begin = s * chunk, end = begin + chunk < per_channel ? begin + chunk : per_channel;
  float a = 0.0f, b = 0.0f;
  for (index_t j = begin + threadIdx.x; j < end; j += blockDim.x) {
    const sum2 v = f(channel_element(c, j, channels, hw), c);
    a += v.a;
    b += v.b;
  }
  a = block_sum(a);
  b = block_sum(b);
  if (threadIdx.x == 0) partial[blockIdx.x] = sum2{a, b};
}

// Enough blocks to fill a large GPU several times over, each with at least ~2k values.
inline index_t channel_slices(index_t channels, index_t per_channel) {
  const index_t want = (1024 + channels - 1) / channels;
  const index_t most = (per_channel + 2047) / 2048;
  return std::max<index_t>(1, std::min(want, most));
}

template <class F>
void launch_channel_partials(cudaStream_t stream, const F& f, index_t channels, index_t slices, index_t per_channel,
                             index_t hw, sum2* partial, const char* op) {
  if (channels == 0) return;
  channel_partials_kernel<<<static_cast<unsigned>(channels * slices), block_threads, 0, stream>>>(
      f, channels, slices, per_channel, hw, partial);
  check_cuda(cudaGetLastError(), op, "kernel launch");
}

// partial[b] = sum of x^2 over block b's grid-stride share, in double.
template <class U>
__global__ void __launch_bounds__(block_threads) sum_of_squares_kernel(const U* x, index_t n, double* partial) {
  const index_t stride = static_cast<index_t>(gridDim.x) * blockDim.x;
  double acc = 0;
  for (index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const double v = to_float(x[i]);
    acc += v * v;
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

inline index_t reduction_blocks(index_t n) {
  return std::max<index_t>(1, std::min<index_t>((n + block_threads - 1) / block_threads, 1024));
}

template <class U>
void launch_sum_of_squares(cudaStream_t stream, const U* x, index_t n, index_t blocks, double* partial) {
  sum_of_squares_kernel<<<static_cast<unsigned>(blocks), block_threads, 0, stream>>>(x, n, partial);
  check_cuda(cudaGetLastError(), "sum_of_squares", "kernel launch");
}

}  // namespace cnnzoo::exec::cuda_detail
