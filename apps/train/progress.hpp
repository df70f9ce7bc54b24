#pragma once
// Progress output for a training run. On a terminal: one line redrawn in place with '\r'
// (epoch, a bar, step/total, images/s, loss, ETA), and a permanent line per finished epoch.
// Anywhere else (CI, a log file, a pipe): only the line per epoch, because a log full of
// carriage returns is unreadable.
//
// The text comes from pure formatting functions (format_duration, format_epoch_line, ...), so it
// is tested exactly; the reporter only decides when to print, with an injectable clock.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include <unistd.h>

namespace cnnzoo::trainer {

// "0s", "59s", "1m05s", "2h03m", "3d04h"; "--" for an unknown (negative or non-finite) time.
// Rounded to whole seconds first, so 59.6 s reads "1m00s", never "60s".
inline std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--";
  if (seconds > 1e12) return ">1000y";
  const long long s = std::llround(seconds);
  char buf[48];
  if (s < 60) std::snprintf(buf, sizeof buf, "%llds", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  else if (s < 86400) std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  else std::snprintf(buf, sizeof buf, "%lldd%02lldh", s / 86400, (s % 86400) / 3600);
  return buf;
}

// Three significant figures with k/M suffixes: "950", "1.23k", "45.6k", "1.20M".
inline std::string format_rate(double v) {
  if (!std::isfinite(v) || v < 0) return "--";
  char buf[48];
  if (v < 1000) std::snprintf(buf, sizeof buf, v < 10 ? "%.2f" : v < 100 ? "%.1f" : "%.0f", v);
  else if (v < 1e6) std::snprintf(buf, sizeof buf, v < 1e4 ? "%.2fk" : v < 1e5 ? "%.1fk" : "%.0fk", v / 1e3);
  else std::snprintf(buf, sizeof buf, v < 1e7 ? "%.2fM" : "%.1fM", v / 1e6);
  return buf;
}

// "[=====>    ]" with `width` cells inside the brackets.
inline std::string format_bar(double fraction, int width) {
  fraction = std::isfinite(fraction) ? std::clamp(fraction, 0.0, 1.0) : 0.0;
  width = std::max(width, 1);
  const int filled = static_cast<int>(std::floor(fraction * width));
  std::string bar = "[";
  bar.append(static_cast<std::size_t>(filled), '=');
  if (filled < width) {
    bar += '>';
    bar.append(static_cast<std::size_t>(width - filled - 1), ' ');
  }
  bar += ']';
  return bar;
}

// The state shown while an epoch runs.
struct step_status {
  int epoch = 1, epochs = 1;
  std::int64_t step = 0, steps = 1;  // steps done in this epoch, of `steps`
  double images_per_second = std::nan("");
  double loss = std::nan("");        // running mean over the epoch so far
  double eta_seconds = std::nan("");  // to the end of the run
};

inline std::string format_progress_line(const step_status& s, int bar_width = 24) {
  const int w = static_cast<int>(std::to_string(s.epochs).size());
  const int sw = static_cast<int>(std::to_string(s.steps).size());
  char head[96], loss[32], tail[192];
  std::snprintf(head, sizeof head, "epoch %*d/%d ", w, s.epoch, s.epochs);
  if (std::isfinite(s.loss)) std::snprintf(loss, sizeof loss, "%.4f", s.loss);
  else std::snprintf(loss, sizeof loss, "--");
  std::snprintf(tail, sizeof tail, " %*lld/%lld  %s img/s  loss %s  ETA %s", sw, static_cast<long long>(s.step),
                static_cast<long long>(s.steps), format_rate(s.images_per_second).c_str(), loss,
                format_duration(s.eta_seconds).c_str());
  const double frac = s.steps > 0 ? static_cast<double>(s.step) / static_cast<double>(s.steps) : 0.0;
  return head + format_bar(frac, bar_width) + tail;
}

// The permanent summary of one epoch.
struct epoch_status {
  int epoch = 1, epochs = 1;
  std::int64_t step = 0;  // optimizer steps so far
  double lr = 0;
  double train_loss = 0, train_acc = 0;  // accuracy as a fraction
  std::optional<double> val_loss, val_acc;
  std::string val_name = "val";  // "val" for a held-out split, "test" for test_batch.bin
  double images_per_second = 0;
  double epoch_seconds = 0;
  double eta_seconds = std::nan("");
};

inline std::string format_epoch_line(const epoch_status& e) {
  const int w = static_cast<int>(std::to_string(e.epochs).size());
  char buf[320];
  int n = std::snprintf(buf, sizeof buf, "epoch %*d/%d  step %lld  lr %.4g  loss %.4f  acc %.2f%%", w, e.epoch, e.epochs,
                        static_cast<long long>(e.step), e.lr, e.train_loss, 100 * e.train_acc);
  std::string line(buf, static_cast<std::size_t>(std::max(n, 0)));
  if (e.val_loss) {
    n = std::snprintf(buf, sizeof buf, "  %s_loss %.4f", e.val_name.c_str(), *e.val_loss);
    line.append(buf, static_cast<std::size_t>(std::max(n, 0)));
  }
  if (e.val_acc) {
    n = std::snprintf(buf, sizeof buf, "  %s_acc %.2f%%", e.val_name.c_str(), 100 * *e.val_acc);
    line.append(buf, static_cast<std::size_t>(std::max(n, 0)));
  }
  line += "  " + format_rate(e.images_per_second) + " img/s  " + format_duration(e.epoch_seconds);
  if (std::isfinite(e.eta_seconds)) line += "  ETA " + format_duration(e.eta_seconds);
  return line;
}

class progress_reporter {
public:
  enum class mode {
    automatic,  // bar on a terminal, lines otherwise
    bar,
    lines,
    quiet,      // nothing at all (tests, library use)
  };
  using clock_fn = std::function<double()>;  // seconds, monotonic

  // `images_per_step` is the batch size, for images/s.
  progress_reporter(std::ostream& out, int epochs, std::int64_t steps_per_epoch, std::int64_t images_per_step,
                    mode m = mode::automatic, clock_fn clock = steady_seconds)
      : out_(out), epochs_(epochs), steps_per_epoch_(steps_per_epoch), images_per_step_(images_per_step),
        mode_(m == mode::automatic ? (stream_is_terminal(out) ? mode::bar : mode::lines) : m), clock_(std::move(clock)) {}

  ~progress_reporter() {
    if (drawn_) out_ << '\n' << std::flush;  // never leave the shell prompt on the bar's line
  }
  progress_reporter(const progress_reporter&) = delete;
  progress_reporter& operator=(const progress_reporter&) = delete;

  mode active_mode() const noexcept { return mode_; }

  // True when `out` is std::cout or std::cerr and that descriptor is a terminal that can redraw.
  static bool stream_is_terminal(const std::ostream& out) {
    int fd = -1;
    if (&out == &std::cout) fd = STDOUT_FILENO;
    else if (&out == &std::cerr || &out == &std::clog) fd = STDERR_FILENO;
    if (fd < 0 || !::isatty(fd)) return false;
    const char* term = std::getenv("TERM");
    return !(term && std::string_view(term) == "dumb");
  }
  static double steady_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }

  // `epoch` is 1-based; a resumed run starts at its next epoch, and the ETA counts from there.
  void begin_epoch(int epoch) {
    const double now = clock_();
    if (!run_start_) {
      run_start_ = now;
      first_epoch_ = epoch;
    }
    epoch_ = epoch;
    epoch_start_ = now;
    last_draw_ = -1e300;
    loss_sum_ = 0;
    loss_count_ = 0;
  }

  // After each optimizer step: `step` steps of this epoch are done; `loss` is that step's loss.
  void step(std::int64_t step, double loss) {
    if (std::isfinite(loss)) {
      loss_sum_ += loss;
      ++loss_count_;
    }
    step_ = step;
    if (mode_ != mode::bar) return;
    const double now = clock_();
    if (now - last_draw_ < min_redraw_seconds && step < steps_per_epoch_) return;  // ~10 redraws/s
    last_draw_ = now;
    step_status s{epoch_, epochs_, step, steps_per_epoch_, rate(now), mean_loss(), eta(now)};
    out_ << '\r' << format_progress_line(s) << "\x1b[K" << std::flush;
    drawn_ = true;
  }

  // The permanent epoch line; fills in images/s, epoch time and ETA when left at zero/NaN.
  void end_epoch(epoch_status e) {
    const double now = clock_();
    if (e.epoch_seconds <= 0) e.epoch_seconds = now - epoch_start_;
    if (e.images_per_second <= 0) e.images_per_second = rate(now);
    if (!std::isfinite(e.eta_seconds) && e.epoch < e.epochs) e.eta_seconds = eta_after_epoch(now, e.epoch);
    if (mode_ == mode::quiet) return;
    if (mode_ == mode::bar && drawn_) out_ << "\r\x1b[K";
    out_ << format_epoch_line(e) << '\n' << std::flush;
    drawn_ = false;
  }

  // A line of text (a warning, "checkpoint saved") that does not break the bar.
  void message(std::string_view text) {
    if (mode_ == mode::quiet) return;
    if (mode_ == mode::bar && drawn_) out_ << "\r\x1b[K";
    out_ << text << '\n' << std::flush;
    drawn_ = false;
  }

  // Clears a half-drawn bar, so that the next line of the log (a stop, an error) starts clean.
  void interrupt() {
    if (mode_ == mode::bar && drawn_) out_ << "\r\x1b[K" << std::flush;
    drawn_ = false;
  }

  double mean_loss() const noexcept { return loss_count_ ? loss_sum_ / static_cast<double>(loss_count_) : std::nan(""); }

  double min_redraw_seconds = 0.1;

private:
  double rate(double now) const {
    const double dt = now - epoch_start_;
    return dt > 0 ? static_cast<double>(step_ * images_per_step_) / dt : std::nan("");
  }
  // Remaining steps at the pace of this run so far (evaluation time included).
  double eta(double now) const {
    const std::int64_t done = static_cast<std::int64_t>(epoch_ - first_epoch_) * steps_per_epoch_ + step_;
    const std::int64_t total = static_cast<std::int64_t>(epochs_ - first_epoch_ + 1) * steps_per_epoch_;
    if (done <= 0 || !run_start_) return std::nan("");
    return (now - *run_start_) / static_cast<double>(done) * static_cast<double>(total - done);
  }
  double eta_after_epoch(double now, int epoch) const {
    const int done = epoch - first_epoch_ + 1;
    if (done <= 0 || !run_start_) return std::nan("");
    return (now - *run_start_) / done * (epochs_ - epoch);
  }

  std::ostream& out_;
  int epochs_;
  std::int64_t steps_per_epoch_, images_per_step_;
  mode mode_;
  clock_fn clock_;
  std::optional<double> run_start_;
  int first_epoch_ = 1, epoch_ = 1;
  double epoch_start_ = 0, last_draw_ = -1e300;
  std::int64_t step_ = 0;
  double loss_sum_ = 0;
  std::int64_t loss_count_ = 0;
  bool drawn_ = false;
};

}  // namespace cnnzoo::trainer
