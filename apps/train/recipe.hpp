#pragma once
// Training recipes: every knob of a cnnzoo-train run, and the seed's defaults for each model.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include <cnnzoo/data/augment.hpp>
#include <cnnzoo/train/schedule.hpp>

#include "zoo/registry.hpp"

namespace cnnzoo::trainer {

struct recipe {
  // what and where
  std::string model;
  std::string data_dir;                 // empty: $CNNZOO_DATA, else data/cifar10
  std::string out_dir = "runs/latest";
  std::string device = "auto";          // auto | cpu | cuda
  std::string precision = "fp32";       // fp32 | tf32 | bf16 | fp16
  int threads = 0;                      // CPU threads, 0 = all
  std::uint64_t seed = 0;
  // how long
  int epochs = 100;
  int batch_size = 128;
  double time_budget_minutes = 0;       // > 0: the schedule runs over this much wall time, then the run ends
  int val_split = 0;                    // hold out the last N training images for validation
  int limit_train = 0;                  // > 0: train on the first N images only (quick runs)
  // optimiser and schedule
  double lr = 0.1;
  std::string schedule = "cosine";      // constant | step | cosine | htd | onecycle
  double warmup_epochs = 0;
  double momentum = 0.9;
  bool nesterov = true;
  double weight_decay = 5e-4;
  double clip_norm = 0;                 // 0: no clipping
  // Data-parallel runs (mpirun -np N): BatchNorm statistics over all ranks' images (else each
  // rank's own, and the running statistics are averaged over the ranks after every epoch).
  bool sync_bn = false;
  // regularisation
  double label_smoothing = 0;
  double mixup_alpha = 0;
  double dropout = -1;                  // < 0: each model's own rates
  // initialization
  std::string init = "he_normal";       // kernels: he_normal | glorot_uniform (graph/part.hpp)
  std::string init_from;                // a safetensors file to start from instead (io/weights.hpp)
  // augmentation
  bool flip = true;
  int crop_padding = 4;
  int cutout = 0;
  double rotation = 0, shift = 0, shear = 0, zoom = 0;  // Keras ImageDataGenerator ranges
  // bookkeeping
  int checkpoint_every = 1;             // epochs

  nlohmann::json to_json() const;
  // Fields absent from `j` keep their defaults; a field of the wrong kind or range throws
  // json_field_error (json_fields.hpp), a JSON value that is not an object too.
  static recipe from_json(const nlohmann::json& j);
};

// The seed's per-model settings from the zoo's table (zoo/models.tsv): its batch size, epochs and
// learning rate; SGD with Nesterov momentum, cosine decay, flips and 4-pixel crops.
recipe seed_recipe(const zoo::table_row& row);
// The seed's "more tricks" recipe (SE-WideResNet_2, 97.05%): HTD(-6, 3) decay with warm-up, mixup
// 0.2, label smoothing 0.1, weight decay 1e-4, dropout 0.1, Keras-style affine augmentation,
// gradient clipping, fp16 on the GPU, 220 epochs.
recipe sota_recipe(const std::string& model);

// "he_normal" -> kernel_init::he_normal; throws std::invalid_argument for an unknown name.
kernel_init parse_kernel_init(const std::string& name);

// What a recipe means to a run, in one place for cnnzoo-train and the learning check
// (tests/zoo/learning.cpp), so that the check tries exactly what the trainer does.
// The network: device, precision (fp32 on the CPU), batch, seed, threads, kernel initializer.
zoo::runner_options runner_options_for(const recipe& r);
// The optimiser (momentum, Nesterov, weight decay, clipping) and the dropout override.
void configure(zoo::runner& net, const recipe& r);
// The learning-rate schedule over the whole run, warm-up included. With a time budget its steps
// are the budget's fractions: schedule_for(r, ...)(budget_step(r, seconds)), warm-up keeping its
// share of the run (warmup_epochs / epochs).
train::schedule schedule_for(const recipe& r, std::int64_t steps_per_epoch);
inline constexpr std::int64_t budget_steps = 1'000'000;
std::int64_t budget_step(const recipe& r, double seconds);
// The augmentation of each training image.
data::augment_config augmentation_for(const recipe& r);

}  // namespace cnnzoo::trainer
