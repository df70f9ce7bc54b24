#include "cli.hpp"

#include <CLI/CLI.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <new>
#include <optional>

#include <unistd.h>

#if defined(CNNZOO_HAVE_MPI)
#include <cnnzoo/dist/mpi.hpp>
#endif

#include <cnnzoo/core/files.hpp>
#include <cnnzoo/data/cifar10.hpp>
#include <cnnzoo/dist/communicator.hpp>
#include <cnnzoo/io/safetensors.hpp>
#include <cnnzoo/train/checkpoint.hpp>
#include <cnnzoo/train/schedule.hpp>

#include "exit_codes.hpp"
#include "recipe_limits.hpp"
#include "run_directory.hpp"
#include "trainer.hpp"
#include "zoo/registry.hpp"

namespace cnnzoo::trainer {

namespace {

// ---- signals ----------------------------------------------------------------------------------------
// The first SIGINT, SIGTERM, SIGHUP, SIGUSR1 or SIGUSR2 (the two that mpirun forwards to every rank)
// asks the run to stop after its current step with a checkpoint
// (trainer.cpp polls this between steps); a second one ends the process at once by the signal's
// default action: the last checkpoint on disk is whole, as every write is atomic.
std::atomic<int> stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free flag");

void say(const char* text) {
  std::size_t n = 0;
  while (text[n] != '\0') ++n;
  (void)!::write(STDERR_FILENO, text, n);  // async-signal-safe, unlike stdio
}

extern "C" void on_stop_signal(int signo) {
  const int saved_errno = errno;
  if (stop_signal.exchange(signo) != 0) {
    say("\ncnnzoo-train: second signal: stopping now; the last checkpoint is kept\n");
    std::signal(signo, SIG_DFL);
    std::raise(signo);
    return;
  }
  say("\ncnnzoo-train: stop requested: finishing the current step and saving a checkpoint (send the signal again to stop at once)\n");
  errno = saved_errno;
}

void install_stop_handlers() {
  struct sigaction sa{};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2}) ::sigaction(s, &sa, nullptr);
}

// ---- flag checks --------------------------------------------------------------------------------------
// A number in `f`'s range, checked on the text before CLI11 converts it (so "nan", "inf", "1e308"
// and "-5" are refused with the range, not converted). `lowest` tightens the minimum for the flag.
CLI::Validator in_range(const field_range& f, std::optional<double> lowest = std::nullopt,
                        std::optional<double> highest = std::nullopt) {
  field_range r = f;
  if (lowest) r.min = *lowest;
  if (highest) r.max = *highest;
  std::string desc = r.text() + (r.meaning.empty() ? "" : " (" + r.meaning + ")");
  return CLI::Validator(
      [r](std::string& text) -> std::string {
        errno = 0;
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || end == text.c_str() || *end != '\0' || errno == ERANGE)
          return "'" + text + "' is not a number";
        if (!r.contains(v)) return text + " is outside " + r.text() + (r.integer ? " (a whole number)" : "");
        return {};
      },
      desc);
}

// A seed: a whole number in [0, 2^64 - 1], refused when negative rather than wrapped.
CLI::Validator seed_check() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
          return "'" + text + "' is not a whole number in [0, 18446744073709551615]";
        errno = 0;
        (void)std::strtoull(text.c_str(), nullptr, 10);
        if (errno == ERANGE) return text + " is larger than 18446744073709551615";
        return {};
      },
      "[0, 2^64-1]");
}

}  // namespace

namespace {
int train_job(int argc, char** argv, dist::communicator* ranks);
}  // namespace

int train_main(int argc, char** argv) {
  // ---- the job: one process, or the ranks mpirun started ------------------------------------------
#if defined(CNNZOO_HAVE_MPI)
  std::optional<dist::mpi_session> mpi;
  std::optional<dist::mpi_world> world;
  if (dist::launched_by_mpi()) {
    try {
      mpi.emplace(argc, argv);
      world.emplace();
    } catch (const dist::dist_error& e) {
      std::fprintf(stderr, "cnnzoo-train: %s\n", e.what());
      return exit_failure;
    }
  }
  dist::communicator* ranks = world && world->size() > 1 ? &*world : nullptr;
#else
  dist::communicator* ranks = nullptr;
  if (dist::launched_by_mpi()) {
    std::fprintf(stderr, "cnnzoo-train: started by an MPI launcher, but this build has no MPI (install libopenmpi-dev "
                         "and configure again, CNNZOO_MPI=AUTO or ON); every process would train on its own\n");
    return exit_bad_flags;
  }
#endif
  const int code = train_job(argc, argv, ranks);
#if defined(CNNZOO_HAVE_MPI)
  // A rank that ends early with an error (a flag its machine refuses, say) ends the job: the others
  // would wait for it in their first collective. A stop (9) is agreed by every rank and ends normally.
  if (ranks && code != exit_done && code != exit_interrupted) dist::mpi_world::abort(code);
#endif
  return code;
}

namespace {

int train_job(int argc, char** argv, dist::communicator* ranks) {
  const int rank = ranks ? ranks->rank() : 0;
  std::ostream discard(nullptr);   // the log of ranks other than 0
  std::ostream& log = rank == 0 ? std::cout : discard;

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
                                                    "to --resume (time-limited jobs)")
      ->check(in_range(range_of("--epochs"), 0.0));
  session s;
  app.add_flag("--overwrite", s.overwrite, "start a new run in an --out that holds one, replacing its files as the "
                                           "new run saves its own (never before)");
  bool partial = false;
  app.add_flag("--partial-data", partial, "train on data_batch_1..k when the later training files are absent (else "
                                          "a partial copy stops the run)");
  bool sync_bn = false;
  auto* sync = app.add_flag("--sync-bn", sync_bn, "with mpirun -np N: BatchNorm statistics over all ranks' images (else "
                                                 "each rank's own, their running means averaged every epoch)");
  app.add_flag("--allow-other-data", s.allow_other_data, "with --resume: continue although the data differs from "
                                                         "the data the checkpoint was trained on");
  app.footer(exit_code_table);

  // Every flag below overrides the recipe when given; each is checked against its range as it is
  // parsed, before anything is loaded.
  recipe o;
  auto ranged = [&](CLI::Option* opt) { return opt->check(in_range(range_of(opt->get_name()))); };
  auto* data = app.add_option("--data", o.data_dir, "CIFAR-10 directory (else $CNNZOO_DATA, else data/cifar10)");
  auto* epochs = ranged(app.add_option("--epochs", o.epochs, "epochs"));
  auto* budget = ranged(app.add_option("--time-budget", o.time_budget_minutes,
                                       "train for this many minutes of wall time (evaluation included): the schedule "
                                       "runs over the budget, --epochs still caps the run"));
  auto* batch = ranged(app.add_option("--batch-size", o.batch_size, "images per step"));
  auto* lr = ranged(app.add_option("--lr", o.lr, "peak learning rate"));
  std::string schedules;
  for (const auto& n : train::schedule_names()) schedules += (schedules.empty() ? "" : "|") + n;
  auto* schedule = app.add_option("--schedule", o.schedule, "learning-rate schedule: " + schedules)
                       ->check(CLI::IsMember(train::schedule_names()));
  auto* warmup = ranged(app.add_option("--warmup-epochs", o.warmup_epochs, "linear warm-up before the schedule"));
  auto* wd = ranged(app.add_option("--weight-decay", o.weight_decay, "L2 weight decay on kernels"));
  auto* momentum = ranged(app.add_option("--momentum", o.momentum, "SGD momentum"));
  auto* nesterov = app.add_option("--nesterov", o.nesterov, "Nesterov momentum (true|false)");
  auto* clip = ranged(app.add_option("--clip-norm", o.clip_norm, "clip gradients to this global L2 norm"));
  auto* ls = ranged(app.add_option("--label-smoothing", o.label_smoothing, "label smoothing epsilon"));
  auto* mix = ranged(app.add_option("--mixup-alpha", o.mixup_alpha, "mixup Beta(alpha, alpha)"));
  auto* drop = ranged(app.add_option("--dropout", o.dropout, "override every dropout layer's rate"));
  auto* init = app.add_option("--init", o.init, "kernel initializer: he_normal (the seed's) or glorot_uniform "
                                                "(Keras' default)")->check(CLI::IsMember({"he_normal", "glorot_uniform"}));
  auto* init_from = app.add_option("--init-from", o.init_from, "start from the weights of a safetensors file (a "
                                                               "run's model.safetensors) instead of drawing them");
  auto* flip = app.add_option("--flip", o.flip, "random horizontal flips (true|false)");
  auto* crop = ranged(app.add_option("--crop-padding", o.crop_padding, "random crops after zero padding by N"));
  auto* cutout = ranged(app.add_option("--cutout", o.cutout, "cutout box size"));
  auto* rotation = ranged(app.add_option("--rotation", o.rotation, "random rotation range"));
  auto* shift = ranged(app.add_option("--shift", o.shift, "random shift range"));
  auto* shear = ranged(app.add_option("--shear", o.shear, "random shear range"));
  auto* zoom = ranged(app.add_option("--zoom", o.zoom, "random zoom range (1 - z .. 1 + z)"));
  auto* precision = app.add_option("--precision", o.precision, "fp32|tf32|bf16|fp16 (tf32: fp32 with TF32 tensor cores, as PyTorch's allow_tf32; all but fp32 on CUDA only)")
                        ->check(CLI::IsMember({"fp32", "tf32", "bf16", "fp16"}));
  auto* device = app.add_option("--device", o.device, "auto|cpu|cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  auto* seed = app.add_option("--seed", o.seed, "random seed (runs on the CPU are deterministic per seed)")->check(seed_check());
  auto* out = app.add_option("--out", o.out_dir, "output directory (metrics, plot, report, checkpoint, weights)");
  auto* val = ranged(app.add_option("--val-split", o.val_split, "hold out the last N training images for validation"));
  auto* limit = app.add_option("--limit-train", o.limit_train, "train on the first N images only")
                    ->check(in_range(range_of("--limit-train"), 1.0));
  auto* threads = app.add_option("--threads", o.threads, "CPU threads (0: all cores)")
                      ->check(in_range(range_of("--threads"), std::nullopt, hardware_threads()));
  auto* every = ranged(app.add_option("--checkpoint-every", o.checkpoint_every, "epochs between checkpoints"));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every refusal exits 2, as documented (not CLI11's own codes).
    const int code = app.exit(e);
    return code == 0 ? exit_done : exit_bad_flags;
  }

  if (list) {
    for (const auto* e : zoo::models()) std::printf("%s\n", e->info.name.c_str());
    return exit_done;
  }
  if (model.empty() && resume.empty()) {
    std::fprintf(stderr, "cnnzoo-train: say which model to train (--model NAME; --list-models lists them), or --resume DIR\n");
    return exit_bad_flags;
  }
  // The progress written so far comes first, then the reason, when both go to one log. In a job of
  // several ranks the message names the rank, and the whole job ends at once: the other ranks
  // would wait for this one in their next collective forever.
  auto fail = [ranks](const std::string& message, int code) {
    std::cout.flush();
    if (!ranks) {
      std::fprintf(stderr, "%s\n", message.c_str());
      return code;
    }
    std::fprintf(stderr, "[rank %d of %d] %s\n", ranks->rank(), ranks->size(), message.c_str());
    std::fflush(stderr);
#if defined(CNNZOO_HAVE_MPI)
    dist::mpi_world::abort(code);
#endif
    return code;
  };
  try {
    recipe r;
    if (!model.empty()) {
      if (const auto* e = zoo::find(model))
        r = recipe_name == "sota" ? sota_recipe(e->info.name) : seed_recipe(e->info);
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
    if (sync->count()) r.sync_bn = sync_bn;
    // The ranks of a job on one machine share its cores (a default of this invocation, not saved).
    if (ranks) s.rank_threads = rank_thread_default(ranks->local_size());
    if (!out->count() && !model.empty()) r.out_dir = "runs/" + r.model;

    s.stop_after_epochs = stop_after;
    s.missing_batches = partial ? data::missing_batches::allow : data::missing_batches::refuse;
    if (!resume.empty()) {
      // A resumed run keeps its recipe (that is what makes it equal to an uninterrupted one); a flag
      // that would change it silently does nothing, so it is refused instead.
      std::string fixed;
      for (CLI::Option* opt : {batch, schedule, warmup, wd, momentum, nesterov, clip, ls, mix, drop, init, init_from, flip,
                               crop, cutout, rotation, shift, shear, zoom, precision, seed, val, limit, every, sync})
        if (opt->count()) fixed += (fixed.empty() ? "" : ", ") + opt->get_name();
      for (const char* name : {"--recipe", "--overwrite"})
        if (app.get_option(name)->count()) fixed += (fixed.empty() ? "" : ", ") + std::string(name);
      if (out->count() && !same_directory(o.out_dir, resume)) fixed += (fixed.empty() ? "" : ", ") + std::string("--out");
      if (!fixed.empty()) {
        std::fprintf(stderr, "cnnzoo-train: --resume continues %s with its saved recipe; %s cannot change it (only "
                             "--epochs, --lr, --device, --threads and --data can). Start a new run with --out for other settings.\n",
                     resume.c_str(), fixed.c_str());
        return exit_bad_flags;
      }
      s.resume_dir = resume;
      if (epochs->count()) s.epochs = o.epochs;
      if (lr->count()) s.lr = o.lr;
      if (device->count()) s.device = o.device;
      if (threads->count()) s.threads = o.threads;
      if (data->count()) s.data_dir = o.data_dir;
      r.model = model;  // checked against the checkpoint's model
    } else if (s.allow_other_data) {
      std::fprintf(stderr, "cnnzoo-train: --allow-other-data only applies to --resume\n");
      return exit_bad_flags;
    }
    install_stop_handlers();
    s.stop_signal = &stop_signal;
    s.ranks = ranks;
    const outcome result = run(r, log, s);
    return result.stopped_by_signal ? exit_interrupted : exit_done;
  } catch (const train_error& e) {
    return fail(e.what(), e.code);
  } catch (const data::data_error& e) {
    return fail(e.what(), exit_bad_data);
  } catch (const train::checkpoint_error& e) {
    return fail(e.what(), exit_bad_checkpoint);
  } catch (const metrics_error& e) {  // a resumed run's history that cannot be read
    return fail(e.what(), exit_bad_checkpoint);
  } catch (const io::weights_error& e) {
    return fail(e.what(), exit_bad_checkpoint);
  } catch (const write_error& e) {
    return fail(std::string(e.what()) + " (nothing half-written: the files from before the failed write are intact)",
                exit_cannot_write);
  } catch (const std::bad_alloc&) {
    return fail("cnnzoo-train: out of memory. Try a smaller --batch-size, --limit-train, or a machine with more memory.",
                exit_out_of_memory);
  } catch (const dist::dist_error& e) {
    return fail(e.what(), exit_failure);
  } catch (const std::exception& e) {
    return fail(std::string("cnnzoo-train: ") + e.what(), exit_failure);
  }
}

}  // namespace

}  // namespace cnnzoo::trainer
