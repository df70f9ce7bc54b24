#pragma once
// What a model is, and what can be known about one at compile time.
//
// A model is a layer spec (usually a seq<...> or a struct deriving from one) whose input shape
// is M::input when it declares one, else a CIFAR-10 image. Everything below is constexpr:
//   static_assert(cnnzoo::trainable_params<cnnzoo::models::resnet18> == 11'177'098);
#include <cstddef>
#include <string>
#include <vector>

#include "part.hpp"

namespace cnnzoo {

namespace detail {
template <class M>
constexpr shape input_of() {
  if constexpr (requires { M::input; }) return M::input;
  else return cifar10_image;
}
}  // namespace detail

template <class M> inline constexpr shape model_input = detail::input_of<M>();
namespace detail {
// (A struct rather than an alias of bind_t: g++ 12 crashes on an alias whose shape argument is
// a variable template.)
template <class M>
struct bound_model_of {
  static constexpr shape in = input_of<M>();
  using type = typename bind_of<M, in>::type;
};
}  // namespace detail
template <class M> using bound_model = typename detail::bound_model_of<M>::type;

template <class M>
concept model = bound_part<bound_model<M>>;

template <model M> inline constexpr std::size_t trainable_params = bound_model<M>::size.params;
// Non-trainable state: BatchNorm running mean and variance.
template <model M> inline constexpr std::size_t state_values = bound_model<M>::size.state;
// The "Params" Keras prints: trainable plus non-trainable.
template <model M> inline constexpr std::size_t keras_total = trainable_params<M> + state_values<M>;
template <model M> inline constexpr std::size_t batch_norm_channels = state_values<M> / 2;
template <model M> inline constexpr std::size_t forward_flops = bound_model<M>::flops;
template <model M> inline constexpr shape output_shape = bound_model<M>::out;
// Activation values kept per image for one training step (forward outputs and saved masks).
template <model M> inline constexpr std::size_t activations_per_image = bound_model<M>::size.act;

// One tensor of the flat parameter or state buffer, with its place in the network.
struct tensor_entry {
  std::string path;        // e.g. "3.residual/0.seq/2.conv2d/weight"
  tensor_info info;
  std::size_t offset = 0;  // into the parameter buffer, or the state buffer for state
  bool is_state = false;
};

// Walks describe() and records every tensor with its offset. Also used by the summary.
class tensor_table_builder {
public:
  std::vector<tensor_entry> entries;
  std::size_t param_count = 0, state_count = 0;

  void begin(const part_info& p) {
    const int index = stack_.empty() ? 0 : stack_.back().children++;
    stack_.push_back({prefix() + (stack_.empty() ? "" : "/") + std::to_string(index) + "." + std::string(p.kind), 0});
  }
  void end() { stack_.pop_back(); }
  void param(const tensor_info& t) { add(t, false); }
  void state(const tensor_info& t) { add(t, true); }

private:
  struct level { std::string path; int children; };
  std::string prefix() const { return stack_.empty() ? std::string{} : stack_.back().path; }
  void add(const tensor_info& t, bool is_state) {
    std::size_t& at = is_state ? state_count : param_count;
    entries.push_back({prefix() + "/" + std::string(t.role), t, at, is_state});
    at += t.count();
  }
  std::vector<level> stack_;
};

template <model M>
std::vector<tensor_entry> tensor_table() {
  tensor_table_builder b;
  bound_model<M>::describe(b);
  return std::move(b.entries);
}

}  // namespace cnnzoo
