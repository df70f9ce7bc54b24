#pragma once
// Training recipes: every knob of a cnnzoo-train run, and the seed's defaults for each model.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

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
  // regularisation
  double label_smoothing = 0;
  double mixup_alpha = 0;
  double dropout = -1;                  // < 0: each model's own rates
  // augmentation
  bool flip = true;
  int crop_padding = 4;
  int cutout = 0;
  double rotation = 0, shift = 0, shear = 0, zoom = 0;  // Keras ImageDataGenerator ranges
  // bookkeeping
  int checkpoint_every = 1;             // epochs

  nlohmann::json to_json() const;
  static recipe from_json(const nlohmann::json& j);
};

// The seed's per-model settings from the zoo's table (zoo/models.tsv): its batch size, epochs and
// learning rate; SGD with Nesterov momentum, cosine decay, flips and 4-pixel crops.
recipe seed_recipe(const zoo::table_row& row);
// The seed's "more tricks" recipe (SE-WideResNet_2, 97.05%): HTD(-6, 3) decay with warm-up, mixup
// 0.2, label smoothing 0.1, weight decay 1e-4, dropout 0.1, Keras-style affine augmentation,
// gradient clipping, fp16 on the GPU, 220 epochs.
recipe sota_recipe(const std::string& model);

}  // namespace cnnzoo::trainer
