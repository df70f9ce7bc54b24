#pragma once
// The training loop behind cnnzoo-train: data, augmentation, steps, evaluation, metrics, plots,
// checkpoints and resume. A library so that tests can run it in-process on generated data.
#include <filesystem>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>

#include "recipe.hpp"

namespace cnnzoo::trainer {

// A run that cannot continue: bad flags, NaN loss. Carries the exit code to use.
class train_error : public std::runtime_error {
public:
  train_error(const std::string& what, int exit_code) : std::runtime_error(what), code(exit_code) {}
  int code;
};

struct outcome {
  int epochs_done = 0;
  double final_accuracy = 0;      // on the test split, else the validation split, else training
  double train_seconds = 0;
  double images_per_second = 0;
  std::filesystem::path out_dir;
};

// Trains from scratch with recipe r, or continues the run in `resume_dir` (whose saved recipe is
// used; `epochs_override` may extend it). Progress goes to `log`.
outcome run(const recipe& r, std::ostream& log, const std::optional<std::filesystem::path>& resume_dir = {},
            std::optional<int> epochs_override = {});

inline constexpr const char* checkpoint_file = "checkpoint.bin";
inline constexpr const char* metrics_file = "metrics.jsonl";
inline constexpr const char* report_file = "report.json";
inline constexpr const char* plot_file = "curves.png";

}  // namespace cnnzoo::trainer
