#pragma once
// The zoo at run time: every seed model by its table name, with its compile-time numbers and a
// factory for a type-erased network. Each model is registered from its own generated translation
// unit (zoo_entry.cpp.in), so the 31 network instantiations build in parallel.
#include <cstddef>
#include <functional>
#include <memory>
#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <cnnzoo/core/rng.hpp>
#include <cnnzoo/dist/communicator.hpp>
#include <cnnzoo/dist/gradient_exchange.hpp>
#include <cnnzoo/ops/render.hpp>
#include <cnnzoo/graph/model.hpp>
#include <cnnzoo/graph/part.hpp>
#include <cnnzoo/train/sgd.hpp>
#include <cnnzoo/ops/step_totals.hpp>

namespace cnnzoo::zoo {

// A row of zoo/models.tsv, the one table of the zoo.
struct table_row {
  std::string name;          // the seed table's spelling: "ResNet18", "SE-WideResNet_2"
  std::string type;          // the C++ type: "cnnzoo::models::resnet18"
  std::string header;        // "cnnzoo/models/resnet.hpp"
  int order = 0;             // row of the seed table
  int seed_batch = 128;      // the seed table's batch size and epochs
  int seed_epochs = 100;
  double seed_lr = 0.1;      // the default recipe's peak learning rate
  kernel_init seed_init = kernel_init::he_normal;  // the default recipe's kernel initializer
  double seed_accuracy = -1; // the seed table's accuracy in percent; < 0 where it has none
};

// A model of the zoo: its row, and what the type itself says.
struct model_info : table_row {
  std::size_t trainable = 0, keras_total = 0, flops = 0, activations = 0;
  shape input{};
};

// What the trainer needs of a network, whatever its model and policy.
class runner {
public:
  virtual ~runner() = default;
  virtual std::string device() const = 0;        // "cpu (onednn: oneDNN 2.6.3, AVX2 kernels, ..., 2 threads)", "cuda bf16 ..."
  virtual int batch_capacity() const = 0;
  virtual train::sgd_options& optimizer() = 0;
  virtual run_options& options() = 0;
  virtual rng& generator() = 0;
  // Training as cnnzoo-train does it: the training images (8-bit CHW, as the data set holds them)
  // and the normalization table (data::render_norm) go to the training device once; each step
  // then sends only its augmentation recipes (data::plan_batch), targets and labels, and the
  // device renders the batch (a GPU kernel on CUDA). On CUDA queue_step returns without waiting
  // for the GPU (the steps are CUDA graphs); on the CPU it runs the step at once.
  virtual void set_training_images(std::span<const std::uint8_t> pixels, std::span<const float> norm) = 0;
  virtual void queue_step(std::span<const ops::image_recipe> recipes, std::span<const float> targets,
                          std::span<const std::uint8_t> labels, std::int64_t step) = 0;
  // Loss, accuracy and non-finite steps since the last call (waits for queued steps).
  virtual ops::step_totals take_step_totals() = 0;
  // How many queue_step calls to let pass between reads of the totals: 1 on the CPU, where
  // reading is free; more on a GPU, where every read waits for it.
  virtual int steps_between_reads() const = 0;
  // How the steps ran, for the log ("" when there is nothing to say).
  virtual std::string step_status() const { return {}; }
  // Inference-mode logits (n x 10).
  virtual void predict(const float* images, int n, float* logits) = 0;
  // One forward pass (training or inference mode) and backward pass on host images against soft
  // targets (n x classes), as a training step computes them but without the update: returns the
  // mean loss and writes the logits (n x classes) and every parameter's gradient (the parameters'
  // layout). In training mode BatchNorm's running statistics advance, as in a step.
  virtual double loss_and_gradients(const float* images, int n, const float* targets, bool training, float* logits,
                                    std::vector<float>& gradients) = 0;
  // The flat buffers, as fp32 on the host, for checkpoints.
  virtual std::vector<float> params() const = 0;
  virtual std::vector<float> state() const = 0;
  virtual std::vector<float> velocity() const = 0;
  virtual void set_params(const std::vector<float>&) = 0;
  virtual void set_state(const std::vector<float>&) = 0;
  virtual void set_velocity(const std::vector<float>&) = 0;
  virtual const std::vector<tensor_entry>& tensors() const = 0;
  // Data-parallel training (include/cnnzoo/dist/): every step's gradients summed over the job's
  // ranks, and (--sync-bn) BatchNorm statistics over all ranks' images. False where this runner's
  // policy cannot (the CUDA runner: its gradients live on the GPU; dist/nccl.hpp is its engine).
  virtual bool set_gradient_exchange(dist::gradient_exchange* exchange) = 0;
  virtual bool set_batch_norm_sync(dist::communicator* ranks) = 0;
};

enum class device_kind { cpu, cuda };

struct runner_options {
  device_kind device = device_kind::cpu;
  std::string precision = "fp32";   // fp32 | tf32 | bf16 | fp16 (all but fp32 on CUDA only)
  int batch = 128;
  std::uint64_t seed = 0;
  int threads = 0;                  // CPU: 0 = all cores
  kernel_init init = kernel_init::he_normal;  // how kernels are drawn (graph/part.hpp)
};

struct entry {
  model_info info;
  std::function<void(std::ostream&, int depth)> summary;
  std::function<std::vector<tensor_entry>()> tensors;  // the tensor table, without building a network
  std::function<std::unique_ptr<runner>(const runner_options&)> make;
};

// All registered models in seed-table order.
const std::vector<const entry*>& models();
// By name, exactly or ignoring case and punctuation ("se-wideresnet" finds "SE-WideResNet");
// nullptr if none.
const entry* find(std::string_view name);
// True when this build has the CUDA policy and a GPU is present (--device auto picks it then).
bool cuda_usable();
// Registration, from the generated translation units.
struct registration {
  explicit registration(const entry* e);
};

}  // namespace cnnzoo::zoo
