// cnnzoo-train: trains any zoo model on CIFAR-10 by its seed-table name.
//
//   cnnzoo-train --model ResNet18 --data data/cifar10 --epochs 30 --out runs/resnet18
//   cnnzoo-train --model SE-WideResNet_2 --recipe sota --device cuda
//   cnnzoo-train --resume runs/resnet18 --epochs 40
//   cnnzoo-train --list-models
//
// Exit codes: 0 done, 1 other failure, 2 bad flags or unknown model, 3 the loss or the weights
// became non-finite, 4 bad or missing data, 5 a checkpoint that cannot be resumed or a weights
// file (--init-from) that cannot be used.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include <cnnzoo/data/cifar10.hpp>
#include <cnnzoo/io/safetensors.hpp>
#include <cnnzoo/train/checkpoint.hpp>
#include <cnnzoo/train/schedule.hpp>

#include "train/trainer.hpp"
#include "zoo/registry.hpp"

int main(int argc, char** argv) {
  using namespace cnnzoo;
  CLI::App app{"cnnzoo-train: train a cnnzoo model on CIFAR-10 (official binary format)"};
  app.set_version_flag("--version", "cnnzoo-train 0.1.0");
  std::string model, recipe_name = "seed", resume;
  bool list = false;
  app.add_option("--model", model, "model by its seed-table name (see --list-models)");
  app.add_flag("--list-models", list, "list the models and exit");
  app.add_option("--recipe", recipe_name, "defaults: 'seed' (the seed table's batch and epochs per model) or 'sota' "
                                          "(the SE-WideResNet 'more tricks' recipe)")
      ->check(CLI::IsMember({"seed", "sota"}));
  app.add_option("--resume", resume, "continue the run saved in this output directory (with its recipe; only "
                                     "--epochs, --lr, --device, --threads and --data may change)");
  int stop_after = 0;
  app.add_option("--stop-after-epochs", stop_after, "stop after N epochs of this invocation, leaving a checkpoint "
                                                    "to --resume (time-limited jobs)");
  app.footer("Exit codes: 0 done, 1 other failure, 2 bad flags or unknown model, 3 non-finite loss or weights "
             "(the last good checkpoint is kept), 4 bad or missing data, 5 a checkpoint that cannot be resumed or a weights file "
             "(--init-from) that cannot be used.");

  // Every flag below overrides the recipe when given.
  trainer::recipe o;
  auto* data = app.add_option("--data", o.data_dir, "CIFAR-10 directory (else $CNNZOO_DATA, else data/cifar10)");
  auto* epochs = app.add_option("--epochs", o.epochs, "epochs");
  auto* budget = app.add_option("--time-budget", o.time_budget_minutes,
                                "train for this many minutes of wall time (evaluation included): the schedule runs "
                                "over the budget, --epochs still caps the run");
  auto* batch = app.add_option("--batch-size", o.batch_size, "images per step");
  auto* lr = app.add_option("--lr", o.lr, "peak learning rate");
  std::string schedules;
  for (const auto& n : train::schedule_names()) schedules += (schedules.empty() ? "" : "|") + n;
  auto* schedule = app.add_option("--schedule", o.schedule, "learning-rate schedule: " + schedules);
  auto* warmup = app.add_option("--warmup-epochs", o.warmup_epochs, "linear warm-up before the schedule");
  auto* wd = app.add_option("--weight-decay", o.weight_decay, "L2 weight decay on kernels");
  auto* momentum = app.add_option("--momentum", o.momentum, "SGD momentum");
  auto* nesterov = app.add_option("--nesterov", o.nesterov, "Nesterov momentum (true|false)");
  auto* clip = app.add_option("--clip-norm", o.clip_norm, "clip gradients to this global L2 norm (0: off)");
  auto* ls = app.add_option("--label-smoothing", o.label_smoothing, "label smoothing epsilon");
  auto* mix = app.add_option("--mixup-alpha", o.mixup_alpha, "mixup Beta(alpha, alpha) (0: off)");
  auto* drop = app.add_option("--dropout", o.dropout, "override every dropout layer's rate");
  auto* init = app.add_option("--init", o.init, "kernel initializer: he_normal (the seed's) or glorot_uniform "
                                                "(Keras' default)")->check(CLI::IsMember({"he_normal", "glorot_uniform"}));
  auto* init_from = app.add_option("--init-from", o.init_from, "start from the weights of a safetensors file (a "
                                                               "run's model.safetensors) instead of drawing them");
  auto* flip = app.add_option("--flip", o.flip, "random horizontal flips (true|false)");
  auto* crop = app.add_option("--crop-padding", o.crop_padding, "random crops after zero padding by N (0: off)");
  auto* cutout = app.add_option("--cutout", o.cutout, "cutout box size (0: off)");
  auto* rotation = app.add_option("--rotation", o.rotation, "random rotation range, degrees");
  auto* shift = app.add_option("--shift", o.shift, "random shift range, fraction of the image");
  auto* shear = app.add_option("--shear", o.shear, "random shear range, degrees");
  auto* zoom = app.add_option("--zoom", o.zoom, "random zoom range (1 - z .. 1 + z)");
  auto* precision = app.add_option("--precision", o.precision, "fp32|tf32|bf16|fp16 (tf32: fp32 with TF32 tensor cores, as PyTorch's allow_tf32; all but fp32 on CUDA only)")
                        ->check(CLI::IsMember({"fp32", "tf32", "bf16", "fp16"}));
  auto* device = app.add_option("--device", o.device, "auto|cpu|cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  auto* seed = app.add_option("--seed", o.seed, "random seed (runs on the CPU are deterministic per seed)");
  auto* out = app.add_option("--out", o.out_dir, "output directory (metrics, plot, report, checkpoint)");
  auto* val = app.add_option("--val-split", o.val_split, "hold out the last N training images for validation");
  auto* limit = app.add_option("--limit-train", o.limit_train, "train on the first N images only");
  auto* threads = app.add_option("--threads", o.threads, "CPU threads (0: all cores)");
  auto* every = app.add_option("--checkpoint-every", o.checkpoint_every, "epochs between checkpoints");
  CLI11_PARSE(app, argc, argv);

  if (list) {
    for (const auto* e : zoo::models()) std::printf("%s\n", e->info.name.c_str());
    return 0;
  }
  if (model.empty() && resume.empty()) {
    std::fprintf(stderr, "cnnzoo-train: say which model to train (--model NAME; --list-models lists them), or --resume DIR\n");
    return 2;
  }
  // The progress written so far comes first, then the reason, when both go to one log.
  auto fail = [](const std::string& message, int code) {
    std::cout.flush();
    std::fprintf(stderr, "%s\n", message.c_str());
    return code;
  };
  try {
    trainer::recipe r;
    if (!model.empty()) {
      if (const auto* e = zoo::find(model))
        r = recipe_name == "sota" ? trainer::sota_recipe(e->info.name) : trainer::seed_recipe(e->info);
      else
        r.model = model;  // run() explains that it is unknown
    }
    // Flags given on the command line override the recipe.
    auto take = [](CLI::Option* opt, auto& dst, const auto& src) { if (opt->count()) dst = src; };
    take(data, r.data_dir, o.data_dir);     take(epochs, r.epochs, o.epochs);
    take(budget, r.time_budget_minutes, o.time_budget_minutes);
    take(batch, r.batch_size, o.batch_size); take(lr, r.lr, o.lr);
    take(schedule, r.schedule, o.schedule); take(warmup, r.warmup_epochs, o.warmup_epochs);
    take(wd, r.weight_decay, o.weight_decay); take(momentum, r.momentum, o.momentum);
    take(nesterov, r.nesterov, o.nesterov); take(clip, r.clip_norm, o.clip_norm);
    take(ls, r.label_smoothing, o.label_smoothing); take(mix, r.mixup_alpha, o.mixup_alpha);
    take(drop, r.dropout, o.dropout);       take(init, r.init, o.init);
    take(init_from, r.init_from, o.init_from);
    take(flip, r.flip, o.flip);
    take(crop, r.crop_padding, o.crop_padding); take(cutout, r.cutout, o.cutout);
    take(rotation, r.rotation, o.rotation); take(shift, r.shift, o.shift);
    take(shear, r.shear, o.shear);          take(zoom, r.zoom, o.zoom);
    take(precision, r.precision, o.precision); take(device, r.device, o.device);
    take(seed, r.seed, o.seed);             take(out, r.out_dir, o.out_dir);
    take(val, r.val_split, o.val_split);    take(limit, r.limit_train, o.limit_train);
    take(threads, r.threads, o.threads);    take(every, r.checkpoint_every, o.checkpoint_every);
    if (!out->count() && !model.empty()) r.out_dir = "runs/" + r.model;

    trainer::session s;
    s.stop_after_epochs = stop_after;
    if (!resume.empty()) {
      // A resumed run keeps its recipe (that is what makes it equal to an uninterrupted one); a flag
      // that would change it silently does nothing, so it is refused instead.
      std::string fixed;
      for (CLI::Option* opt : {batch, schedule, warmup, wd, momentum, nesterov, clip, ls, mix, drop, init, init_from, flip,
                               crop, cutout, rotation, shift, shear, zoom, precision, seed, val, limit, every})
        if (opt->count()) fixed += (fixed.empty() ? "" : ", ") + opt->get_name();
      if (app.get_option("--recipe")->count()) fixed += (fixed.empty() ? "" : ", ") + std::string("--recipe");
      if (out->count() && std::filesystem::path(o.out_dir) != std::filesystem::path(resume))
        fixed += (fixed.empty() ? "" : ", ") + std::string("--out");
      if (!fixed.empty()) {
        std::fprintf(stderr, "cnnzoo-train: --resume continues %s with its saved recipe; %s cannot change it (only "
                             "--epochs, --lr, --device, --threads and --data can). Start a new run with --out for other settings.\n",
                     resume.c_str(), fixed.c_str());
        return 2;
      }
      s.resume_dir = resume;
      if (epochs->count()) s.epochs = o.epochs;
      if (lr->count()) s.lr = o.lr;
      if (device->count()) s.device = o.device;
      if (threads->count()) s.threads = o.threads;
      if (data->count()) s.data_dir = o.data_dir;
      r.model = model;  // checked against the checkpoint's model
    }
    trainer::run(r, std::cout, s);
    return 0;
  } catch (const trainer::train_error& e) {
    return fail(e.what(), e.code);
  } catch (const data::data_error& e) {
    return fail(e.what(), 4);
  } catch (const train::checkpoint_error& e) {
    return fail(e.what(), 5);
  } catch (const io::weights_error& e) {
    return fail(e.what(), 5);
  } catch (const std::exception& e) {
    return fail(std::string("cnnzoo-train: ") + e.what(), 1);
  }
}
