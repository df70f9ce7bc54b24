#pragma once
// Where each part of a network keeps its numbers.
//
// A bound part (a layer or combinator with its input shape fixed) declares four sizes:
//   params  trainable values, in the network's one flat parameter buffer (and gradient buffer);
//   state   non-trainable values that persist (BatchNorm running mean and variance);
//   act     values per image that one forward pass keeps for the backward pass: the part's
//           output and whatever else it saves (a dropout mask); the activation-gradient arena
//           has the same layout, so a part's output gradient lives at the same offset;
//   aux     values per batch that do not scale with it (BatchNorm batch mean and 1/std).
// A combinator lays its children out one after another; every offset is a compile-time
// prefix sum, and only the batch size multiplies the per-image offsets at run time.
#include <cstddef>

namespace cnnzoo {

struct sizes {
  std::size_t params = 0, state = 0, act = 0, aux = 0;
  friend constexpr sizes operator+(sizes a, sizes b) noexcept {
    return {a.params + b.params, a.state + b.state, a.act + b.act, a.aux + b.aux};
  }
  friend constexpr bool operator==(const sizes&, const sizes&) = default;
};

// Base pointers of one part's region in each buffer, for a batch of n images. W is the type of
// parameters and statistics (fp32 master weights on the GPU), A the type of activations.
template <class W, class A = W>
struct slot {
  W* params = nullptr;
  W* grads = nullptr;
  W* state = nullptr;
  A* act = nullptr;    // activations, n * sizes::act values
  A* dact = nullptr;   // their gradients, same layout
  W* aux = nullptr;

  // The region of a child that starts at `off` inside this one.
  constexpr slot at(const sizes& off, std::size_t n) const noexcept {
    return {params + off.params, grads + off.params, state + off.state,
            act + off.act * n, dact + off.act * n, aux + off.aux};
  }
};

}  // namespace cnnzoo
