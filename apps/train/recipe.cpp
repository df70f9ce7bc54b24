#include "recipe.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "json_fields.hpp"

namespace cnnzoo::trainer {

recipe seed_recipe(const zoo::table_row& row) {
  recipe r;
  r.model = row.name;
  if (row.name == "SE-WideResNet_2") return sota_recipe(row.name);
  // The seed table's batch size and epochs; the table's learning rate and kernel initializer:
  // 0.1 and He-normal as the seed states them, lower for the two networks without BatchNorm after
  // every convolution, which do not survive 0.1 (AlexNet 0.01: its three unnormalized 3x3 layers
  // make its loss explode; SqueezeNet 0.02 with Glorot-uniform kernels: with He-normal its last
  // ReLUs die). docs/RECIPES.md gives the evidence.
  r.batch_size = row.seed_batch;
  r.epochs = row.seed_epochs;
  r.lr = row.seed_lr;
  r.init = std::string(to_string(row.seed_init));
  return r;
}

recipe sota_recipe(const std::string& model) {
  recipe r;
  r.model = model;
  r.epochs = 220;
  r.batch_size = 128;
  r.lr = 0.1;
  r.schedule = "htd";
  r.warmup_epochs = 5;
  r.weight_decay = 1e-4;
  r.momentum = 0.9;
  r.nesterov = true;
  r.label_smoothing = 0.1;
  r.mixup_alpha = 0.2;
  r.dropout = 0.1;
  r.clip_norm = 5.0;
  r.flip = true;
  r.crop_padding = 0;         // the seed shifts with the affine transform instead
  r.rotation = 15;
  r.shift = 0.1;
  r.shear = 10;
  r.zoom = 0.1;
  r.precision = "fp16";       // on the GPU; the CPU trains in fp32
  return r;
}

kernel_init parse_kernel_init(const std::string& name) {
  for (kernel_init k : {kernel_init::he_normal, kernel_init::glorot_uniform})
    if (name == to_string(k)) return k;
  throw std::invalid_argument("unknown kernel initializer '" + name + "' (he_normal or glorot_uniform)");
}

zoo::runner_options runner_options_for(const recipe& r) {
  zoo::runner_options o;
  o.batch = r.batch_size;
  o.seed = r.seed;
  o.threads = r.threads;
  o.precision = r.precision;
  o.init = parse_kernel_init(r.init);
  if (r.device == "cpu") o.device = zoo::device_kind::cpu;
  else if (r.device == "cuda") o.device = zoo::device_kind::cuda;
  else o.device = zoo::cuda_usable() ? zoo::device_kind::cuda : zoo::device_kind::cpu;
  // fp16/bf16 are GPU precisions; on the CPU the run falls back to fp32 and says so.
  if (o.device == zoo::device_kind::cpu) o.precision = "fp32";
  return o;
}

void configure(zoo::runner& net, const recipe& r) {
  net.optimizer().momentum = r.momentum;
  net.optimizer().nesterov = r.nesterov;
  net.optimizer().weight_decay = r.weight_decay;
  net.optimizer().clip_norm = r.clip_norm;
  net.optimizer().validate();
  net.options().dropout = static_cast<float>(r.dropout);
}

train::schedule schedule_for(const recipe& r, std::int64_t steps_per_epoch) {
  train::schedule_params sp;
  sp.lr = r.lr;
  if (r.time_budget_minutes > 0) {
    sp.total_steps = budget_steps;
    sp.steps_per_epoch = std::max<std::int64_t>(1, budget_steps / r.epochs);
    sp.warmup_steps = static_cast<std::int64_t>(std::llround(r.warmup_epochs / r.epochs * budget_steps));
  } else {
    sp.total_steps = steps_per_epoch * r.epochs;
    sp.steps_per_epoch = steps_per_epoch;
    sp.warmup_steps = static_cast<std::int64_t>(std::llround(r.warmup_epochs * static_cast<double>(steps_per_epoch)));
  }
  return train::make_schedule(r.schedule, sp);
}

std::int64_t budget_step(const recipe& r, double seconds) {
  const double f = std::clamp(seconds / (60 * r.time_budget_minutes), 0.0, 1.0);
  return std::min<std::int64_t>(budget_steps - 1, static_cast<std::int64_t>(f * static_cast<double>(budget_steps)));
}

data::augment_config augmentation_for(const recipe& r) {
  data::augment_config aug;
  aug.affine = {r.rotation, r.shift, r.shift, r.shear, r.zoom, false};
  aug.crop_padding = r.crop_padding;
  aug.random_flip = r.flip;
  aug.cutout_size = r.cutout;
  return aug;
}

nlohmann::json recipe::to_json() const {
  return {{"model", model},           {"data_dir", data_dir},
          {"out_dir", out_dir},       {"device", device},
          {"precision", precision},   {"threads", threads},
          {"seed", seed},             {"epochs", epochs},         {"time_budget_minutes", time_budget_minutes},
          {"batch_size", batch_size}, {"val_split", val_split},
          {"limit_train", limit_train}, {"lr", lr},
          {"schedule", schedule},     {"warmup_epochs", warmup_epochs},
          {"momentum", momentum},     {"nesterov", nesterov},
          {"weight_decay", weight_decay}, {"clip_norm", clip_norm}, {"sync_bn", sync_bn},
          {"label_smoothing", label_smoothing}, {"mixup_alpha", mixup_alpha},
          {"dropout", dropout},       {"init", init},             {"init_from", init_from},
          {"flip", flip},
          {"crop_padding", crop_padding}, {"cutout", cutout},
          {"rotation", rotation},     {"shift", shift},
          {"shear", shear},           {"zoom", zoom},
          {"checkpoint_every", checkpoint_every}};
}

recipe recipe::from_json(const nlohmann::json& j) {
  recipe r;
  // Each field must have its kind and fit its type (json_fields.hpp): a crafted checkpoint cannot
  // turn 1e300 into an int.
#define CNNZOO_FIELD(name) read_json_field(j, #name, r.name)
  CNNZOO_FIELD(model); CNNZOO_FIELD(data_dir); CNNZOO_FIELD(out_dir); CNNZOO_FIELD(device);
  CNNZOO_FIELD(precision); CNNZOO_FIELD(threads); CNNZOO_FIELD(seed); CNNZOO_FIELD(epochs); CNNZOO_FIELD(time_budget_minutes);
  CNNZOO_FIELD(batch_size); CNNZOO_FIELD(val_split); CNNZOO_FIELD(limit_train); CNNZOO_FIELD(lr);
  CNNZOO_FIELD(schedule); CNNZOO_FIELD(warmup_epochs); CNNZOO_FIELD(momentum); CNNZOO_FIELD(nesterov);
  CNNZOO_FIELD(weight_decay); CNNZOO_FIELD(clip_norm); CNNZOO_FIELD(sync_bn); CNNZOO_FIELD(label_smoothing);
  CNNZOO_FIELD(mixup_alpha); CNNZOO_FIELD(dropout); CNNZOO_FIELD(init); CNNZOO_FIELD(init_from); CNNZOO_FIELD(flip); CNNZOO_FIELD(crop_padding);
  CNNZOO_FIELD(cutout); CNNZOO_FIELD(rotation); CNNZOO_FIELD(shift); CNNZOO_FIELD(shear); CNNZOO_FIELD(zoom);
  CNNZOO_FIELD(checkpoint_every);
#undef CNNZOO_FIELD
  return r;
}

}  // namespace cnnzoo::trainer
