#pragma once
// The CUDA execution policy: cuDNN convolutions, cuBLAS dense layers and cnnzoo's own kernels
// for everything else, on one stream of one GPU. The precision is part of the type:
//
//   cnnzoo::network<cnnzoo::models::resnet18, cnnzoo::exec::cuda<cnnzoo::bf16>> net{/*batch=*/512};
//
// value_type (activations and their gradients) is float, __nv_bfloat16 or __half; weight_type is
// float: the flat parameter, gradient and momentum buffers are fp32 master copies and BatchNorm
// statistics stay fp32. For bf16/fp16 the policy keeps a compute-dtype copy of the parameters,
// refreshed by the SGD update itself (network<> tells the policy where the parameters live
// through bind_parameters). fp16 training uses dynamic loss scaling inside the policy: dlogits
// from softmax_cross_entropy are multiplied by the scale, sgd_update divides it out, skips a step
// whose gradients are not finite and adapts the scale, all on the device.
//
// Building: this header and everything a model instantiates compile with any C++20 host
// compiler. The device code and the op bodies are in <cnnzoo/exec/cuda/kernels.hpp>, which
// exactly one .cu file of the program includes (it instantiates cuda<fp32>, cuda<bf16> and
// cuda<fp16>); link cudart, cublas and cudnn (CMake: cnnzoo::cuda).
//
// Layout: NCHW activations, the same as the Eigen policy, so every op's inputs and outputs can be
// compared value for value with the CPU reference. (NHWC, which Hopper's tensor-core
// convolutions prefer, is the next step; the parameter layout stays canonical either way.)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "../core/dtype.hpp"
#include "vocabulary.hpp"

#ifdef CNNZOO_CUDA_POLICY_INTERNAL   // already inside kernels.hpp
#include "cuda/detail_runtime.hpp"
#else
#define CNNZOO_CUDA_POLICY_INTERNAL
#include "cuda/detail_runtime.hpp"
#undef CNNZOO_CUDA_POLICY_INTERNAL
#endif

namespace cnnzoo::exec {

namespace cuda_detail {
template <class Precision> struct precision_traits;
template <> struct precision_traits<fp32> { using type = float; };
template <> struct precision_traits<bf16> { using type = __nv_bfloat16; };
template <> struct precision_traits<fp16> { using type = __half; };
template <class Precision> struct context;   // handles, stream, plans, scratch (kernels.hpp)
}  // namespace cuda_detail

// Run-time choices of the CUDA policy.
struct cuda_options {
  int device = 0;
  // fp32 only: let convolutions and GEMMs use TF32 tensor cores (about 1e-3 relative error):
  // cuDNN's default math, which allows TF32 for float data, and cuBLAS' FAST_TF32 compute type,
  // as PyTorch does with allow_tf32. Off by default so that fp32 matches the CPU tightly (cuDNN
  // FMA math, cuBLAS fp32 compute without TF32). cnnzoo-train's --precision tf32 is fp32 with this on.
  bool tf32 = false;
  // Refuse to start where the loaded cuDNN is older than the headers the program was compiled
  // with (cudnn_version.hpp); otherwise that is a warning. Another major version always refuses.
  bool require_supported_cudnn = false;
  // Largest cuDNN workspace a convolution algorithm may use; the workspace is allocated once.
  std::size_t workspace_limit = std::size_t{512} << 20;
  // fp16 only: initial loss scale (0: 65536), adapted unless dynamic_loss_scale is false (then a
  // step with non-finite gradients is still skipped, but the scale stays).
  double loss_scale = 0;
  bool dynamic_loss_scale = true;
  int loss_scale_growth_interval = 2000;
};

template <class Precision = fp32>
class cuda {
public:
  using precision = Precision;
  using value_type = typename cuda_detail::precision_traits<Precision>::type;  // activations
  using weight_type = float;                                                    // parameters, statistics
  static constexpr std::string_view name = std::is_same_v<Precision, fp32>   ? "cuda<fp32>"
                                           : std::is_same_v<Precision, bf16> ? "cuda<bf16>"
                                                                             : "cuda<fp16>";
  static constexpr bool nchw = true;
  template <class U> using buffer = cuda_detail::device_buffer<U>;

  // Selects the device and creates the stream and the cuDNN and cuBLAS handles; throws
  // cuda_error (with the reason) when there is no usable device.
  explicit cuda(cuda_options options = {});
  cuda(cuda&&) noexcept;
  cuda& operator=(cuda&&) noexcept;
  ~cuda();

  const cuda_options& options() const noexcept { return options_; }
  // The arithmetic the convolutions and GEMMs run, for labelling measurements.
  std::string_view math_mode() const noexcept {
    if constexpr (std::is_same_v<Precision, fp32>)
      return options_.tf32 ? "tf32 (fp32 data, TF32 tensor cores allowed)" : "fp32 (FMA, no TF32)";
    else if constexpr (std::is_same_v<Precision, bf16>) return "bf16 tensor cores, fp32 accumulation";
    else return "fp16 tensor cores, fp32 accumulation, loss scaling";
  }
  cudaStream_t stream() const noexcept { return stream_; }

  // ---- memory: device buffers; transfers wait until the data has arrived ----------------------
  template <class U> buffer<U> allocate(std::size_t count) const { return buffer<U>(count, stream_, "a network buffer"); }
  template <class U> void upload(U* dst, const U* host, std::size_t count) const {
    transfer(dst, host, count * sizeof(U), cudaMemcpyHostToDevice, "upload");
    if constexpr (std::is_same_v<U, weight_type>) note_parameter_write(dst, count);
  }
  template <class U> void download(U* host, const U* src, std::size_t count) const {
    transfer(host, src, count * sizeof(U), cudaMemcpyDeviceToHost, "download");
  }
  void synchronize() const;

  // ---- parameters ------------------------------------------------------------------------------
  // network<> calls this once: the flat parameter and gradient buffers. Weights inside that range
  // are read from the compute-dtype copy; others (a test calling an op directly) are converted on
  // the fly. After writing the parameters behind the policy's back (a kernel of your own), call
  // parameters_changed(); uploads and sgd_update keep the copy current by themselves.
  void bind_parameters(weight_type* params, weight_type* grads, std::size_t count);
  void parameters_changed() const noexcept;
  // How many cuDNN algorithm searches this process has run (all policies together): a geometry
  // is searched once per process, whatever the number of networks built (see algo_cache).
  static std::size_t algorithm_searches();
  // fp16: the current loss scale and how many steps were skipped for overflow (waits for the GPU).
  double loss_scale() const;
  long skipped_steps() const;

  // ---- convolution, normalisation, activation ----------------------------------------------------
  using T = value_type;
  using W = weight_type;
  void conv2d_forward(const conv_geometry& g, const T* x, const W* w, const W* b, T* y) const;
  void conv2d_backward(const conv_geometry& g, const T* x, const W* w, const T* dy, T* dx, W* dw, W* db) const;
  void batch_norm_forward(const batch_norm_geometry& g, bool training, const T* x, const W* gamma, const W* beta,
                          W* running_mean, W* running_var, W* save_mean, W* save_invstd, T* y) const;
  void batch_norm_backward(const batch_norm_geometry& g, bool training, const T* x, const W* gamma,
                           const W* save_mean, const W* save_invstd, const T* dy, T* dx, W* dgamma, W* dbeta) const;
  void activation_forward(activation a, std::size_t count, const T* x, T* y) const;
  void activation_backward(activation a, std::size_t count, const T* x, const T* y, const T* dy, T* dx) const;

  // ---- pooling, dense ------------------------------------------------------------------------------
  void pool_forward(pool_kind k, const pool_geometry& g, const T* x, T* y) const;
  void pool_backward(pool_kind k, const pool_geometry& g, const T* x, const T* dy, T* dx) const;
  void global_pool_forward(pool_kind k, int n, int c, int hw, const T* x, T* y) const;
  void global_pool_backward(pool_kind k, int n, int c, int hw, const T* x, const T* dy, T* dx) const;
  void dense_forward(int n, int in, int out, const T* x, const W* w, const W* b, T* y) const;
  void dense_backward(int n, int in, int out, const T* x, const W* w, const T* dy, T* dx, W* dw, W* db) const;
  // NCHW is already (c, h, w) feature order.
  void flatten_forward(int n, int c, int hw, const T* x, T* y) const { copy(std::size_t(n) * c * hw, x, y); }
  void flatten_backward(int n, int c, int hw, const T* dy, T* dx) const { copy(std::size_t(n) * c * hw, dy, dx); }

  // ---- elementwise and channel blocks ---------------------------------------------------------------
  void copy(std::size_t count, const T* x, T* y) const;
  void fill(std::size_t count, T value, T* y) const;
  void add(std::size_t count, const T* a, const T* b, T* y) const;
  void axpby(std::size_t count, T alpha, const T* x, T beta, T* y) const;
  void copy_channels(const channel_copy& b, const T* src, T* dst, bool accumulate) const;
  void dropout_forward(std::size_t count, float rate, std::uint64_t key, const T* x, T* mask, T* y) const;
  void multiply(std::size_t count, const T* x, const T* m, T* y) const;
  // Augmentation on the GPU: see exec::eigen::render_batch. recipes, pixels and norm are device memory.
  void render_batch(const ops::render_geometry& g, int n, const ops::image_recipe* recipes,
                    const std::uint8_t* pixels, const float* norm, T* out) const;

  // ---- channel permutations, broadcast scaling, Bernoulli masks (see exec::eigen) --------------------
  void shuffle_channels(int n, int c, int hw, int groups, const T* x, T* y) const;
  void scale_channels_forward(int n, int c, int hw, const T* x, const T* s, T* y) const;
  void scale_channels_backward(int n, int c, int hw, const T* x, const T* s, const T* dy, T* dx, T* ds,
                               bool accumulate) const;
  void bernoulli_mask(std::size_t count, float drop, bool rescale, std::uint64_t key, T* mask) const;

  // ---- attention: channel statistics, spatial scaling, softmax ------------------------------------------
  void channel_pool_forward(pool_kind k, int n, int c, int hw, const T* x, T* y) const;
  void channel_pool_backward(pool_kind k, int n, int c, int hw, const T* x, const T* dy, T* dx) const;
  void scale_spatial_forward(int n, int c, int hw, const T* x, const T* s, T* y) const;
  void scale_spatial_backward(int n, int c, int hw, const T* x, const T* s, const T* dy, T* dx, T* ds,
                              bool accumulate) const;
  void softmax_forward(const softmax_geometry& g, const T* x, T* y) const;
  void softmax_backward(const softmax_geometry& g, const T* y, const T* dy, T* dx) const;

  // ---- loss and optimiser -----------------------------------------------------------------------------
  // Returns the mean loss (waits for the GPU).
  double softmax_cross_entropy(int n, int classes, const T* logits, const T* targets, T* dlogits) const;
  // Over parameter-sized float buffers or activations (waits for the GPU).
  template <class U>
  double sum_of_squares(std::size_t count, const U* x) const {
    static_assert(std::is_same_v<U, W> || std::is_same_v<U, T>, "cnnzoo: sum_of_squares takes float or value_type");
    return sum_of_squares_impl(count, x, std::is_same_v<U, W>);
  }
  void sgd_update(std::size_t count, W* w, const W* grad, W* velocity, const W* decay_mask, double lr,
                  double momentum, double weight_decay, bool nesterov, double grad_scale) const;

  // ---- device steps: training steps that never wait for the host ---------------------------------------
  // After enable_device_steps() the step's learning rate, a seed XORed into every dropout and
  // drop-path key, and the step's number live in policy memory (staged by set_step_inputs);
  // loss_and_accuracy accumulates the loss, the correct predictions and the steps with a
  // non-finite loss there, and sgd_update_device takes the learning rate and the clipping factor
  // from there and leaves the parameters alone after a non-finite loss. Only take_step_totals
  // waits for the GPU. A step so queued launches the same work with the same arguments every
  // time, so it can be captured into a cuda_graph once and replayed (network::train_step_device).
  void enable_device_steps();
  bool device_steps_enabled() const noexcept;
  // Between set_device_step_active(true) and (false) (network::train_step_device), dropout and
  // drop-path keys are XORed with the step's seed from policy memory; outside, every policy draws
  // the same masks from the same keys.
  void set_device_step_active(bool on) const;
  // Asynchronous upload through page-locked staging memory: the host data may be reused at once.
  // finish_staging() ends a step's uploads; the next stage() waits only for those copies.
  void stage(void* device_dst, const void* host_src, std::size_t bytes);
  void set_step_inputs(double lr, std::uint64_t seed, std::int64_t step);
  void finish_staging();
  void loss_and_accuracy(int n, int classes, const T* logits, const T* targets, const std::uint8_t* labels,
                         T* dlogits) const;
  void sgd_update_device(std::size_t count, W* w, const W* grad, W* velocity, const W* decay_mask, double momentum,
                         double weight_decay, bool nesterov, double clip_norm) const;
  ops::step_totals take_step_totals();
  // Changes whenever scratch memory of a CUDA policy is reallocated: a graph captured before must
  // be captured again (it holds the old addresses).
  std::uint64_t memory_generation() const noexcept;
  // A graph replays no refresh of the 16-bit weight copy: call this before replaying one, in case
  // the parameters were written since (an upload); it does nothing when the copy is current.
  void refresh_compute_weights() const;

private:
  void transfer(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, const char* op) const;
  void note_parameter_write(const W* dst, std::size_t count) const noexcept;
  double sum_of_squares_impl(std::size_t count, const void* x, bool is_weight) const;
  void sgd_launch(std::size_t count, W* w, const W* grad, W* velocity, const W* decay_mask, double lr, double momentum,
                  double weight_decay, bool nesterov, double grad_scale, bool device_step, bool clip = false) const;

  cuda_options options_;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<cuda_detail::context<Precision>> ctx_;
};

}  // namespace cnnzoo::exec
