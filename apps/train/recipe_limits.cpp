#include "recipe_limits.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include <sched.h>

#include <cnnzoo/data/augment.hpp>
#include <cnnzoo/train/schedule.hpp>

namespace cnnzoo::trainer {

namespace {

std::string number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

}  // namespace

bool field_range::contains(double v) const noexcept {
  if (!std::isfinite(v)) return false;
  if (integer && v != std::floor(v)) return false;
  return (open_min ? v > min : v >= min) && (open_max ? v < max : v <= max);
}

std::string field_range::text() const {
  return (open_min ? "(" : "[") + number(min) + ", " + number(max) + (open_max ? ")" : "]");
}

const std::vector<field_range>& field_ranges() {
  // Bounds are what a run can mean, not what the seed uses: generous, but finite, so that every
  // product (steps, batch bytes, schedule positions) stays far inside 64-bit arithmetic.
  static const std::vector<field_range> ranges = [] {
    auto f = [](std::string flag, double lo, double hi, bool integer, std::function<double(const recipe&)> get,
                std::string meaning = {}, bool open_min = false, bool open_max = false) {
      field_range r;
      r.flag = std::move(flag);
      r.min = lo;
      r.max = hi;
      r.integer = integer;
      r.value = std::move(get);
      r.meaning = std::move(meaning);
      r.open_min = open_min;
      r.open_max = open_max;
      return r;
    };
    return std::vector<field_range>{
        f("--epochs", 1, 100000, true, [](const recipe& r) { return r.epochs; }),
        f("--time-budget", 0, 525600, false, [](const recipe& r) { return r.time_budget_minutes; }, "minutes; 0: none"),
        f("--batch-size", 1, 65536, true, [](const recipe& r) { return r.batch_size; },
          "larger than the training set: the whole set"),
        // A rate too high for the network is not refused: it ends the run with exit code 3 (non-finite).
        f("--lr", 0, 1e30, false, [](const recipe& r) { return r.lr; }, {}, true),
        f("--warmup-epochs", 0, 100000, false, [](const recipe& r) { return r.warmup_epochs; }, "at most --epochs"),
        f("--weight-decay", 0, 1, false, [](const recipe& r) { return r.weight_decay; }),
        f("--momentum", 0, 1, false, [](const recipe& r) { return r.momentum; }, {}, false, true),
        f("--clip-norm", 0, 1e6, false, [](const recipe& r) { return r.clip_norm; }, "0: off"),
        f("--label-smoothing", 0, 1, false, [](const recipe& r) { return r.label_smoothing; }, {}, false, true),
        f("--mixup-alpha", 0, 100, false, [](const recipe& r) { return r.mixup_alpha; }, "0: off"),
        f("--dropout", -1, 1, false, [](const recipe& r) { return r.dropout; }, "-1: each model's own rates", false, true),
        f("--crop-padding", 0, 16, true, [](const recipe& r) { return r.crop_padding; }, "0: off"),
        f("--cutout", 0, 32, true, [](const recipe& r) { return r.cutout; }, "0: off"),
        f("--rotation", 0, data::max_rotation_degrees, false, [](const recipe& r) { return r.rotation; }, "degrees"),
        f("--shift", 0, data::max_shift_fraction, false, [](const recipe& r) { return r.shift; }, "fraction of the image"),
        f("--shear", 0, data::max_shear_degrees, false, [](const recipe& r) { return r.shear; }, "degrees"),
        f("--zoom", 0, data::max_zoom_range, false, [](const recipe& r) { return r.zoom; }),
        f("--val-split", 0, 10'000'000, true, [](const recipe& r) { return r.val_split; }, "0: none"),
        f("--limit-train", 0, 10'000'000, true, [](const recipe& r) { return r.limit_train; }, "0: all"),
        f("--threads", 0, 4096, true, [](const recipe& r) { return r.threads; }, "0: all cores"),
        f("--checkpoint-every", 1, 100000, true, [](const recipe& r) { return r.checkpoint_every; }, "epochs"),
    };
  }();
  return ranges;
}

const field_range& range_of(std::string_view flag) {
  for (const auto& r : field_ranges())
    if (r.flag == flag) return r;
  throw std::out_of_range("cnnzoo-train: no range for " + std::string(flag));
}

std::vector<std::string> recipe_problems(const recipe& r) {
  std::vector<std::string> out;
  for (const auto& f : field_ranges()) {
    const double v = f.value(r);
    if (!f.contains(v))
      out.push_back(f.flag + " " + number(v) + " is outside " + f.text() + (f.integer ? " (a whole number)" : ""));
  }
  if (std::isfinite(r.warmup_epochs) && r.warmup_epochs > r.epochs)
    out.push_back("--warmup-epochs " + number(r.warmup_epochs) + " is longer than the run (--epochs " +
                  std::to_string(r.epochs) + ")");
  auto one_of = [&](const std::string& flag, const std::string& v, const std::vector<std::string>& names) {
    for (const auto& n : names)
      if (n == v) return;
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    out.push_back(flag + " '" + v + "' is not one of " + list);
  };
  one_of("--schedule", r.schedule, train::schedule_names());
  one_of("--init", r.init, {"he_normal", "glorot_uniform"});
  one_of("--device", r.device, {"auto", "cpu", "cuda"});
  one_of("--precision", r.precision, {"fp32", "tf32", "bf16", "fp16"});
  return out;
}

int hardware_threads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

int rank_thread_default(int local_ranks) {
  const int machine = hardware_threads();
  int allowed = machine;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) allowed = std::max(1, CPU_COUNT(&set));
  // Bound to part of the machine: that part is this rank's. Unbound: an even share.
  if (allowed < machine) return allowed;
  return std::max(1, machine / std::max(1, local_ranks));
}

std::string join_problems(const std::vector<std::string>& problems) {
  std::string s;
  for (const auto& p : problems) s += (s.empty() ? "" : "; ") + p;
  return s;
}

}  // namespace cnnzoo::trainer
