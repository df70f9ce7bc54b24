#pragma once
// train::graph_trainer: train::trainer's step (train/step.hpp) captured once into a CUDA graph and
// replayed, so that a step costs the host one graph launch (CUDA policy only).
//
// A queued step stages its augmentation recipes, targets, labels, learning rate and dropout seed
// (a few KiB, through page-locked memory), then runs the trainer's device-step body: render the
// images already in GPU memory, forward, loss, backward, SGD. The first two steps of each batch
// size run it eagerly (they choose the cuDNN algorithms and size the scratch memory); the third
// is captured into a CUDA graph that every later step of that size replays. Nothing waits for the
// GPU until take() reads the totals.
//
//   cnnzoo::train::graph_trainer trainer(net);              // net: network<M, exec::cuda<bf16>>
//   trainer.set_images(train_set.pixels, data::render_norm(stats));
//   for (...) trainer.queue(plan.recipes, plan.targets, plan.labels, step_number, lr);
//   const ops::step_totals t = trainer.take();               // loss, accuracy, non-finite steps
//
// A graph is captured again when the optimiser settings or run options it baked in change, when
// the images are replaced, or when the policy reallocated scratch memory (the graph holds
// addresses). A capture that fails (a driver that refuses some call inside it) is reported by
// status() and that batch size keeps running eagerly: slower, never wrong.
#include <cstdint>
#include <map>
#include <span>
#include <string>

#include "../exec/cuda.hpp"
#include "step.hpp"

namespace cnnzoo::train {

template <class Net>
  requires ops::device_step_policy<typename Net::policy_type>
class graph_trainer final : public trainer<Net> {
  using base = trainer<Net>;

public:
  // use_graphs = false runs every step eagerly (the same kernels, launched one by one).
  explicit graph_trainer(Net& net, bool use_graphs = true) : base(net), use_graphs_(use_graphs) {}

  void queue(std::span<const ops::image_recipe> recipes, std::span<const float> targets,
             std::span<const std::uint8_t> labels, std::int64_t step, double lr) override {
    const int n = this->stage(recipes, targets, labels, step, lr);
    auto& p = this->net_.policy();
    const auto body = [&] { this->device_step_body(n); };
    slot& s = graphs_[n];
    const settings now = current_settings();
    if (s.graph.ready() &&
        (s.baked != now || s.generation != p.memory_generation() || s.images != this->images_generation())) {
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
        s.images = this->images_generation();
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

  // One line per batch size: how its steps ran.
  std::string status() const override {
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
    const sgd_options& o = this->options();
    const run_options& r = this->net_.options();
    return {o.momentum, o.weight_decay, o.clip_norm, o.nesterov, r.dropout, r.drop_path};
  }
  struct slot {
    exec::cuda_graph graph;
    settings baked{};
    std::uint64_t generation = 0, images = 0;
    int eager = 0;
    long long replays = 0;
    std::string failure;
  };

  bool use_graphs_;
  std::map<int, slot> graphs_;
};

template <class Net> graph_trainer(Net&) -> graph_trainer<Net>;
template <class Net> graph_trainer(Net&, bool) -> graph_trainer<Net>;

}  // namespace cnnzoo::train
