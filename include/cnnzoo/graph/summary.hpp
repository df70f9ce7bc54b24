#pragma once
// A Keras-style summary of any model type: each part with its output shape and parameter count,
// then the totals and the forward FLOPs per image.
#include <cstdio>
#include <ostream>
#include <string>
#include <vector>

#include "model.hpp"

namespace cnnzoo {

namespace detail {
class summary_printer {
public:
  summary_printer(std::ostream& os, int max_depth) : os_(os), max_depth_(max_depth) {}
  void begin(const part_info& p) {
    const int depth = depth_++;
    if (depth > max_depth_) return;
    std::string label(static_cast<std::size_t>(2 * depth), ' ');
    label += p.kind;
    char line[160];
    std::snprintf(line, sizeof line, "%-44s %-18s %14zu %14zu\n", label.c_str(), shape_text(p.out).c_str(),
                  p.size.params, p.flops);
    os_ << line;
  }
  void end() { --depth_; }
  void param(const tensor_info&) {}
  void state(const tensor_info&) {}

  static std::string shape_text(shape s) {
    return "(" + std::to_string(s.c) + ", " + std::to_string(s.h) + ", " + std::to_string(s.w) + ")";
  }

private:
  std::ostream& os_;
  int max_depth_;
  int depth_ = 0;
};

inline std::string thousands(std::size_t v) {
  std::string s = std::to_string(v), out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}
}  // namespace detail

// Parts nested deeper than max_depth are folded into their parent's line.
template <model M>
void print_summary(std::ostream& os, const std::string& name, int max_depth = 2) {
  using B = bound_model<M>;
  const std::string rule(92, '-');
  os << "Model: " << name << "    input " << detail::summary_printer::shape_text(B::in) << "\n" << rule << "\n";
  char head[160];
  std::snprintf(head, sizeof head, "%-44s %-18s %14s %14s\n", "Part", "Output shape", "Param #", "FLOPs");
  os << head << rule << "\n";
  detail::summary_printer p(os, max_depth);
  B::describe(p);
  os << rule << "\n"
     << "Trainable params:     " << detail::thousands(trainable_params<M>) << "\n"
     << "Non-trainable params: " << detail::thousands(state_values<M>) << "  (BatchNorm running mean and variance)\n"
     << "Total params (Keras): " << detail::thousands(keras_total<M>) << "\n"
     << "Forward FLOPs/image:  " << detail::thousands(forward_flops<M>) << "\n"
     << "Activations/image:    " << detail::thousands(activations_per_image<M>) << " values kept for backward\n";
}

}  // namespace cnnzoo
