#include "recipe.hpp"

namespace cnnzoo::trainer {

recipe seed_recipe(const zoo::table_row& row) {
  recipe r;
  r.model = row.name;
  if (row.name == "SE-WideResNet_2") return sota_recipe(row.name);
  // The seed table's batch size and epochs, and the table's learning rate: 0.1, or 0.01 for the
  // two networks without BatchNorm after every convolution, which do not survive 0.1 (SqueezeNet,
  // no BatchNorm at all, turns NaN within its first epoch; AlexNet's three unnormalized 3x3
  // layers make its loss explode).
  r.batch_size = row.seed_batch;
  r.epochs = row.seed_epochs;
  r.lr = row.seed_lr;
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

nlohmann::json recipe::to_json() const {
  return {{"model", model},           {"data_dir", data_dir},
          {"out_dir", out_dir},       {"device", device},
          {"precision", precision},   {"threads", threads},
          {"seed", seed},             {"epochs", epochs},
          {"batch_size", batch_size}, {"val_split", val_split},
          {"limit_train", limit_train}, {"lr", lr},
          {"schedule", schedule},     {"warmup_epochs", warmup_epochs},
          {"momentum", momentum},     {"nesterov", nesterov},
          {"weight_decay", weight_decay}, {"clip_norm", clip_norm},
          {"label_smoothing", label_smoothing}, {"mixup_alpha", mixup_alpha},
          {"dropout", dropout},       {"flip", flip},
          {"crop_padding", crop_padding}, {"cutout", cutout},
          {"rotation", rotation},     {"shift", shift},
          {"shear", shear},           {"zoom", zoom},
          {"checkpoint_every", checkpoint_every}};
}

recipe recipe::from_json(const nlohmann::json& j) {
  recipe r;
#define CNNZOO_FIELD(name) if (j.contains(#name)) j.at(#name).get_to(r.name)
  CNNZOO_FIELD(model); CNNZOO_FIELD(data_dir); CNNZOO_FIELD(out_dir); CNNZOO_FIELD(device);
  CNNZOO_FIELD(precision); CNNZOO_FIELD(threads); CNNZOO_FIELD(seed); CNNZOO_FIELD(epochs);
  CNNZOO_FIELD(batch_size); CNNZOO_FIELD(val_split); CNNZOO_FIELD(limit_train); CNNZOO_FIELD(lr);
  CNNZOO_FIELD(schedule); CNNZOO_FIELD(warmup_epochs); CNNZOO_FIELD(momentum); CNNZOO_FIELD(nesterov);
  CNNZOO_FIELD(weight_decay); CNNZOO_FIELD(clip_norm); CNNZOO_FIELD(label_smoothing);
  CNNZOO_FIELD(mixup_alpha); CNNZOO_FIELD(dropout); CNNZOO_FIELD(flip); CNNZOO_FIELD(crop_padding);
  CNNZOO_FIELD(cutout); CNNZOO_FIELD(rotation); CNNZOO_FIELD(shift); CNNZOO_FIELD(shear); CNNZOO_FIELD(zoom);
  CNNZOO_FIELD(checkpoint_every);
#undef CNNZOO_FIELD
  return r;
}

}  // namespace cnnzoo::trainer
