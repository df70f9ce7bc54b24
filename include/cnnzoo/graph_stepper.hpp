#pragma once
// Training steps on the GPU with the host out of the loop (CUDA policy only).
//
// A step of graph_stepper is: stage the batch's augmentation recipes, targets and labels and
// the step's learning rate and dropout seed (a few KiB, through page-locked memory), then one
// launch that augments the images already in GPU memory, runs forward, loss, backward and the
// SGD update. The first two steps of each batch size run eagerly (they choose the cuDNN
// algorithms and size the scratch memory); the third is captured into a CUDA graph that every
// later step of that size replays. Nothing waits for the GPU until take() reads the totals.
//
//   cnnzoo::graph_stepper steps(net);                  // net: network<M, exec::cuda<bf16>>
//   steps.set_images(train_set.pixels, data::render_norm(stats));
//   for (...) steps.queue(plan.recipes, plan.targets, plan.labels, step_number, lr);
//   const ops::step_totals t = steps.take();                // loss, accuracy, non-finite steps
//
// A graph is captured again when the optimiser settings or run options it baked in change, or
// when the policy reallocated scratch memory (the graph holds addresses). A capture that fails
// (a driver that refuses some call inside it) is reported by status() and that batch size keeps
// running eagerly: slower, never wrong.
#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/batch_plan.hpp"
#include "exec/cuda.hpp"
#include "graph/network.hpp"
#include "ops/step_totals.hpp"

namespace cnnzoo {

template <class Net>
  requires device_step_policy<typename Net::policy_type>
class graph_stepper {
public:
  using policy = typename Net::policy_type;
  using T = value_t<policy>;
  static constexpr int classes = Net::classes;

  // use_graphs = false runs every step eagerly (the same kernels, launched one by one).
  explicit graph_stepper(Net& net, bool use_graphs = true) : net_(net), use_graphs_(use_graphs) {
    net_.policy().enable_device_steps();
    labels_ = net_.policy().template allocate<std::uint8_t>(static_cast<std::size_t>(net_.batch_capacity()));
    recipes_ = net_.policy().template allocate<ops::image_recipe>(static_cast<std::size_t>(net_.batch_capacity()));
  }

  // The training images (8-bit CHW, the data set's bytes) and data::render_norm's table, copied
  // to the GPU once.
  void set_images(std::span<const std::uint8_t> pixels, std::span<const float> norm) {
    constexpr shape in = Net::input_shape;
    data::check_training_images(pixels, norm, in.c, in.size());
    const std::size_t image = in.size();
    policy& p = net_.policy();
    p.synchronize();   // queued steps may still read the old images
    pixels_ = p.template allocate<std::uint8_t>(pixels.size());
    p.upload(pixels_.data(), pixels.data(), pixels.size());
    norm_ = p.template allocate<float>(norm.size());
    p.upload(norm_.data(), norm.data(), norm.size());
    image_count_ = pixels.size() / image;
    graphs_.clear();   // they read the old buffers
  }

  // Queues one step on the batch the recipes describe (data::plan_batch), with soft targets
  // (n x classes) and true labels; `step` numbers it in the totals, `lr` is its learning rate.
  void queue(std::span<const ops::image_recipe> recipes, std::span<const float> targets,
             std::span<const std::uint8_t> labels, std::int64_t step, double lr) {
    const int n = static_cast<int>(recipes.size());
    if (image_count_ == 0) throw std::logic_error("cnnzoo: graph_stepper::queue before set_images");
    if (n <= 0 || n > net_.batch_capacity() || labels.size() != recipes.size() ||
        targets.size() != recipes.size() * classes)
      throw std::invalid_argument("cnnzoo: graph_stepper::queue: " + std::to_string(n) + " recipes, " +
                                  std::to_string(labels.size()) + " labels and " + std::to_string(targets.size()) +
                                  " target values for a network of capacity " +
                                  std::to_string(net_.batch_capacity()));
    data::check_recipes(recipes, image_count_);
    policy& p = net_.policy();
    targets_.assign(targets.begin(), targets.end());   // to the compute type
    p.stage(recipes_.data(), recipes.data(), recipes.size_bytes());
    p.stage(net_.targets(), targets_.data(), targets_.size() * sizeof(T));
    p.stage(labels_.data(), labels.data(), labels.size_bytes());
    p.set_step_inputs(lr, net_.generator()(), step);
    p.finish_staging();

    const auto body = [&] {
      constexpr shape in = Net::input_shape;
      p.render_batch(ops::render_geometry{in.c, in.h, in.w}, n, recipes_.data(), pixels_.data(), norm_.data(),
                     net_.input());
      net_.train_step_device(n, labels_.data());
    };
    slot& s = graphs_[n];
    const settings now = current_settings();
    if (s.graph.ready() && (s.baked != now || s.generation != p.memory_generation())) {
      s.graph.reset();
      s.eager = 0;   // settle the new settings eagerly first
    }
    if (!use_graphs_ || !s.failure.empty() || s.eager < eager_steps) {
      body();
      ++s.eager;
      return;
    }
    if (!s.graph.ready()) {
      p.refresh_compute_weights();   // so that the capture records no refresh, and the copy is current
      try {
        s.graph.capture(p.stream(), body);
        s.baked = now;
        s.generation = p.memory_generation();
      } catch (const exec::cuda_error& e) {
        // Nothing captured ran; host-side flags set while capturing may claim otherwise.
        p.parameters_changed();
        s.failure = e.what();
        body();
        return;
      }
    }
    p.refresh_compute_weights();
    s.graph.launch(p.stream());
    ++s.replays;
  }

  // Waits for the queued steps and returns their totals, resetting them.
  ops::step_totals take() { return net_.policy().take_step_totals(); }

  // One line per batch size: how its steps ran.
  std::string status() const {
    std::string out;
    for (const auto& [n, s] : graphs_) {
      out += "batch " + std::to_string(n) + ": ";
      if (!s.failure.empty()) out += "eager (graph capture failed: " + s.failure + ")";
      else if (!use_graphs_) out += "eager (graphs off)";
      else out += std::to_string(s.replays) + " graph replays after " + std::to_string(s.eager) + " eager steps";
      out += "\n";
    }
    return out;
  }

private:
  static constexpr int eager_steps = 2;

  // What a captured step bakes in besides addresses.
  struct settings {
    double momentum = 0, weight_decay = 0, clip_norm = 0;
    bool nesterov = false;
    float dropout = 0, drop_path = 0;
    bool operator==(const settings&) const = default;
  };
  settings current_settings() {
    const auto& o = net_.optimizer();
    return {o.momentum, o.weight_decay, o.clip_norm, o.nesterov, net_.options().dropout, net_.options().drop_path};
  }
  struct slot {
    exec::cuda_graph graph;
    settings baked{};
    std::uint64_t generation = 0;
    int eager = 0;
    long long replays = 0;
    std::string failure;
  };

  Net& net_;
  bool use_graphs_;
  typename policy::template buffer<std::uint8_t> pixels_, labels_;
  typename policy::template buffer<float> norm_;
  typename policy::template buffer<ops::image_recipe> recipes_;
  std::size_t image_count_ = 0;
  std::vector<T> targets_;
  std::map<int, slot> graphs_;
};

}  // namespace cnnzoo
