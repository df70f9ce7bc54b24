#pragma once
// Learning-rate schedules as small value types: `lr = s(step)`, where step is the 0-based index
// of the optimizer step about to be taken. Steps past the end hold the final value.
//
// Each schedule is a plain struct (testable against its formula, usable directly where the type
// is known). The trainer picks one by name at run time, so `schedule` erases the type behind a
// shared immutable object: copies are cheap and a schedule never changes once built, which is
// what lets a resumed run recompute the rate from the saved step alone.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numbers>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/error.hpp"

namespace cnnzoo::train {

// An impossible schedule configuration; the message names the parameter and its valid range.
class schedule_error : public cnnzoo::error {
public:
  using cnnzoo::error::error;
};

namespace detail {

inline void require(bool ok, const std::string& message) {
  if (!ok) throw schedule_error("cnnzoo: " + message);
}
inline void require_lr(double lr, const char* who) {
  require(std::isfinite(lr) && lr > 0, std::string(who) + ": the learning rate must be a positive number, got " + std::to_string(lr));
}
inline void require_total(std::int64_t total, const char* who) {
  require(total > 0, std::string(who) + ": the total number of steps must be positive, got " + std::to_string(total));
}
// Progress t / T in [0, 1].
inline double progress(std::int64_t step, std::int64_t total) {
  return static_cast<double>(std::clamp<std::int64_t>(step, 0, total)) / static_cast<double>(total);
}

}  // namespace detail

struct constant_schedule {
  double lr = 0.1;
  double operator()(std::int64_t) const noexcept { return lr; }
  void validate() const { detail::require_lr(lr, "constant schedule"); }
};

// lr * gamma^k, where k is the number of milestones (step indices) already reached.
struct step_schedule {
  double lr = 0.1;
  std::vector<std::int64_t> milestones;  // ascending step indices
  double gamma = 0.1;

  double operator()(std::int64_t step) const noexcept {
    const auto k = std::upper_bound(milestones.begin(), milestones.end(), step) - milestones.begin();
    return lr * std::pow(gamma, static_cast<double>(k));
  }
  void validate() const {
    detail::require_lr(lr, "step schedule");
    detail::require(std::isfinite(gamma) && gamma > 0, "step schedule: gamma must be positive, got " + std::to_string(gamma));
    detail::require(std::is_sorted(milestones.begin(), milestones.end()), "step schedule: milestones must be ascending");
  }
  // Milestones as fractions of the run (0.5 = half way), which stay right when --epochs changes.
  static step_schedule at_fractions(double lr, const std::vector<double>& fractions, double gamma, std::int64_t total_steps) {
    detail::require_total(total_steps, "step schedule");
    step_schedule s{lr, {}, gamma};
    for (double f : fractions) {
      detail::require(f > 0 && f < 1, "step schedule: milestone fractions must lie in (0, 1), got " + std::to_string(f));
      s.milestones.push_back(std::llround(f * static_cast<double>(total_steps)));
    }
    std::sort(s.milestones.begin(), s.milestones.end());
    s.validate();
    return s;
  }
  // Milestones as epochs, as papers give them (e.g. 100 and 150 of 200).
  static step_schedule at_epochs(double lr, const std::vector<double>& epochs, double gamma, std::int64_t steps_per_epoch) {
    detail::require(steps_per_epoch > 0, "step schedule: steps per epoch must be positive, got " + std::to_string(steps_per_epoch));
    step_schedule s{lr, {}, gamma};
    for (double e : epochs) {
      detail::require(e > 0, "step schedule: milestone epochs must be positive, got " + std::to_string(e));
      s.milestones.push_back(std::llround(e * static_cast<double>(steps_per_epoch)));
    }
    std::sort(s.milestones.begin(), s.milestones.end());
    s.validate();
    return s;
  }
};

// Cosine annealing (Loshchilov & Hutter 2017, no restarts): floor + (lr - floor)(1 + cos(pi t/T))/2.
struct cosine_schedule {
  double lr = 0.1;
  std::int64_t total_steps = 1;
  double floor = 0;

  double operator()(std::int64_t step) const noexcept {
    return floor + (lr - floor) * 0.5 * (1 + std::cos(std::numbers::pi * detail::progress(step, total_steps)));
  }
  void validate() const {
    detail::require_lr(lr, "cosine schedule");
    detail::require_total(total_steps, "cosine schedule");
    detail::require(floor >= 0 && floor <= lr, "cosine schedule: the floor must lie in [0, lr], got " + std::to_string(floor));
  }
};

// Hyperbolic-tangent decay (Hsueh et al. 2019, "Stochastic gradient descent with
// hyperbolic-tangent decay on classification"): lr/2 * (1 - tanh(L + (U - L) t/T)), with the
// paper's (and the seed's) L = -6, U = 3.
struct htd_schedule {
  double lr = 0.1;
  std::int64_t total_steps = 1;
  double lower = -6, upper = 3;

  double operator()(std::int64_t step) const noexcept {
    return lr / 2 * (1 - std::tanh(lower + (upper - lower) * detail::progress(step, total_steps)));
  }
  void validate() const {
    detail::require_lr(lr, "htd schedule");
    detail::require_total(total_steps, "htd schedule");
    detail::require(lower < upper, "htd schedule: L must be below U, got L = " + std::to_string(lower) + ", U = " + std::to_string(upper));
  }
};

// One-cycle (Smith & Topin 2019): linear from lr/div_factor up to lr over the first pct_start of
// the run, then down to lr/final_div_factor, by cosine or linearly.
struct onecycle_schedule {
  double lr = 0.1;
  std::int64_t total_steps = 1;
  double pct_start = 0.3;
  double div_factor = 25;
  double final_div_factor = 1e4;
  bool cosine_anneal = true;

  std::int64_t peak_step() const noexcept {
    return std::llround(pct_start * static_cast<double>(total_steps));
  }
  double operator()(std::int64_t step) const noexcept {
    const double start = lr / div_factor, end = lr / final_div_factor;
    const std::int64_t up = peak_step();
    const std::int64_t t = std::clamp<std::int64_t>(step, 0, total_steps);
    if (t < up) return start + (lr - start) * static_cast<double>(t) / static_cast<double>(up);
    if (up >= total_steps) return lr;
    const double p = static_cast<double>(t - up) / static_cast<double>(total_steps - up);
    return cosine_anneal ? end + (lr - end) * 0.5 * (1 + std::cos(std::numbers::pi * p)) : lr + (end - lr) * p;
  }
  void validate() const {
    detail::require_lr(lr, "one-cycle schedule");
    detail::require_total(total_steps, "one-cycle schedule");
    detail::require(pct_start >= 0 && pct_start <= 1, "one-cycle schedule: pct_start must lie in [0, 1], got " + std::to_string(pct_start));
    detail::require(div_factor >= 1, "one-cycle schedule: div_factor must be >= 1, got " + std::to_string(div_factor));
    detail::require(final_div_factor >= 1, "one-cycle schedule: final_div_factor must be >= 1, got " + std::to_string(final_div_factor));
  }
};

// Linear warm-up (Goyal et al. 2017) in front of any schedule: for the first warmup_steps steps
// the rate is the inner schedule's value times (step + 1) / warmup_steps, so it rises from about
// zero and meets the inner schedule exactly where warm-up ends. The first step is not wasted at
// a rate of exactly 0.
template <class Inner>
struct warmup_schedule {
  Inner inner;
  std::int64_t warmup_steps = 0;

  double operator()(std::int64_t step) const {
    const double value = inner(step);
    if (step >= warmup_steps) return value;
    return value * static_cast<double>(std::max<std::int64_t>(step, 0) + 1) / static_cast<double>(warmup_steps);
  }
  void validate() const {
    if constexpr (requires { inner.validate(); }) inner.validate();
    detail::require(warmup_steps >= 0, "warm-up: the number of warm-up steps must be >= 0, got " + std::to_string(warmup_steps));
  }
};

template <class Inner>
warmup_schedule<Inner> with_warmup(Inner inner, std::int64_t warmup_steps) {
  warmup_schedule<Inner> w{std::move(inner), warmup_steps};
  w.validate();
  return w;
}

// Any schedule, chosen at run time. Built from a value type; validates it once.
class schedule {
public:
  template <class S>
    requires(!std::is_same_v<std::remove_cvref_t<S>, schedule> &&
             std::is_invocable_r_v<double, const std::remove_cvref_t<S>&, std::int64_t>)
  schedule(S&& s, std::string name = "custom")  // NOLINT: implicit on purpose, any schedule converts
      : impl_(make_impl(std::forward<S>(s))), name_(std::move(name)) {}

  double operator()(std::int64_t step) const { return impl_->at(step); }
  const std::string& name() const noexcept { return name_; }

private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual double at(std::int64_t) const = 0;
  };
  template <class S>
  struct model final : concept_t {
    explicit model(S s) : s_(std::move(s)) {}
    double at(std::int64_t step) const override { return s_(step); }
    S s_;
  };
  template <class S>
  static std::shared_ptr<const concept_t> make_impl(S&& s) {
    if constexpr (requires { s.validate(); }) s.validate();  // before the move below
    return std::make_shared<model<std::remove_cvref_t<S>>>(std::forward<S>(s));
  }
  std::shared_ptr<const concept_t> impl_;
  std::string name_;
};

// Everything make_schedule may need; each schedule reads only its own fields.
struct schedule_params {
  double lr = 0.1;
  std::int64_t total_steps = 0;
  std::int64_t steps_per_epoch = 0;  // needed for milestones in epochs
  std::int64_t warmup_steps = 0;     // 0: no warm-up
  // step
  std::vector<double> milestones{0.5, 0.75};
  bool milestones_in_epochs = false;  // false: fractions of the run
  double gamma = 0.1;
  // cosine
  double min_lr = 0;
  // htd
  double htd_lower = -6, htd_upper = 3;
  // one-cycle
  double pct_start = 0.3, div_factor = 25, final_div_factor = 1e4;
  bool onecycle_linear = false;
};

inline const std::vector<std::string>& schedule_names() {
  static const std::vector<std::string> names{"constant", "step", "cosine", "htd", "onecycle"};
  return names;
}

// The schedule called `name` ("constant", "step", "cosine", "htd", "onecycle"), with warm-up in
// front when p.warmup_steps > 0.
inline schedule make_schedule(std::string_view name, const schedule_params& p) {
  auto finish = [&](auto s) -> schedule {
    std::string label(name);
    if (p.warmup_steps > 0) return schedule(with_warmup(std::move(s), p.warmup_steps), label + "+warmup");
    return schedule(std::move(s), label);
  };
  if (name == "constant") return finish(constant_schedule{p.lr});
  if (name == "step")
    return finish(p.milestones_in_epochs ? step_schedule::at_epochs(p.lr, p.milestones, p.gamma, p.steps_per_epoch)
                                         : step_schedule::at_fractions(p.lr, p.milestones, p.gamma, p.total_steps));
  if (name == "cosine") return finish(cosine_schedule{p.lr, p.total_steps, p.min_lr});
  if (name == "htd") return finish(htd_schedule{p.lr, p.total_steps, p.htd_lower, p.htd_upper});
  if (name == "onecycle")
    return finish(onecycle_schedule{p.lr, p.total_steps, p.pct_start, p.div_factor, p.final_div_factor, !p.onecycle_linear});
  std::string valid;
  for (const auto& n : schedule_names()) valid += (valid.empty() ? "" : ", ") + n;
  throw schedule_error("cnnzoo: unknown learning-rate schedule '" + std::string(name) + "'; valid choices are " + valid + ".");
}

}  // namespace cnnzoo::train
