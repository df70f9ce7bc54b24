#pragma once
// What a training run reports: a confusion matrix, one JSON line of metrics per epoch
// (metrics.jsonl, rewritten atomically after each epoch), and the final
// report.json that scripts read (model, epochs, test_accuracy as a fraction, timings, per-class
// accuracy and the confusion matrix).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <cnnzoo/core/error.hpp>
#include <cnnzoo/core/files.hpp>

#include "json_fields.hpp"

namespace cnnzoo::trainer {

// A metrics file that cannot be read or used. (Files that cannot be written throw
// cnnzoo::write_error, as every output does.)
class metrics_error : public cnnzoo::error {
public:
  using cnnzoo::error::error;
};

// metrics.jsonl has a line of about 250 bytes per epoch; 64 MiB is far more than any run writes.
inline constexpr std::uint64_t max_metrics_bytes = std::uint64_t{64} << 20;

// counts(truth, predicted); rows are true classes.
class confusion_matrix {
public:
  explicit confusion_matrix(int classes = 10) : k_(classes), counts_(static_cast<std::size_t>(classes) * static_cast<std::size_t>(classes)) {
    if (classes <= 0) throw metrics_error("cnnzoo: a confusion matrix needs at least one class");
  }

  int classes() const noexcept { return k_; }

  void add(int truth, int predicted, std::uint64_t times = 1) {
    if (truth < 0 || truth >= k_ || predicted < 0 || predicted >= k_)
      throw metrics_error("cnnzoo: confusion_matrix::add: class pair (" + std::to_string(truth) + ", " +
                          std::to_string(predicted) + ") is outside 0.." + std::to_string(k_ - 1));
    counts_[index(truth, predicted)] += times;
  }
  template <class L, class P>
  void add(std::span<const L> truth, std::span<const P> predicted) {
    if (truth.size() != predicted.size())
      throw metrics_error("cnnzoo: confusion_matrix::add: " + std::to_string(truth.size()) + " labels but " +
                          std::to_string(predicted.size()) + " predictions");
    for (std::size_t i = 0; i < truth.size(); ++i) add(static_cast<int>(truth[i]), static_cast<int>(predicted[i]));
  }
  void merge(const confusion_matrix& other) {
    if (other.k_ != k_) throw metrics_error("cnnzoo: cannot merge confusion matrices of different class counts");
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  }
  void reset() noexcept { std::fill(counts_.begin(), counts_.end(), 0); }

  std::uint64_t count(int truth, int predicted) const { return counts_.at(index(truth, predicted)); }
  std::uint64_t total() const noexcept {
    std::uint64_t t = 0;
    for (auto c : counts_) t += c;
    return t;
  }
  std::uint64_t correct() const noexcept {
    std::uint64_t t = 0;
    for (int c = 0; c < k_; ++c) t += counts_[index(c, c)];
    return t;
  }
  // Fraction correct; NaN when empty, so "no data" is never mistaken for 0% or 100%.
  double accuracy() const noexcept {
    const auto t = total();
    return t ? static_cast<double>(correct()) / static_cast<double>(t) : std::nan("");
  }
  // Recall of each true class; NaN for a class with no examples.
  std::vector<double> per_class_accuracy() const {
    std::vector<double> acc(static_cast<std::size_t>(k_));
    for (int c = 0; c < k_; ++c) {
      std::uint64_t row = 0;
      for (int p = 0; p < k_; ++p) row += counts_[index(c, p)];
      acc[static_cast<std::size_t>(c)] = row ? static_cast<double>(counts_[index(c, c)]) / static_cast<double>(row) : std::nan("");
    }
    return acc;
  }
  nlohmann::json to_json() const {
    nlohmann::json rows = nlohmann::json::array();
    for (int t = 0; t < k_; ++t) {
      nlohmann::json row = nlohmann::json::array();
      for (int p = 0; p < k_; ++p) row.push_back(counts_[index(t, p)]);
      rows.push_back(std::move(row));
    }
    return rows;
  }

private:
  std::size_t index(int t, int p) const noexcept { return static_cast<std::size_t>(t) * static_cast<std::size_t>(k_) + static_cast<std::size_t>(p); }
  int k_;
  std::vector<std::uint64_t> counts_;
};

// One line of metrics.jsonl. Validation fields are absent (not null) when there is no
// validation set, so a reader can tell "not measured" from a value.
struct epoch_metrics {
  int epoch = 0;             // 1-based, completed epochs
  std::int64_t step = 0;     // optimizer steps taken so far
  double lr = 0;             // the rate of the epoch's last step
  double train_loss = 0;
  double train_acc = 0;
  std::optional<double> val_loss;
  std::optional<double> val_acc;
  double images_per_second = 0;
  double wall_seconds = 0;   // since the start of training (resumed runs include earlier time)
};

inline nlohmann::json to_json(const epoch_metrics& m) {
  nlohmann::json j{{"epoch", m.epoch},           {"step", m.step},
                   {"lr", m.lr},                 {"train_loss", m.train_loss},
                   {"train_acc", m.train_acc},   {"images_per_second", m.images_per_second},
                   {"wall_seconds", m.wall_seconds}};
  if (m.val_loss) j["val_loss"] = *m.val_loss;
  if (m.val_acc) j["val_acc"] = *m.val_acc;
  return j;
}

// One line back; json_field_error (json_fields.hpp) for a field of the wrong kind or range.
inline epoch_metrics epoch_metrics_from_json(const nlohmann::json& j) {
  auto need = [&](const char* name) -> const nlohmann::json& {
    if (!j.is_object() || !j.contains(name)) throw json_field_error(std::string("no field '") + name + "'");
    return j.at(name);
  };
  auto number = [&](const char* name) {  // null: a value that was not finite
    const auto& v = need(name);
    return v.is_null() ? std::nan("") : json_value<double>(v, name);
  };
  epoch_metrics m;
  m.epoch = json_value<int>(need("epoch"), "epoch");
  m.step = json_value<std::int64_t>(need("step"), "step");
  m.lr = number("lr");
  m.train_loss = number("train_loss");
  m.train_acc = number("train_acc");
  if (j.contains("val_loss") && !j["val_loss"].is_null()) m.val_loss = json_value<double>(j["val_loss"], "val_loss");
  if (j.contains("val_acc") && !j["val_acc"].is_null()) m.val_acc = json_value<double>(j["val_acc"], "val_acc");
  m.images_per_second = number("images_per_second");
  m.wall_seconds = number("wall_seconds");
  return m;
}

// metrics.jsonl holds one JSON object per line, one line per completed epoch. The trainer keeps the
// whole history (it is also saved in each checkpoint, so a resumed run restores exactly the
// history of the epochs it continues from) and rewrites the file atomically after every epoch: a
// crash leaves the previous file whole, and `tail -f`-style readers see complete lines only.
inline std::string metrics_jsonl(std::span<const epoch_metrics> history) {
  std::string text;
  for (const auto& m : history) text += to_json(m).dump() + "\n";
  return text;
}

inline void write_metrics_file(const std::filesystem::path& path, std::span<const epoch_metrics> history) {
  write_file_atomically(path, "metrics file", metrics_jsonl(history));
}

// The lines of metrics.jsonl text (`source` names it in messages). Lines after epoch `up_to_epoch`
// are dropped: a resumed run re-does the epochs after its checkpoint. A last line cut short (a file
// appended to by an older version when it was killed) is skipped; any other bad line is refused.
inline std::vector<epoch_metrics> parse_metrics(std::string_view text, const std::string& source,
                                                std::optional<int> up_to_epoch = std::nullopt) {
  std::vector<epoch_metrics> out;
  std::size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    const bool last = end == std::string_view::npos || end + 1 >= text.size();
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    try {
      auto m = epoch_metrics_from_json(nlohmann::json::parse(line));
      if (!up_to_epoch || m.epoch <= *up_to_epoch) out.push_back(m);
    } catch (const nlohmann::json::exception& e) {
      if (last) break;
      throw metrics_error("cnnzoo: metrics " + source + ", line " + std::to_string(line_no) + ": " + e.what());
    } catch (const json_field_error& e) {
      throw metrics_error("cnnzoo: metrics " + source + ", line " + std::to_string(line_no) + ": " + e.what());
    }
  }
  return out;
}

// Reads metrics.jsonl back (to plot it, or to keep the history of a run resumed from a checkpoint
// that does not carry its history).
inline std::vector<epoch_metrics> read_metrics(const std::filesystem::path& path, std::optional<int> up_to_epoch = std::nullopt) {
  const auto bytes = read_regular_file<metrics_error>(path, "metrics file", max_metrics_bytes);
  return parse_metrics(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path.string(), up_to_epoch);
}

// The final summary of a run.
struct run_report {
  std::string model;
  int epochs = 0;
  std::string evaluated_on = "test";  // "test" (test_batch.bin) or "validation" (held-out split)
  double train_seconds = 0;          // wall time of the whole run, evaluation and checkpoints included
  double step_seconds = 0;           // this invocation's training steps alone (what a peer's training loop times)
  double images_per_second = 0;
  std::optional<double> final_loss;   // on the evaluated split
  confusion_matrix confusion{10};     // on the evaluated split
  std::vector<std::string> class_names;
  nlohmann::json config = nlohmann::json::object();  // the flags and recipe the run used
};

inline nlohmann::json to_json(const run_report& r) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  nlohmann::json per_class = nlohmann::json::object();
  const auto acc = r.confusion.per_class_accuracy();
  for (std::size_t c = 0; c < acc.size(); ++c) {
    const std::string name = c < r.class_names.size() ? r.class_names[c] : std::to_string(c);
    per_class[name] = num(acc[c]);
  }
  nlohmann::json j{{"model", r.model},
                   {"epochs", r.epochs},
                   {"evaluated_on", r.evaluated_on},
                   {"test_accuracy", num(r.confusion.accuracy())},
                   {"train_seconds", num(r.train_seconds)},
                   {"step_seconds", num(r.step_seconds)},
                   {"images_per_second", num(r.images_per_second)},
                   {"per_class_accuracy", per_class},
                   {"confusion_matrix", r.confusion.to_json()},
                   {"evaluated_images", r.confusion.total()},
                   {"config", r.config}};
  if (r.final_loss) j["test_loss"] = num(*r.final_loss);
  if (!r.class_names.empty()) j["class_names"] = r.class_names;
  return j;
}

// Writes report.json atomically (core/files.hpp), so a reader never sees half a report.
inline void write_report_json(const std::filesystem::path& path, const run_report& r) {
  write_file_atomically(path, "report", to_json(r).dump(2) + "\n");
}

}  // namespace cnnzoo::trainer
