#pragma once
// The one training step of cnnzoo: render the batch, forward, loss, backward, optimiser, totals.
//
//   cnnzoo::network<cnnzoo::models::resnet18, cnnzoo::exec::eigen<float>> net{32};
//   cnnzoo::train::trainer trainer{net};
//   trainer.options().lr = 0.05;
//   double loss = trainer.train_step(images, labels, 32);   // host NCHW floats, labels 0..9
//
// Two ways in, on any execution policy:
//  - host data: train_step (integer labels, optional label smoothing), train_step_soft (soft
//    targets), train_step_on_input (the images already in net.input()). Each runs one step now
//    and returns its mean loss; a non-finite loss leaves the parameters alone.
//  - the way cnnzoo-train trains: set_images() once (the 8-bit images and the normalisation table
//    go to policy memory), then per step queue() a batch plan (data/batch_plan.hpp: augmentation
//    recipes, soft targets, labels), and take() the loss and accuracy totals now and then. The
//    policy renders the batch (render_batch). On a policy with device steps (CUDA) queue() never
//    waits for the device: the learning rate and the dropout seed are staged into policy memory,
//    and the loss, the accuracy count and any non-finite step accumulate there.
// train::graph_trainer (train/graph_step.hpp) is this step captured once into a CUDA graph and
// replayed: the same staging and the same body, launched as one graph.
//
// The trainer owns the optimiser (train::sgd, with its momentum); the network owns the
// parameters, their gradients and the passes.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../data/batch_plan.hpp"
#include "../dist/gradient_exchange.hpp"
#include "../graph/network.hpp"
#include "../ops/policy.hpp"
#include "../ops/step_totals.hpp"
#include "sgd.hpp"

namespace cnnzoo::train {

template <class Net>
class trainer {
public:
  using network_type = Net;
  using policy = typename Net::policy_type;
  using T = value_t<policy>;
  using W = weight_t<policy>;
  static constexpr int classes = Net::classes;
  // Steps that never wait for the host (CUDA): loss and accuracy accumulate in policy memory.
  static constexpr bool device_steps = ops::device_step_policy<policy>;

  explicit trainer(Net& net) : net_(net), sgd_(net.policy(), Net::param_count()) {
    if constexpr (device_steps) {
      policy& p = net_.policy();
      if (!p.device_steps_enabled()) p.enable_device_steps();
      labels_ = p.template allocate<std::uint8_t>(static_cast<std::size_t>(net_.batch_capacity()));
      recipes_ = p.template allocate<ops::image_recipe>(static_cast<std::size_t>(net_.batch_capacity()));
    }
  }
  virtual ~trainer() = default;
  trainer(const trainer&) = delete;
  trainer& operator=(const trainer&) = delete;

  Net& network() noexcept { return net_; }
  sgd<policy>& optimizer() noexcept { return sgd_; }
  const sgd<policy>& optimizer() const noexcept { return sgd_; }
  sgd_options& options() noexcept { return sgd_.options(); }

  // Data-parallel training (dist/gradient_exchange.hpp): every step's gradients are summed over the
  // job's ranks before the update, so every rank takes the same step. nullptr: this process alone.
  // Host-memory policies only (the CPU); the exchange must outlive the trainer's steps.
  // Each rank draws its own dropout masks: the step's seed (one draw of the network's generator,
  // so the generators of all ranks stay equal) XOR a key of the rank (0 for rank 0).
  void set_gradient_exchange(dist::gradient_exchange* exchange) {
    if (exchange && device_steps)
      throw std::logic_error("cnnzoo: the gradient exchange sums host memory; this policy keeps gradients on a device");
    exchange_ = exchange;
    seed_key_ = exchange ? 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(exchange->ranks().rank()) : 0;
  }

  // ---- host data: one step now ---------------------------------------------------------------------
  // Hard labels 0..classes-1 with label smoothing eps.
  double train_step(const float* images, const int* labels, int n, double label_smoothing = 0.0) {
    net_.check_batch(n);
    std::vector<T>& t = host_targets_;
    t.assign(static_cast<std::size_t>(n) * classes, static_cast<T>(label_smoothing / classes));
    for (int i = 0; i < n; ++i) {
      if (labels[i] < 0 || labels[i] >= classes)
        throw std::out_of_range("cnnzoo: label " + std::to_string(labels[i]) + " of image " + std::to_string(i) +
                                " is outside 0.." + std::to_string(classes - 1));
      t[static_cast<std::size_t>(i) * classes + static_cast<std::size_t>(labels[i])] += static_cast<T>(1.0 - label_smoothing);
    }
    return train_step_soft(images, t.data(), n);
  }
  // Soft targets (n x classes rows summing to 1, e.g. from mixup).
  double train_step_soft(const float* images, const T* targets, int n) {
    net_.set_input(images, n);
    return train_step_on_input(targets, n);
  }
  // On the n images already in net.input() (written there by the policy's render_batch, say).
  double train_step_on_input(const T* targets, int n) {
    net_.set_targets(targets, n);
    policy& p = net_.policy();
    const bool was = net_.training();
    net_.set_training(true);
    const T* z = net_.forward_seeded(n, net_.generator()() ^ seed_key_);
    const double loss = p.softmax_cross_entropy(n, classes, z, net_.targets(), net_.dlogits());
    if (exchange_ && exchange_->loss_weight() != 1.0) {   // this rank's share of an unevenly split batch
      const T w = static_cast<T>(exchange_->loss_weight());
      p.axpby(static_cast<std::size_t>(n) * classes, w, net_.dlogits(), T(0), net_.dlogits());
    }
    net_.backward(net_.dlogits(), n);
    net_.set_training(was);
    double scale = 1.0;
    if constexpr (!device_steps) {   // set_gradient_exchange refuses device policies
      if (exchange_) {
        // Every rank learns here whether any rank's loss was non-finite, so all skip together.
        const double global = exchange_->reduce(std::span<W>(net_.grads(), Net::param_count()), loss);
        if (!std::isfinite(global)) return global;
        scale = exchange_->grad_scale();
      }
    }
    if (!std::isfinite(loss)) return loss;   // the caller decides; the parameters are untouched
    sgd_.step(p, net_.params(), net_.grads(), net_.decay_mask(), scale);
    return loss;
  }

  // ---- batch plans: the trainer's way -----------------------------------------------------------------
  // The training images (8-bit CHW, the data set's bytes) and data::render_norm's table, copied
  // to policy memory once.
  void set_images(std::span<const std::uint8_t> pixels, std::span<const float> norm) {
    constexpr shape in = Net::input_shape;
    data::check_training_images(pixels, norm, in.c, in.size());
    policy& p = net_.policy();
    p.synchronize();   // queued steps may still read the old images
    pixels_ = p.template allocate<std::uint8_t>(pixels.size());
    p.upload(pixels_.data(), pixels.data(), pixels.size());
    norm_ = p.template allocate<float>(norm.size());
    p.upload(norm_.data(), norm.data(), norm.size());
    image_count_ = pixels.size() / in.size();
    ++images_generation_;
  }

  // One step on the batch the recipes describe (data::plan_batch), with soft targets
  // (n x classes) and true labels; `step` numbers it in the totals, `lr` is its learning rate.
  // On the CPU it runs now; with device steps it is queued.
  virtual void queue(std::span<const ops::image_recipe> recipes, std::span<const float> targets,
                     std::span<const std::uint8_t> labels, std::int64_t step, double lr) {
    if constexpr (device_steps) {
      device_step_body(stage(recipes, targets, labels, step, lr));
    } else {
      const int n = check_plan(recipes, targets, labels);
      options().lr = lr;
      host_step(recipes, targets, labels, step, n);
    }
  }

  // Loss, accuracy and non-finite steps of the queued steps since the last call (waits for them).
  ops::step_totals take() {
    if constexpr (device_steps) return net_.policy().take_step_totals();
    else return std::exchange(totals_, ops::step_totals{});
  }
  // How the steps ran ("" when there is nothing to say).
  virtual std::string status() const { return {}; }

  // ---- one device step (device_step_policy) --------------------------------------------------------
  // One step on input() and targets(), with `labels` (n bytes in policy memory) for the accuracy
  // count, that never waits for the device: the loss, accuracy and any non-finite step accumulate
  // in the policy (take), the learning rate comes from its step inputs, and a step with a
  // non-finite loss leaves the parameters alone. It queues the same work every time, so it can be
  // captured into a CUDA graph. Dropout and drop-path masks take their randomness from the step's
  // seed in policy memory (the host-side key is fixed at 0), so a replayed graph draws new masks
  // every step, and eager and replayed steps draw the same ones. A step with a non-finite loss
  // still updates the BatchNorm running statistics in its forward pass, as on the CPU.
  void train_step_device(int n, const std::uint8_t* labels)
    requires device_steps
  {
    net_.check_batch(n);
    policy& p = net_.policy();
    struct scope {
      policy& p;
      Net& net;
      bool was;
      ~scope() {
        p.set_device_step_active(false);
        net.set_training(was);
      }
    } guard{p, net_, net_.training()};
    p.set_device_step_active(true);
    net_.set_training(true);
    net_.forward_seeded(n, 0);
    p.loss_and_accuracy(n, classes, net_.logits(n), net_.targets(), labels, net_.dlogits());
    net_.backward(net_.dlogits(), n);
    sgd_.step_device(p, net_.params(), net_.grads(), net_.decay_mask());
  }

  // The two halves of a queued device step, which graph_trainer captures: the step's recipes,
  // targets, labels, learning rate and seed, checked and staged asynchronously into policy memory
  // (returns the batch size) ...
  int stage(std::span<const ops::image_recipe> recipes, std::span<const float> targets,
            std::span<const std::uint8_t> labels, std::int64_t step, double lr)
    requires device_steps
  {
    const int n = check_plan(recipes, targets, labels);
    options().lr = lr;
    policy& p = net_.policy();
    host_targets_.assign(targets.begin(), targets.end());   // to the compute type
    p.stage(recipes_.data(), recipes.data(), recipes.size_bytes());
    p.stage(net_.targets(), host_targets_.data(), host_targets_.size() * sizeof(T));
    p.stage(labels_.data(), labels.data(), labels.size_bytes());
    p.set_step_inputs(lr, net_.generator()(), step);
    p.finish_staging();
    return n;
  }
  // ... and the body: render the staged batch and run the step, the same launches every time.
  void device_step_body(int n)
    requires device_steps
  {
    constexpr shape in = Net::input_shape;
    net_.policy().render_batch(ops::render_geometry{in.c, in.h, in.w}, n, recipes_.data(), pixels_.data(),
                               norm_.data(), net_.input());
    train_step_device(n, labels_.data());
  }

protected:
  // The checks every queued step passes; returns n.
  int check_plan(std::span<const ops::image_recipe> recipes, std::span<const float> targets,
                 std::span<const std::uint8_t> labels) const {
    const int n = static_cast<int>(recipes.size());
    if (image_count_ == 0) throw std::logic_error("cnnzoo: trainer::queue before set_images");
    if (n <= 0 || n > net_.batch_capacity() || labels.size() != recipes.size() ||
        targets.size() != recipes.size() * classes)
      throw std::invalid_argument("cnnzoo: a batch of " + std::to_string(n) + " recipes, " +
                                  std::to_string(labels.size()) + " labels and " + std::to_string(targets.size()) +
                                  " target values for a network of capacity " + std::to_string(net_.batch_capacity()));
    data::check_recipes(recipes, image_count_);
    return n;
  }
  // Changes whenever set_images replaces the images (a captured step reads their old address).
  std::uint64_t images_generation() const noexcept { return images_generation_; }

  Net& net_;

private:
  // The host-driven policies: render, step now, count.
  void host_step(std::span<const ops::image_recipe> recipes, std::span<const float> targets,
                 std::span<const std::uint8_t> labels, std::int64_t step, int n) {
    constexpr shape in = Net::input_shape;
    policy& p = net_.policy();
    p.render_batch(ops::render_geometry{in.c, in.h, in.w}, n, recipes.data(), pixels_.data(), norm_.data(),
                   net_.input());
    host_targets_.assign(targets.begin(), targets.end());
    const double loss = train_step_on_input(host_targets_.data(), n);
    ++totals_.steps;
    totals_.last_loss = loss;
    if (!std::isfinite(loss)) {
      if (totals_.bad_steps++ == 0) {
        totals_.first_bad_step = step;
        totals_.first_bad_loss = loss;
      }
      return;
    }
    totals_.loss_sum += loss * n;
    totals_.images += static_cast<unsigned long long>(n);
    logits_host_.resize(static_cast<std::size_t>(n) * classes);
    p.download(logits_host_.data(), net_.logits(n), logits_host_.size());
    for (int i = 0; i < n; ++i) {
      const T* row = logits_host_.data() + static_cast<std::size_t>(i) * classes;
      totals_.correct += static_cast<std::size_t>(std::max_element(row, row + classes) - row) ==
                         labels[static_cast<std::size_t>(i)];
    }
  }

  sgd<policy> sgd_;
  dist::gradient_exchange* exchange_ = nullptr;
  std::uint64_t seed_key_ = 0;
  typename policy::template buffer<std::uint8_t> pixels_, labels_;
  typename policy::template buffer<float> norm_;
  typename policy::template buffer<ops::image_recipe> recipes_;
  std::size_t image_count_ = 0;
  std::uint64_t images_generation_ = 0;
  std::vector<T> host_targets_, logits_host_;
  ops::step_totals totals_;
};

template <class Net> trainer(Net&) -> trainer<Net>;

}  // namespace cnnzoo::train
