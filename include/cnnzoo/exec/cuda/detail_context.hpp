#pragma once
#ifndef CNNZOO_CUDA_POLICY_INTERNAL
#error "cnnzoo: exec/cuda/detail_*.hpp are internal; include <cnnzoo/exec/cuda/kernels.hpp> from one .cu file"
#endif
// What one CUDA policy object owns: its stream, the cuDNN and cuBLAS handles, the convolution
// plans (descriptors and algorithms, chosen once per geometry by timing them), the cuDNN
// workspace, grow-only scratch, the compute-dtype copy of the parameters and the loss-scale state.
#include <cublas_v2.h>
#include <cudnn.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "../cuda.hpp"
#include "detail_kernels.hpp"

namespace cnnzoo::exec::cuda_detail {

// ---- status checks ---------------------------------------------------------------------------------

template <class What>
[[noreturn]] void throw_library_error(const char* library, const char* status, const char* op, What&& what,
                                      const std::string& detail) {
  std::string w = what();
  throw cuda_error(std::string("cnnzoo: ") + library + " error in " + op + (w.empty() ? "" : " (" + w + ")") + ": " +
                   status + (detail.empty() ? "" : ": " + detail));
}

// `what` is a callable giving the geometry, so the description is only built on failure.
template <class What>
void check_cudnn(cudnnStatus_t s, const char* op, What&& what) {
  if (s == CUDNN_STATUS_SUCCESS) return;
  char detail[512] = {};
  cudnnGetLastErrorString(detail, sizeof detail);
  throw_library_error("cuDNN", cudnnGetErrorString(s), op, what, detail);
}
inline void check_cudnn(cudnnStatus_t s, const char* op) {
  check_cudnn(s, op, [] { return std::string{}; });
}

template <class What>
void check_cublas(cublasStatus_t s, const char* op, What&& what) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  throw_library_error("cuBLAS", cublasGetStatusName(s), op, what, cublasGetStatusString(s));
}
inline void check_cublas(cublasStatus_t s, const char* op) {
  check_cublas(s, op, [] { return std::string{}; });
}

// ---- element types -----------------------------------------------------------------------------------

template <class T> constexpr cudnnDataType_t cudnn_type() {
  if constexpr (std::is_same_v<T, float>) return CUDNN_DATA_FLOAT;
  else if constexpr (std::is_same_v<T, __nv_bfloat16>) return CUDNN_DATA_BFLOAT16;
  else return CUDNN_DATA_HALF;
}
template <class T> constexpr cudaDataType_t blas_type() {
  if constexpr (std::is_same_v<T, float>) return CUDA_R_32F;
  else if constexpr (std::is_same_v<T, __nv_bfloat16>) return CUDA_R_16BF;
  else return CUDA_R_16F;
}

// ---- cuDNN descriptors that destroy themselves ---------------------------------------------------------

struct tensor_descriptor {
  cudnnTensorDescriptor_t d = nullptr;
  tensor_descriptor() { check_cudnn(cudnnCreateTensorDescriptor(&d), "cudnnCreateTensorDescriptor"); }
  ~tensor_descriptor() { if (d) cudnnDestroyTensorDescriptor(d); }
  tensor_descriptor(const tensor_descriptor&) = delete;
  tensor_descriptor& operator=(const tensor_descriptor&) = delete;
};
struct filter_descriptor {
  cudnnFilterDescriptor_t d = nullptr;
  filter_descriptor() { check_cudnn(cudnnCreateFilterDescriptor(&d), "cudnnCreateFilterDescriptor"); }
  ~filter_descriptor() { if (d) cudnnDestroyFilterDescriptor(d); }
  filter_descriptor(const filter_descriptor&) = delete;
  filter_descriptor& operator=(const filter_descriptor&) = delete;
};
struct convolution_descriptor {
  cudnnConvolutionDescriptor_t d = nullptr;
  convolution_descriptor() { check_cudnn(cudnnCreateConvolutionDescriptor(&d), "cudnnCreateConvolutionDescriptor"); }
  ~convolution_descriptor() { if (d) cudnnDestroyConvolutionDescriptor(d); }
  convolution_descriptor(const convolution_descriptor&) = delete;
  convolution_descriptor& operator=(const convolution_descriptor&) = delete;
};

// Activations sit at arbitrary offsets of the arena, so two layers of one geometry may hand cuDNN
// differently aligned pointers, and an algorithm chosen for 16-byte-aligned tensors need not run
// on 2-byte-aligned ones. The plan is therefore keyed by the geometry and by the alignment (2, 4,
// 8 or 16 bytes) common to the pointers of the call.
inline int alignment_of(std::initializer_list<const void*> pointers) {
  std::uintptr_t bits = 16;
  for (const void* p : pointers) bits |= reinterpret_cast<std::uintptr_t>(p);
  return static_cast<int>(bits & (~bits + 1));   // the lowest set bit
}

using conv_key = std::array<int, 17>;
inline conv_key key_of(const conv_geometry& g, int alignment) {
  return {g.n, g.c, g.h, g.w, g.k, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.groups, g.oh, g.ow, alignment};
}

// One convolution geometry: descriptors, and per direction the algorithm and its workspace. Each
// direction has its own convolution descriptor because the math type cuDNN reports for the
// chosen algorithm is set on it.
struct conv_plan {
  conv_key key{};
  tensor_descriptor x, y;
  filter_descriptor w;
  convolution_descriptor forward_conv, data_conv, filter_conv;
  bool have_forward = false, have_data = false, have_filter = false;
  cudnnConvolutionFwdAlgo_t forward_algo{};
  cudnnConvolutionBwdDataAlgo_t data_algo{};
  cudnnConvolutionBwdFilterAlgo_t filter_algo{};
  std::size_t forward_bytes = 0, data_bytes = 0, filter_bytes = 0;
};

// cuDNN's exhaustive search (cudnnFind*AlgorithmEx) runs every algorithm of a geometry, which
// takes milliseconds to seconds; a benchmark or a test that builds several networks of one model
// would repeat it for each, spending GPU time on searching. The choices are therefore kept once
// per process, keyed by everything that decides them: the geometry and the pointers' alignment,
// the direction, the data type, the math type asked for, the device and the workspace limit.
enum class conv_direction { forward, backward_data, backward_filter };
struct algo_key {
  conv_key geometry{};
  conv_direction direction{};
  int dtype = 0, math = 0, device = 0;
  std::size_t workspace_limit = 0;
  auto operator<=>(const algo_key&) const = default;
};
struct algo_choice {
  int algo = 0;
  std::size_t bytes = 0;
  cudnnMathType_t math{};
};
class algo_cache {
public:
  static algo_cache& instance() {
    static algo_cache cache;
    return cache;
  }
  std::optional<algo_choice> find(const algo_key& k) {
    const std::lock_guard<std::mutex> lock(mutex_);
    const auto it = choices_.find(k);
    if (it == choices_.end()) return std::nullopt;
    ++hits_;
    return it->second;
  }
  void store(const algo_key& k, const algo_choice& c) {
    const std::lock_guard<std::mutex> lock(mutex_);
    choices_[k] = c;
    ++searches_;
  }
  std::size_t searches() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return searches_;
  }
  std::size_t hits() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return hits_;
  }

private:
  mutable std::mutex mutex_;
  std::map<algo_key, algo_choice> choices_;
  std::size_t searches_ = 0, hits_ = 0;
};

// Counts reallocations of the policies' scratch memory: a captured CUDA graph holds the
// addresses it was captured with, so one captured before a reallocation must be captured again.
inline std::atomic<std::uint64_t> memory_generation{0};

// Device memory that grows to the largest request and is then reused.
template <class U>
struct scratch {
  device_buffer<U> buf;
  const char* what;
  explicit scratch(const char* w) : what(w) {}
  U* get(std::size_t count, cudaStream_t stream) {
    if (buf.size() < count) {
      // Inside a graph capture the memory cannot change (the capture then fails and the caller
      // runs the step eagerly); nothing is freed before that is known.
      cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
      check_cuda(cudaStreamIsCapturing(stream, &capturing), "cudaStreamIsCapturing");
      if (capturing != cudaStreamCaptureStatusNone)
        throw cuda_error(std::string("cnnzoo: ") + what + " would grow from " + std::to_string(buf.size()) + " to " +
                         std::to_string(count) + " values inside a CUDA graph capture");
      ++memory_generation;   // before freeing: a graph holding the old address must not replay
      buf = device_buffer<U>();   // free first, so the old and the new need not fit together
      buf = device_buffer<U>(count, stream, what);
    }
    return buf.data();
  }
};

// Page-locked memory that a step's uploads are staged in, and the event after their copies.
struct staging_area {
  pinned_buffer memory;
  cudaEvent_t copied = nullptr;
  bool pending = false;
};

template <class Precision>
struct context {
  using T = typename precision_traits<Precision>::type;
  static constexpr bool half_precision = !std::is_same_v<T, float>;
  static constexpr bool loss_scaling = std::is_same_v<Precision, fp16>;

  cuda_options opt;
  cudaStream_t stream = nullptr;
  cudnnHandle_t cudnn = nullptr;
  cublasHandle_t cublas = nullptr;

  // The flat parameters and gradients network<> bound, and the compute-dtype copy of the former.
  float* params = nullptr;
  float* grads = nullptr;
  std::size_t count = 0;
  device_buffer<T> work;
  bool stale = true;

  scratch<T> weights_tmp{"weights converted to the compute type"};
  scratch<T> weight_grad_tmp{"a weight gradient in the compute type"};
  scratch<sum2> partial{"per-channel partial sums"};
  scratch<float> coef{"BatchNorm backward coefficients"};
  scratch<double> reduce{"reduction partials"};
  device_buffer<std::byte> workspace;
  device_buffer<loss_scale_state> ls;
  scaled_gradients scaled;   // which gradients carry the fp16 loss scale (the rule: loss_functors.hpp)
  std::vector<double> host_reduce;
  std::map<conv_key, std::unique_ptr<conv_plan>> plans;

  // Device steps (cuda::enable_device_steps): the step's inputs and totals, per-row scratch, a
  // fixed cuBLAS workspace (cuBLAS must not allocate inside a graph capture) and the staging area.
  device_buffer<device_step> step;
  device_buffer<std::byte> cublas_workspace;
  scratch<double> step_rows{"per-row losses"};
  scratch<unsigned char> step_correct{"per-row correctness"};
  scratch<double> clip_partial{"gradient-norm partial sums"};
  staging_area staging[2];   // alternate halves: one step's uploads may wait while the next is staged
  int staging_side = 0;
  std::size_t staging_used = 0;   // bytes of the current step in staging[staging_side]
  bool device_step_active = false;   // inside network::train_step_device: keys take the step's seed
  const device_step* step_state() const noexcept { return step.empty() ? nullptr : step.data(); }
  const std::uint64_t* active_step_seed() const noexcept {
    return device_step_active && !step.empty() ? &step.data()->in.seed : nullptr;
  }

  explicit context(const cuda_options& o) : opt(o) {
    check_cuda(cudaSetDevice(o.device), "cudaSetDevice", "device " + std::to_string(o.device));
    check_cuda(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
    check_cudnn(cudnnCreate(&cudnn), "cudnnCreate");
    check_cudnn(cudnnSetStream(cudnn, stream), "cudnnSetStream");
    check_cublas(cublasCreate(&cublas), "cublasCreate");
    check_cublas(cublasSetStream(cublas, stream), "cublasSetStream");
    ls = device_buffer<loss_scale_state>(1, stream, "the loss-scale state");
    loss_scale_state init;
    init.scale = static_cast<float>(loss_scaling ? (o.loss_scale > 0 ? o.loss_scale : 65536.0) : 1.0);
    init.inv_scale = 1.0f / init.scale;
    check_cuda(cudaMemcpyAsync(ls.data(), &init, sizeof init, cudaMemcpyHostToDevice, stream), "loss-scale init");
    check_cuda(cudaStreamSynchronize(stream), "loss-scale init");
  }
  ~context() {
    if (stream) (void)cudaStreamSynchronize(stream);
    for (staging_area& a : staging)
      if (a.copied) (void)cudaEventDestroy(a.copied);
    if (cublas) cublasDestroy(cublas);
    if (cudnn) cudnnDestroy(cudnn);
    plans.clear();
    if (stream) (void)cudaStreamDestroy(stream);
  }
  context(const context&) = delete;
  context& operator=(const context&) = delete;

  bool bound(const float* p, std::size_t n) const noexcept {
    return params && p >= params && p + n <= params + count;
  }
  bool overlaps_params(const float* p, std::size_t n) const noexcept {
    return params && p < params + count && p + n > params;
  }

  // The weights w[0..n) in the compute type: the float buffer itself for fp32, the bound copy
  // (refreshed if the parameters changed) or a fresh conversion into `tmp` otherwise.
  const T* weights(const float* w, std::size_t n, scratch<T>& tmp) {
    if constexpr (!half_precision) {
      return w;
    } else {
      if (bound(w, n)) {
        refresh();
        return work.data() + (w - params);
      }
      T* t = tmp.get(n, stream);
      launch_each(stream, n, convert_fn<float, T>{w, t}, "convert weights");
      return t;
    }
  }
  void refresh() {
    if constexpr (half_precision) {
      if (!stale) return;
      launch_each(stream, count, convert_fn<float, T>{params, work.data()}, "refresh compute-dtype weights");
      stale = false;
    }
  }

  // The workspace at its limit, allocated once: any chosen algorithm's needs fit in it.
  std::byte* full_workspace() {
    if (workspace.size() < opt.workspace_limit) {
      ++memory_generation;
      workspace = device_buffer<std::byte>();
      workspace = device_buffer<std::byte>(opt.workspace_limit, stream, "the cuDNN workspace");
    }
    return workspace.data();
  }

  cudnnMathType_t math_type() const {
    if constexpr (half_precision) return CUDNN_TENSOR_OP_MATH;
    else return opt.tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
  }

  conv_plan& plan(const conv_geometry& g, int alignment) {
    const conv_key key = key_of(g, alignment);
    auto [it, fresh] = plans.try_emplace(key);
    if (!fresh) return *it->second;
    try {
      auto p = std::make_unique<conv_plan>();
      p->key = key;
      const auto what = [&] { return g.describe(); };
      const cudnnDataType_t dt = cudnn_type<T>();
      check_cudnn(cudnnSetTensor4dDescriptor(p->x.d, CUDNN_TENSOR_NCHW, dt, g.n, g.c, g.h, g.w), "conv input descriptor", what);
      check_cudnn(cudnnSetTensor4dDescriptor(p->y.d, CUDNN_TENSOR_NCHW, dt, g.n, g.k, g.oh, g.ow), "conv output descriptor", what);
      check_cudnn(cudnnSetFilter4dDescriptor(p->w.d, dt, CUDNN_TENSOR_NCHW, g.k, g.c / g.groups, g.kh, g.kw),
                  "conv filter descriptor", what);
      for (cudnnConvolutionDescriptor_t cd : {p->forward_conv.d, p->data_conv.d, p->filter_conv.d}) {
        check_cudnn(cudnnSetConvolution2dDescriptor(cd, g.ph, g.pw, g.sh, g.sw, g.dh, g.dw, CUDNN_CROSS_CORRELATION,
                                                    CUDNN_DATA_FLOAT),
                    "conv descriptor", what);
        check_cudnn(cudnnSetConvolutionGroupCount(cd, g.groups), "conv group count", what);
        check_cudnn(cudnnSetConvolutionMathType(cd, math_type()), "conv math type", what);
      }
      int n = 0, c = 0, h = 0, w = 0;
      check_cudnn(cudnnGetConvolution2dForwardOutputDim(p->forward_conv.d, p->x.d, p->w.d, &n, &c, &h, &w),
                  "conv output size", what);
      if (n != g.n || c != g.k || h != g.oh || w != g.ow)
        throw cuda_error("cnnzoo: cuDNN computes a " + std::to_string(n) + "x" + std::to_string(c) + "x" +
                         std::to_string(h) + "x" + std::to_string(w) + " output for " + g.describe() +
                         ", which the layer does not expect");
      it->second = std::move(p);
    } catch (...) {
      plans.erase(it);
      throw;
    }
    return *it->second;
  }

  // The fastest algorithm per direction, measured by cuDNN on the real buffers the first time this
  // process meets the geometry (the search writes the output, which the caller computes next
  // anyway), and taken from the process-wide algo_cache after that.
  algo_key algo_key_for(const conv_plan& p, conv_direction d) const {
    return {p.key, d, static_cast<int>(cudnn_type<T>()), static_cast<int>(math_type()), opt.device, opt.workspace_limit};
  }
  template <class Algo>
  bool take_cached(conv_plan& p, conv_direction d, cudnnConvolutionDescriptor_t cd, Algo& algo, std::size_t& bytes) {
    const std::optional<algo_choice> hit = algo_cache::instance().find(algo_key_for(p, d));
    if (!hit) return false;
    full_workspace();
    algo = static_cast<Algo>(hit->algo);
    bytes = hit->bytes;
    check_cudnn(cudnnSetConvolutionMathType(cd, hit->math), "conv math type");
    return true;
  }
  template <class Perf, class Algo>
  void keep(conv_plan& p, conv_direction d, cudnnConvolutionDescriptor_t cd, const Perf& best, Algo& algo,
            std::size_t& bytes) {
    algo = best.algo;
    bytes = best.memory;
    check_cudnn(cudnnSetConvolutionMathType(cd, best.mathType), "conv math type");
    algo_cache::instance().store(algo_key_for(p, d), {static_cast<int>(best.algo), best.memory, best.mathType});
  }

  void choose_forward(conv_plan& p, const conv_geometry& g, const T* x, const T* w, T* y) {
    if (p.have_forward) return;
    const conv_direction d = conv_direction::forward;
    if (!take_cached(p, d, p.forward_conv.d, p.forward_algo, p.forward_bytes)) {
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      int found = 0;
      std::byte* ws = full_workspace();
      check_cudnn(cudnnFindConvolutionForwardAlgorithmEx(cudnn, p.x.d, x, p.w.d, w, p.forward_conv.d, p.y.d, y,
                                                         CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf, ws,
                                                         workspace.size()),
                  "conv2d_forward algorithm search", [&] { return g.describe(); });
      keep(p, d, p.forward_conv.d, perf[first_usable(perf, found, g, "forward")], p.forward_algo, p.forward_bytes);
    }
    p.have_forward = true;
  }
  void choose_data(conv_plan& p, const conv_geometry& g, const T* w, const T* dy, T* dx) {
    if (p.have_data) return;
    const conv_direction d = conv_direction::backward_data;
    if (!take_cached(p, d, p.data_conv.d, p.data_algo, p.data_bytes)) {
      cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      int found = 0;
      std::byte* ws = full_workspace();
      check_cudnn(cudnnFindConvolutionBackwardDataAlgorithmEx(cudnn, p.w.d, w, p.y.d, dy, p.data_conv.d, p.x.d, dx,
                                                              CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &found, perf, ws,
                                                              workspace.size()),
                  "conv2d_backward (data) algorithm search", [&] { return g.describe(); });
      keep(p, d, p.data_conv.d, perf[first_usable(perf, found, g, "backward-data")], p.data_algo, p.data_bytes);
    }
    p.have_data = true;
  }
  void choose_filter(conv_plan& p, const conv_geometry& g, const T* x, const T* dy, T* dw) {
    if (p.have_filter) return;
    const conv_direction d = conv_direction::backward_filter;
    if (!take_cached(p, d, p.filter_conv.d, p.filter_algo, p.filter_bytes)) {
      cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      int found = 0;
      std::byte* ws = full_workspace();
      check_cudnn(cudnnFindConvolutionBackwardFilterAlgorithmEx(cudnn, p.x.d, x, p.y.d, dy, p.filter_conv.d, p.w.d, dw,
                                                                CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &found, perf,
                                                                ws, workspace.size()),
                  "conv2d_backward (filter) algorithm search", [&] { return g.describe(); });
      keep(p, d, p.filter_conv.d, perf[first_usable(perf, found, g, "backward-filter")], p.filter_algo,
           p.filter_bytes);
    }
    p.have_filter = true;
  }

  template <class Perf>
  int first_usable(const Perf* perf, int found, const conv_geometry& g, const char* direction) const {
    for (int i = 0; i < found; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= workspace.size()) return i;
    throw cuda_error(std::string("cnnzoo: cuDNN has no ") + direction + " algorithm for " + g.describe() + " in " +
                     dtype_name() + " within the " + mib(workspace.size()) +
                     " workspace limit (cuda_options::workspace_limit)");
  }
  static const char* dtype_name() {
    if constexpr (std::is_same_v<T, float>) return "fp32";
    else if constexpr (std::is_same_v<T, __nv_bfloat16>) return "bf16";
    else return "fp16";
  }
};

}  // namespace cnnzoo::exec::cuda_detail
