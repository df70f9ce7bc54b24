#pragma once
// The training loop behind cnnzoo-train: data, augmentation, steps, evaluation, metrics, plots,
// checkpoints and resume. A library so that tests can run it in-process on generated data.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>

#include <cnnzoo/core/error.hpp>
#include <cnnzoo/data/cifar10.hpp>
#include <cnnzoo/dist/communicator.hpp>

#include "metrics.hpp"
#include "recipe.hpp"

namespace cnnzoo::trainer {

// A run that cannot continue: bad flags, NaN loss, a busy output directory, too little memory.
// Carries the exit code to use (exit_codes.hpp).
class train_error : public cnnzoo::error {
public:
  train_error(const std::string& what, int exit_code) : cnnzoo::error(what), code(exit_code) {}
  int code;
};

struct outcome {
  int epochs_done = 0;            // of the whole run, resumed epochs included
  bool finished = false;          // all of the recipe's epochs are done (else stopped by stop_after_epochs)
  double final_accuracy = 0;      // on the test split, else the validation split, else training (NaN if stopped)
  double train_seconds = 0;
  double images_per_second = 0;
  std::filesystem::path out_dir;
  int stopped_by_signal = 0;      // the signal that stopped the run (a checkpoint was saved), else 0
};

// How this invocation runs: from scratch, or continuing a saved run; what it may change of a
// saved run's recipe; when it stops.
struct session {
  // Continue the run saved in this directory: its checkpoint's recipe is used, not `r`'s (but a
  // non-empty r.model must name the checkpoint's model).
  std::optional<std::filesystem::path> resume_dir;
  // The only changes a resumed run accepts: a longer or shorter run, another peak learning rate,
  // another device or thread count (bit-identical results need the same ones), data that has moved.
  std::optional<int> epochs;
  std::optional<double> lr;
  std::optional<std::string> device;
  std::optional<int> threads;
  std::optional<std::string> data_dir;
  // > 0: stop after this many epochs of this invocation, with a checkpoint to resume from, as if
  // the job had been cut off (time-limited jobs; resume tests). No report is written then.
  int stop_after_epochs = 0;
  // A fresh run in a directory that holds a run (checkpoint, metrics, report) is refused unless
  // this is set; then the earlier run's files are replaced as the new run saves its own, never
  // before (a run killed before its first checkpoint leaves the earlier run whole).
  bool overwrite = false;
  // Train on data_batch_1..k when later training files are absent (else a partial copy is refused).
  data::missing_batches missing_batches = data::missing_batches::refuse;
  // Resume even though the data differs from the data the checkpoint was trained on.
  bool allow_other_data = false;
  // Set (to the signal's number) by a signal handler: the run finishes its current step, saves a
  // checkpoint that --resume continues exactly (mid-epoch included), and returns.
  const std::atomic<int>* stop_signal = nullptr;
  // The ranks of a data-parallel job (mpirun -np N; dist/mpi.hpp), nullptr for a one-process run.
  // Every rank calls run() with the same recipe; each trains on its share of every batch, rank 0
  // alone writes the output directory and `log` (give the others a stream that discards).
  dist::communicator* ranks = nullptr;
  // The CPU threads of each rank where the recipe leaves it to the machine (threads 0): the cores
  // this rank may run on, shared with the other ranks on its machine (rank_thread_default). Not
  // saved in the recipe: a job resumed with other ranks or elsewhere computes its own.
  std::optional<int> rank_threads;
  // Tests: the host memory to assume free instead of asking the system.
  std::optional<std::uint64_t> available_memory;
};

// Trains from scratch with recipe r, or continues a saved run (see `session`). Progress goes to
// `log`. Throws train_error (with its exit code: bad flags, non-finite loss or weights, busy output
// directory, not enough memory), data::data_error (bad data), train::checkpoint_error (a checkpoint
// that cannot be resumed), io::weights_error (--init-from) and write_error (an output that cannot
// be written). Nothing is loaded before every flag has been checked.
outcome run(const recipe& r, std::ostream& log, const session& s = {});

// Inference mode over a whole split, normalised with the training split's statistics.
struct evaluation {
  double loss = 0, accuracy = 0;
  confusion_matrix confusion{10};
};
evaluation evaluate(zoo::runner& net, const data::dataset& set, const data::channel_statistics& stats);
// The same over the ranks of a job: each evaluates its slice, the sums are combined (collective:
// every rank calls it).
evaluation evaluate(zoo::runner& net, const data::dataset& set, const data::channel_statistics& stats,
                    dist::communicator& ranks);

inline constexpr const char* checkpoint_file = "checkpoint.bin";
inline constexpr const char* metrics_file = "metrics.jsonl";
inline constexpr const char* report_file = "report.json";
inline constexpr const char* model_file = "model.safetensors";  // written with each checkpoint
inline constexpr const char* plot_file = "curves.png";

}  // namespace cnnzoo::trainer
