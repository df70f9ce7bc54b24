#include "trainer.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <cnnzoo/data/augment.hpp>
#include <cnnzoo/data/batch_plan.hpp>
#include <cnnzoo/data/cifar10.hpp>
#include <cnnzoo/dist/communicator.hpp>
#include <cnnzoo/dist/gradient_exchange.hpp>
#include <cnnzoo/io/weights.hpp>
#include <cnnzoo/train/checkpoint.hpp>
#include <cnnzoo/train/schedule.hpp>

#include "exit_codes.hpp"
#include "json_fields.hpp"
#include "memory.hpp"
#include "metrics.hpp"
#include "plot.hpp"
#include "progress.hpp"
#include "recipe_limits.hpp"
#include "run_directory.hpp"
#include "zoo/registry.hpp"

namespace cnnzoo::trainer {

namespace fs = std::filesystem;

namespace {

using clock_type = std::chrono::steady_clock;
constexpr int classes = 10;

// The recipe a run will use: every field in range (recipe_limits.hpp) and a thread count this
// machine has.
void validate(const recipe& r) {
  if (const auto problems = recipe_problems(r); !problems.empty())
    throw train_error("cnnzoo-train: " + join_problems(problems), exit_bad_flags);
  const int cores = hardware_threads();
  if (r.threads > cores)
    throw train_error("cnnzoo-train: --threads " + std::to_string(r.threads) + " is more than this machine's " +
                          std::to_string(cores) + " hardware threads; use --threads " + std::to_string(cores) +
                          " or fewer (0: all)",
                      exit_bad_flags);
}

}  // namespace

evaluation evaluate(zoo::runner& net, const data::dataset& set, const data::channel_statistics& stats) {
  evaluation e;
  const int batch = net.batch_capacity();
  std::vector<float> x, logits(static_cast<std::size_t>(batch) * classes);
  std::vector<std::size_t> idx;
  std::vector<std::uint8_t> labels;
  double loss_sum = 0;
  for (std::size_t first = 0; first < set.size(); first += static_cast<std::size_t>(batch)) {
    const int n = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(batch), set.size() - first));
    idx.resize(static_cast<std::size_t>(n));
    std::iota(idx.begin(), idx.end(), first);
    x.resize(static_cast<std::size_t>(n) * data::cifar10_image_bytes);
    labels.resize(static_cast<std::size_t>(n));
    data::gather_batch(set, idx, stats, x, labels);
    net.predict(x.data(), n, logits.data());
    for (int i = 0; i < n; ++i) {
      const float* z = logits.data() + static_cast<std::size_t>(i) * classes;
      const int label = labels[static_cast<std::size_t>(i)];
      const double zmax = *std::max_element(z, z + classes);
      double s = 0;
      for (int k = 0; k < classes; ++k) s += std::exp(z[k] - zmax);
      loss_sum += zmax + std::log(s) - z[label];
      e.confusion.add(label, static_cast<int>(std::max_element(z, z + classes) - z));
    }
  }
  e.loss = set.size() ? loss_sum / static_cast<double>(set.size()) : 0;
  e.accuracy = e.confusion.accuracy();
  return e;
}

evaluation evaluate(zoo::runner& net, const data::dataset& set, const data::channel_statistics& stats,
                    dist::communicator& ranks) {
  if (ranks.size() == 1) return evaluate(net, set, stats);
  // Each rank its own slice; then the loss sum and the confusion counts summed over the ranks.
  const dist::share mine = dist::shard(set.size(), ranks.rank(), ranks.size());
  const evaluation part = mine.count ? evaluate(net, set.slice(mine.first, mine.count), stats) : evaluation{};
  std::vector<double> sums(1 + classes * classes);
  sums[0] = part.loss * static_cast<double>(mine.count);
  for (int t = 0; t < classes; ++t)
    for (int p = 0; p < classes; ++p) sums[static_cast<std::size_t>(1 + t * classes + p)] = static_cast<double>(part.confusion.count(t, p));
  ranks.sum(std::span<double>(sums));
  evaluation e;
  e.loss = set.size() ? sums[0] / static_cast<double>(set.size()) : 0;
  for (int t = 0; t < classes; ++t)
    for (int p = 0; p < classes; ++p)
      e.confusion.add(t, p, static_cast<std::uint64_t>(sums[static_cast<std::size_t>(1 + t * classes + p)]));
  e.accuracy = e.confusion.accuracy();
  return e;
}

namespace {

// The trained network for other programs (cnnzoo-predict, a user's own, PyTorch through
// python/cnnzoo_torch): its weights, with what it takes to feed it an image: the per-channel
// mean and standard deviation the training images were normalized with (on the 0-1 pixel
// scale, pixel / 255) and the class names, in label order.
void save_model(const fs::path& path, const recipe& r, zoo::runner& net, const std::vector<float>& params,
                const std::vector<float>& state, const data::channel_statistics& stats,
                const std::vector<std::string>& class_names) {
  io::safetensors_writer w = io::weights_writer(net.tensors(), params, state, {.model = r.model});
  io::write_input_convention(w, stats, class_names);
  w.save(path);
}

// A checkpoint taken inside an epoch (a signal stopped the run there): what it takes to continue
// the epoch exactly where it stopped.
struct epoch_position {
  std::int64_t steps_done = 0;              // of this epoch
  std::vector<std::uint64_t> order;         // the epoch's shuffled image order
  double loss_sum = 0, seconds = 0;         // the epoch's totals so far
  std::int64_t correct = 0, seen = 0;
};

struct saved_progress {
  int epoch = 0;                            // completed epochs
  std::int64_t step = 0;                    // optimizer steps taken
  double wall_seconds = 0;
  std::optional<epoch_position> in_epoch;
};

// What a checkpoint says about the data it was trained on (refused on resume when it differs).
nlohmann::json data_identity(const data::dataset& train_all, const std::optional<data::dataset>& test) {
  auto hex = [](std::uint64_t v) {
    char buf[20];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return std::string(buf);
  };
  return {{"train_images", train_all.size()},
          {"train_fingerprint", hex(data::fingerprint(train_all))},
          {"test_images", test ? test->size() : 0},
          {"test_fingerprint", test ? hex(data::fingerprint(*test)) : std::string()}};
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::size_t count_non_finite(const std::vector<float>& v) {
  return static_cast<std::size_t>(std::count_if(v.begin(), v.end(), [](float x) { return !std::isfinite(x); }));
}

struct checkpoint_contents {
  const recipe& r;
  zoo::runner& net;
  const std::vector<float>& params;         // as just downloaded (and checked) from `net`
  const std::vector<float>& state;
  const rng& data_rng;
  const saved_progress& progress;
  const std::vector<epoch_metrics>& history;
  const nlohmann::json& data;
};

void save_checkpoint(const fs::path& path, const checkpoint_contents& c) {
  train::checkpoint_writer w(c.r.model);
  w.add_string("recipe", c.r.to_json().dump());
  w.add("params", c.params);
  w.add("state", c.state);
  w.add("momentum", c.net.velocity());
  const auto d = c.data_rng.state(), g = c.net.generator().state();
  w.add("rng.data", std::vector<std::uint64_t>(d.begin(), d.end()));
  w.add("rng.network", std::vector<std::uint64_t>(g.begin(), g.end()));
  w.add("progress.epoch_step", std::vector<std::int64_t>{c.progress.epoch, c.progress.step});
  w.add("progress.wall_seconds", std::vector<double>{c.progress.wall_seconds});
  if (const auto& e = c.progress.in_epoch) {
    w.add("progress.in_epoch", std::vector<std::int64_t>{e->steps_done, e->correct, e->seen});
    w.add("progress.in_epoch_sums", std::vector<double>{e->loss_sum, e->seconds});
    w.add("progress.in_epoch_order", e->order);
  }
  // The run's history, so that a resumed run restores exactly the metrics of the epochs it continues.
  w.add_string("history", metrics_jsonl(c.history));
  w.add_string("data", c.data.dump());
  // The table of tensors, so a checkpoint can be read without this build.
  std::string table;
  for (const auto& e : c.net.tensors()) {
    table += e.path + (e.is_state ? "\tstate\t" : "\tparam\t") + std::to_string(e.offset) + "\t" +
             std::to_string(e.info.count()) + "\n";
  }
  w.add_string("tensors", table);
  w.save_atomic(path);
}

std::array<std::uint64_t, 4> to_state(const std::vector<std::uint64_t>& v) {
  if (v.size() != 4) throw train::checkpoint_error("cnnzoo: checkpoint random-number state has the wrong size");
  return {v[0], v[1], v[2], v[3]};
}

// The recipe a checkpoint was saved with, checked as an input: a crafted or damaged file with a
// valid checksum must not carry a NaN augmentation range or a float where a count belongs.
recipe saved_recipe(const train::checkpoint_reader& ck) {
  auto corrupt = [&](const std::string& why) {
    return train::checkpoint_error("cnnzoo: checkpoint " + ck.source() + " cannot be resumed: " + why);
  };
  recipe r;
  try {
    r = recipe::from_json(nlohmann::json::parse(ck.get_string("recipe")));
  } catch (const nlohmann::json::exception& e) {
    throw corrupt(std::string("its recipe cannot be read (") + e.what() + ")");
  } catch (const json_field_error& e) {
    throw corrupt(std::string("its recipe cannot be read (") + e.what() + ")");
  }
  ck.expect_model(r.model);
  if (const auto problems = recipe_problems(r); !problems.empty()) throw corrupt("its recipe has " + join_problems(problems));
  return r;
}

// Refuses (exit 8) a run whose estimated host memory is over what is available, naming the size
// and the largest batch that fits.
void refuse_what_cannot_fit(const zoo::model_info& model, const data::data_files& files, const zoo::runner_options& ro,
                            int batch, const session& sess, int local_ranks) {
  const memory_need need = estimate_memory(model, files, ro.device == zoo::device_kind::cpu);
  std::optional<std::uint64_t> avail = sess.available_memory ? sess.available_memory : available_memory();
  // The ranks of a job on this machine share its memory.
  if (avail) *avail /= static_cast<std::uint64_t>(local_ranks);
  if (!avail || need.total(batch) <= *avail) return;
  const int fits = largest_batch_that_fits(need, *avail);
  throw train_error("cnnzoo-train: this run needs about " + gibibytes(need.total(batch)) + " of memory (data " +
                        gibibytes(need.data) + ", network " + gibibytes(need.network) + ", a batch of " +
                        std::to_string(batch) + " " + gibibytes(need.per_image * static_cast<std::uint64_t>(batch)) +
                        "), and " + gibibytes(*avail) + " is available. " +
                        (fits > 0 ? "The largest batch that fits is " + std::to_string(fits) + " (--batch-size " +
                                        std::to_string(fits) + ")."
                                  : std::string("Not even the data and the network fit: use --limit-train, or a machine with more memory.")),
                    exit_out_of_memory);
}

// Puts a checkpoint's state into `net` and `data_rng` and returns its progress (`planned_epochs`:
// its recipe's, before any --epochs of this invocation), every value
// checked first: counts against this build's model (another shape is a checkpoint_error, not a
// failure inside the network), finite weights, counters within the saved plan (a crafted 2^32 + 1
// cannot wrap into a small epoch), a mid-epoch position that can exist.
saved_progress restore_checkpoint(const train::checkpoint_reader& ck, int planned_epochs, zoo::runner& net, rng& data_rng,
                                  std::size_t n_train, std::int64_t steps_per_epoch) {
  auto corrupt = [&](const std::string& why) {
    return train::checkpoint_error("cnnzoo: checkpoint " + ck.source() + " cannot be resumed: " + why);
  };
  const std::size_t n_params = net.params().size(), n_state = net.state().size();
  const auto params = ck.get<float>("params", n_params), state = ck.get<float>("state", n_state),
             momentum = ck.get<float>("momentum", n_params);
  for (const auto& [v, what] : {std::pair{&params, "parameters"}, {&state, "BatchNorm statistics"}, {&momentum, "momentum values"}})
    if (const std::size_t bad = count_non_finite(*v))
      throw corrupt(std::to_string(bad) + " of its " + std::to_string(v->size()) + " " + what + " are NaN or infinite");
  net.set_params(params);
  net.set_state(state);
  net.set_velocity(momentum);
  data_rng.set_state(to_state(ck.get<std::uint64_t>("rng.data")));
  net.generator().set_state(to_state(ck.get<std::uint64_t>("rng.network")));
  const auto es = ck.get<std::int64_t>("progress.epoch_step", 2);
  const double wall = ck.get<double>("progress.wall_seconds", 1)[0];
  // The saved recipe's epochs bound the epoch counter (the loop never passes them).
  if (es[0] < 0 || es[0] > planned_epochs)
    throw corrupt("its epoch counter " + std::to_string(es[0]) + " is outside 0.." + std::to_string(planned_epochs));
  if (es[1] < 0 || es[1] > (es[0] + 1) * steps_per_epoch)
    throw corrupt("its step counter " + std::to_string(es[1]) + " does not fit " + std::to_string(es[0]) + " epochs of " +
                  std::to_string(steps_per_epoch) + " steps");
  if (!std::isfinite(wall) || wall < 0) throw corrupt("its wall time is not a finite number of seconds");
  saved_progress progress{static_cast<int>(es[0]), es[1], wall, std::nullopt};
  if (ck.has("progress.in_epoch")) {
    const auto v = ck.get<std::int64_t>("progress.in_epoch", 3);
    const auto sums = ck.get<double>("progress.in_epoch_sums", 2);
    epoch_position e{v[0], ck.get<std::uint64_t>("progress.in_epoch_order", n_train), sums[0], sums[1], v[1], v[2]};
    std::vector<bool> seen_index(n_train, false);
    for (const std::uint64_t i : e.order) {
      if (i >= n_train || seen_index[i]) throw corrupt("its epoch order is not a permutation of the training set");
      seen_index[i] = true;
    }
    if (e.steps_done < 0 || e.steps_done > steps_per_epoch || e.correct < 0 || e.seen < 0 || e.correct > e.seen ||
        !std::isfinite(e.loss_sum) || !std::isfinite(e.seconds))
      throw corrupt("its position inside epoch " + std::to_string(progress.epoch + 1) + " is impossible");
    progress.in_epoch = std::move(e);
  }
  return progress;
}

// The CRC-32 of the checkpoints (train/crc32.hpp) over the bytes of each argument in turn: what
// ranks compare to know that they hold the same thing.
template <class... Contiguous>
std::uint32_t checksum(const Contiguous&... items) {
  std::uint32_t crc = 0;
  ((crc = train::crc32({reinterpret_cast<const std::uint8_t*>(items.data()), items.size() * sizeof(*items.data())}, crc)), ...);
  return crc;
}

// Whether this rank's `hash` is rank 0's (collective).
bool same_as_leader(dist::communicator& ranks, std::uint64_t hash) {
  std::uint64_t leaders = hash;
  ranks.broadcast_values(std::span<std::uint64_t>(&leaders, 1), 0);
  return hash == leaders;
}

// The job's ranks must start from the same place: the same data (each rank reads its own copy of
// the files), and the same recipe, progress, epoch order and random-number states (each rank reads
// its own copy of a resumed checkpoint). A rank that differs is named; the job ends.
void check_same_start(dist::communicator& ranks, const nlohmann::json& data, const fs::path& data_dir,
                      const nlohmann::json& start) {
  if (!same_as_leader(ranks, checksum(data.dump())))
    throw data::data_error("cnnzoo-train: rank " + std::to_string(ranks.rank()) + " reads other data in " + data_dir.string() +
                           " than rank 0 (" + data.dump() + "); every rank of a job must see the same CIFAR-10 files");
  if (!same_as_leader(ranks, checksum(start.dump())))
    throw train::checkpoint_error("cnnzoo-train: rank " + std::to_string(ranks.rank()) +
                                  " starts from another recipe or checkpoint than rank 0 (" + start.dump() +
                                  "); every rank must read the same checkpoint: put --out on a filesystem all ranks see");
}

// Every rank's weights, BatchNorm statistics and momentum must be rank 0's, bit for bit, after
// every epoch: a difference means the ranks have stopped taking the same steps, and training on
// would only hide it.
void check_same_weights(dist::communicator& ranks, const std::vector<float>& params, const std::vector<float>& state,
                        const std::vector<float>& momentum, int epoch) {
  if (!same_as_leader(ranks, checksum(params, state, momentum)))
    throw dist::dist_error("cnnzoo-train: rank " + std::to_string(ranks.rank()) +
                           "'s weights, statistics or momentum differ from rank 0's after epoch " + std::to_string(epoch) +
                           " (the ranks no longer take the same steps); the last checkpoint is rank 0's");
}

// The loss and accuracy totals of the whole job: every rank's summed.
ops::step_totals job_totals(dist::communicator& ranks, ops::step_totals t) {
  if (ranks.size() == 1) return t;
  double v[3] = {t.loss_sum, static_cast<double>(t.images), static_cast<double>(t.correct)};
  ranks.sum(std::span<double>(v, 3));
  t.loss_sum = v[0];
  t.images = static_cast<unsigned long long>(v[1]);
  t.correct = static_cast<unsigned long long>(v[2]);
  return t;
}

}  // namespace

outcome run(const recipe& given, std::ostream& log, const session& sess) {
  dist::solo alone;
  dist::communicator& ranks = sess.ranks ? *sess.ranks : alone;
  const int rank = ranks.rank(), n_ranks = ranks.size();
  const bool leader = rank == 0;   // the one rank that writes files
  // ---- the recipe: as given, or as saved by the run being resumed; every value checked first ----
  recipe r = given;
  std::optional<train::checkpoint_reader> ck;
  int saved_epochs = 0;  // the resumed run's plan, which bounds its checkpoint's epoch counter
  if (sess.resume_dir) {
    if (sess.overwrite) throw train_error("cnnzoo-train: --resume continues a run; --overwrite starts a new one. Choose one.", exit_bad_flags);
    ck = train::checkpoint_reader::load(*sess.resume_dir / checkpoint_file);
    // The model named in the file's header is the one it was written for; the user's --model
    // (if any) must be that one.
    if (!given.model.empty()) {
      const zoo::entry* asked = zoo::find(given.model);
      ck->expect_model(asked ? asked->info.name : given.model);
    }
    r = saved_recipe(*ck);
    saved_epochs = r.epochs;
    r.out_dir = sess.resume_dir->string();
    if (sess.epochs) r.epochs = *sess.epochs;
    if (sess.lr) r.lr = *sess.lr;
    if (sess.device) r.device = *sess.device;
    if (sess.threads) r.threads = *sess.threads;
    if (sess.data_dir) r.data_dir = *sess.data_dir;
  }
  validate(r);
  if (sess.stop_after_epochs < 0) throw train_error("cnnzoo-train: --stop-after-epochs must be >= 0", exit_bad_flags);
  const zoo::entry* entry = zoo::find(r.model);
  if (!entry) {
    std::string known;
    for (const auto* m : zoo::models()) known += " " + m->info.name;
    throw train_error("cnnzoo-train: unknown model '" + r.model + "'; known:" + known, exit_bad_flags);
  }
  r.model = entry->info.name;
  if (n_ranks > 1 && runner_options_for(r).device == zoo::device_kind::cuda)
    throw train_error("cnnzoo-train: a job of " + std::to_string(n_ranks) + " ranks trains with the CPU policy for now (the "
                      "CUDA policy's gradient sum over NCCL, include/cnnzoo/dist/nccl.hpp, is not in cnnzoo-train yet); "
                      "add --device cpu",
                      exit_bad_flags);

  // ---- the output directory: this run's alone (rank 0's: the one rank that writes) ----------------
  std::optional<run_directory> dir;
  if (leader) dir.emplace(r.out_dir);
  const fs::path out = leader ? dir->path() : fs::path(r.out_dir);
  const std::string earlier = ck || !leader ? std::string() : dir->earlier_run();
  if (!earlier.empty() && !sess.overwrite)
    throw train_error("cnnzoo-train: " + out.string() + " holds a run (" + earlier + "). Continue it with --resume " +
                          out.string() + ", replace it with --overwrite, or choose another --out.",
                      exit_out_dir_taken);
  // Whether the files here are this run's to rewrite: the run resumed from, or an empty directory.
  // A run that replaces another (--overwrite) owns them from its first checkpoint on.
  bool dir_is_ours = earlier.empty();
  if (!earlier.empty())
    log << "cnnzoo-train: note: replacing the run in " << out.string() << " (" << earlier
        << ") as this one saves its own; until then it stays as it is\n";

  // ---- data: examined (sizes, kinds) before any of it is read ------------------------------------
  const fs::path data_dir = data::resolve_data_dir(r.data_dir.empty() ? std::nullopt : std::optional<std::string>(r.data_dir));
  const data::data_files files = data::examine(data_dir, sess.missing_batches);
  if (!files.missing.empty()) {
    std::string list;
    for (const auto& m : files.missing) list += (list.empty() ? "" : ", ") + m;
    log << "cnnzoo-train: note: training on " << files.train.size() << " of " << data::cifar10_train_batches
        << " training files (" << list << " absent; --partial-data)\n";
  }
  const std::size_t n_files_train = files.train_images();
  if (r.val_split > 0 && static_cast<std::size_t>(r.val_split) >= n_files_train)
    throw train_error("cnnzoo-train: --val-split " + std::to_string(r.val_split) + " leaves no training images (" +
                          std::to_string(n_files_train) + " in " + files.base.string() + ")",
                      exit_bad_flags);
  std::size_t n_train = n_files_train - static_cast<std::size_t>(r.val_split);
  if (r.limit_train > 0) n_train = std::min(n_train, static_cast<std::size_t>(r.limit_train));
  if (static_cast<std::size_t>(r.batch_size) > n_train) {
    if (ck) throw train::checkpoint_error("cnnzoo: checkpoint " + ck->source() + " cannot be resumed: its batch of " +
                                          std::to_string(r.batch_size) + " is larger than the training set");
    log << "cnnzoo-train: note: the batch of " << r.batch_size << " is larger than the training set; using its "
        << n_train << " images per step\n";
    r.batch_size = static_cast<int>(n_train);
  }
  // A job of several ranks: every step's global batch of r.batch_size images is split over the
  // ranks (dist::shard), so each rank's network holds its largest share.
  if (n_ranks > 1) {
    const std::size_t last = n_train % static_cast<std::size_t>(r.batch_size);
    if (static_cast<std::size_t>(r.batch_size) < static_cast<std::size_t>(n_ranks) || (last > 0 && last < static_cast<std::size_t>(n_ranks)))
      throw train_error("cnnzoo-train: " + std::to_string(n_ranks) + " ranks cannot share " +
                            (static_cast<std::size_t>(r.batch_size) < static_cast<std::size_t>(n_ranks)
                                 ? "a batch of " + std::to_string(r.batch_size)
                                 : "the last step of each epoch (" + std::to_string(last) + " of " + std::to_string(n_train) +
                                       " images)") +
                            ": every rank needs at least one image per step. Choose another --batch-size or --limit-train.",
                        exit_bad_flags);
  }
  zoo::runner_options ro = runner_options_for(r);
  if (ro.threads == 0 && sess.rank_threads) ro.threads = *sess.rank_threads;
  const int rank_batch = static_cast<int>(dist::shard(static_cast<std::size_t>(r.batch_size), 0, n_ranks).count);
  ro.batch = rank_batch;
  refuse_what_cannot_fit(entry->info, files, ro, rank_batch, sess, ranks.local_size());

  data::dataset train_set = data::load_train(data_dir, sess.missing_batches);
  std::optional<data::dataset> test_set = data::load_test(data_dir);
  const nlohmann::json identity = data_identity(train_set, test_set);
  if (ck && ck->has("data")) {
    nlohmann::json saved;
    try {
      saved = nlohmann::json::parse(ck->get_string("data"));
    } catch (const nlohmann::json::exception& e) {
      throw train::checkpoint_error("cnnzoo: checkpoint " + ck->source() + " is corrupt: its data record cannot be read (" + e.what() + ")");
    }
    if (saved != identity && !sess.allow_other_data)
      throw data::data_error("cnnzoo-train: " + data_dir.string() + " is not the data " + out.string() +
                             " was trained on (checkpoint: " + saved.dump() + "; here: " + identity.dump() +
                             "). Resume with the same data, or pass --allow-other-data to continue on this data anyway.");
  }
  std::optional<data::dataset> val_set;
  if (r.val_split > 0) {
    auto [t, v] = data::split_validation(std::move(train_set), static_cast<std::size_t>(r.val_split));
    train_set = std::move(t);
    val_set = std::move(v);
  }
  if (r.limit_train > 0 && static_cast<std::size_t>(r.limit_train) < train_set.size())
    train_set = train_set.slice(0, static_cast<std::size_t>(r.limit_train));
  const std::vector<std::string> class_names = data::load_class_names(data_dir);
  const data::channel_statistics stats = data::channel_stats(train_set);

  // ---- the network ---------------------------------------------------------------------------------
  std::unique_ptr<zoo::runner> net = entry->make(ro);
  configure(*net, r);
  if (!ck && !r.init_from.empty()) {
    // Parameters and BatchNorm statistics from the file; momentum starts at zero.
    std::vector<float> p(net->params().size()), st(net->state().size());
    io::read_weights(io::safetensors_reader(r.init_from), net->tensors(), p, st, r.model);
    for (const auto* v : {&p, &st})
      if (const std::size_t bad = count_non_finite(*v))
        throw io::weights_error("cnnzoo: weights file " + r.init_from + " holds " + std::to_string(bad) +
                                " NaN or infinite values; it cannot start a run");
    net->set_params(p);
    net->set_state(st);
    log << "cnnzoo-train: starting from the weights of " << r.init_from << "\n";
  }

  rng data_rng(r.seed ^ 0xDA7A5EEDull);
  saved_progress progress{};
  std::vector<epoch_metrics> history;
  const std::int64_t steps_per_epoch = static_cast<std::int64_t>((n_train + static_cast<std::size_t>(r.batch_size) - 1) /
                                                                 static_cast<std::size_t>(r.batch_size));
  if (ck) {
    progress = restore_checkpoint(*ck, saved_epochs, *net, data_rng, n_train, steps_per_epoch);
    if (ck->has("history")) history = parse_metrics(ck->get_string("history"), "history of " + ck->source(), progress.epoch);
    else if (fs::exists(out / metrics_file)) history = read_metrics(out / metrics_file, progress.epoch);
  }
  std::int64_t last_saved_step = progress.step;
  int last_saved_epoch = progress.epoch;
  bool own_checkpoint = ck.has_value();

  // ---- the job's ranks: one set of weights, each rank its own share of every batch ------------------
  std::optional<dist::gradient_exchange> exchange;
  if (n_ranks > 1) {
    nlohmann::json recipe_json = r.to_json();
    for (const char* local : {"threads", "out_dir", "data_dir"}) recipe_json.erase(local);   // each rank's own
    const auto d = data_rng.state(), g = net->generator().state();
    nlohmann::json start = {{"recipe", recipe_json},
                            {"epoch", progress.epoch},
                            {"step", progress.step},
                            {"rng", {d[0], d[1], d[2], d[3], g[0], g[1], g[2], g[3]}},
                            {"in_epoch_steps", progress.in_epoch ? progress.in_epoch->steps_done : -1}};
    if (progress.in_epoch) start["in_epoch_order"] = checksum(progress.in_epoch->order);
    check_same_start(ranks, identity, data_dir, start);
    exchange.emplace(ranks);
    if (!net->set_gradient_exchange(&*exchange))
      throw train_error("cnnzoo-train: " + net->device() + " cannot sum gradients over ranks; use --device cpu", exit_bad_flags);
    if (r.sync_bn && !net->set_batch_norm_sync(&ranks))
      throw train_error("cnnzoo-train: --sync-bn needs the CPU policy", exit_bad_flags);
    // Rank 0's weights, statistics and momentum on every rank, whatever each drew or read (another
    // machine's libm may round an initial draw differently).
    auto same_as_leader = [&](std::vector<float> v) {
      ranks.broadcast_values(std::span<float>(v), 0);
      return v;
    };
    net->set_params(same_as_leader(net->params()));
    net->set_state(same_as_leader(net->state()));
    net->set_velocity(same_as_leader(net->velocity()));
    // (Each rank draws its own dropout masks from the one generator state all ranks share:
    // train::trainer::set_gradient_exchange.)
  } else if (r.sync_bn) {
    log << "cnnzoo-train: note: --sync-bn has nothing to synchronize in a one-process run\n";
  }

  const train::schedule lr_at = schedule_for(r, steps_per_epoch);
  const data::augment_config aug = augmentation_for(r);
  const int batch = r.batch_size;

  if (r.device != "cuda" && net->device().rfind("cpu", 0) == 0 && r.precision != "fp32")
    log << "cnnzoo-train: note: the CPU trains in fp32 (the recipe's " << r.precision << " applies on CUDA)\n";
  log << "cnnzoo-train: " << r.model << " (" << entry->info.trainable << " trainable parameters) on "
      << net->device() << ", " << n_train << " training images"
      << (val_set ? ", " + std::to_string(val_set->size()) + " held out for validation" : std::string{})
      << (test_set ? ", " + std::to_string(test_set->size()) + " test images" : std::string{}) << ", batch " << batch
      << ", " << r.epochs << " epochs, schedule " << lr_at.name() << "\n";
  if (n_ranks > 1)
    log << "cnnzoo-train: job of " << n_ranks << " ranks (" << ranks.engine() << "), " << rank_batch
        << " images per rank and step at most, BatchNorm statistics " << (r.sync_bn ? "over all ranks (--sync-bn)" : "per rank")
        << "\n";
  if (ck)
    log << "cnnzoo-train: resuming " << out.string() << " after epoch " << progress.epoch
        << (progress.in_epoch ? " and " + std::to_string(progress.in_epoch->steps_done) + " steps of epoch " +
                                    std::to_string(progress.epoch + 1)
                              : std::string())
        << "\n";

  // The metrics and the plot show the history of the run they sit beside.
  auto write_history = [&] {
    if (!leader) return;
    write_metrics_file(out / metrics_file, history);
    training_history h;
    for (const auto& e : history) {
      h.epoch.push_back(e.epoch);
      h.train_loss.push_back(e.train_loss);
      h.train_acc.push_back(e.train_acc);
      h.val_loss.push_back(e.val_loss.value_or(NAN));
      h.val_acc.push_back(e.val_acc.value_or(NAN));
    }
    write_training_curves(out / plot_file, h, val_set ? "validation" : "test");
  };
  // A resumed run's files restart from the checkpoint's history (epochs after it are re-done).
  if (ck) write_history();

  // A resumed run with nothing left to do leaves its files as they are.
  // (Rank 0 looks; every rank follows.)
  if (ck && progress.epoch >= r.epochs && !progress.in_epoch && ranks.any(leader && fs::exists(out / report_file))) {
    log << "cnnzoo-train: " << out.string() << " has finished all " << r.epochs << " epochs; nothing to do (" << report_file
        << " is unchanged; --epochs N continues it for longer)\n";
    outcome o;
    o.epochs_done = progress.epoch;
    o.finished = true;
    o.final_accuracy = history.empty() ? NAN : history.back().val_acc.value_or(NAN);
    o.train_seconds = progress.wall_seconds;
    o.out_dir = out;
    return o;
  }

  progress_reporter reporter(log, r.epochs, steps_per_epoch, batch);
  net->set_training_images(train_set.pixels, data::render_norm(stats));
  std::vector<std::size_t> order(n_train);
  // A non-finite loss or weights end the run (exit code 3), naming the checkpoint to go back to.
  auto stop_non_finite = [&](const std::string& what) {
    throw train_error("cnnzoo-train: " + what + ". The last good checkpoint " +
                          (own_checkpoint ? "is " + (out / checkpoint_file).string() + " (epoch " +
                                                std::to_string(last_saved_epoch) + ")"
                                          : std::string("does not exist yet")) +
                          "; try a lower --lr, --clip-norm 5 or --warmup-epochs 5.",
                      exit_non_finite);
  };
  // The parameters and BatchNorm statistics as fp32 on the host, checked finite: what a checkpoint
  // saves. Downloaded once per epoch (a copy of every weight: 2.3 GB for SENet154).
  struct host_weights {
    std::vector<float> params, state;
  };
  auto checked_weights = [&](const std::string& when) {
    host_weights w{net->params(), net->state()};
    for (const auto* v : {&w.params, &w.state}) {
      if (const std::size_t bad = count_non_finite(*v))
        stop_non_finite(std::to_string(bad) + " of " + std::to_string(v->size()) + " " +
                        (v == &w.params ? "parameters" : "BatchNorm statistics") + " became NaN or infinite " + when +
                        " (learning rate " + number(net->optimizer().lr) + ")");
    }
    return w;
  };
  // Saves the checkpoint and the weights file.
  // Rank 0 writes; every rank keeps the same account of what was saved.
  auto save = [&](const host_weights& w) {
    const std::vector<float>& params = w.params;
    const std::vector<float>& state = w.state;
    if (leader) {
      save_checkpoint(out / checkpoint_file, {r, *net, params, state, data_rng, progress, history, identity});
      save_model(out / model_file, r, *net, params, state, stats, class_names);
    }
    if (!dir_is_ours && leader) {
      // The run this one replaces (--overwrite) had a report; it no longer describes this directory.
      std::error_code ec;
      fs::remove(out / report_file, ec);
      dir_is_ours = true;
    }
    own_checkpoint = true;
    last_saved_epoch = progress.epoch;
    last_saved_step = progress.step;
  };
  // A stop asked of any rank stops every rank at the same step.
  // Each rank's BatchNorm running statistics followed its own images (without --sync-bn): their
  // mean over the ranks is what evaluation and a checkpoint use, and what every rank continues from.
  auto average_running_statistics = [&] {
    if (n_ranks == 1 || r.sync_bn) return;
    std::vector<float> st = net->state();
    if (st.empty()) return;
    ranks.sum(std::span<float>(st));
    for (float& v : st) v /= static_cast<float>(n_ranks);
    net->set_state(st);
  };
  auto stop_requested = [&] { return ranks.any(sess.stop_signal && sess.stop_signal->load() != 0); };

  const auto run_start = clock_type::now();
  const double wall_before = progress.wall_seconds;
  double images_seen = 0, train_step_seconds = 0;  // this invocation's training, evaluation excluded
  const int first_epoch = progress.epoch;
  const int last_epoch = sess.stop_after_epochs > 0 ? std::min(r.epochs, first_epoch + sess.stop_after_epochs) : r.epochs;
  const bool budgeted = r.time_budget_minutes > 0;
  const double budget_seconds = 60 * r.time_budget_minutes;
  bool budget_spent = budgeted && wall_before >= budget_seconds;
  // The run's wall time, rank 0's clock on every rank: the time-budget schedule and the budget's
  // end must be the same decisions everywhere.
  auto wall_now = [&] {
    double w = wall_before + std::chrono::duration<double>(clock_type::now() - run_start).count();
    if (n_ranks > 1) ranks.broadcast_values(std::span<double>(&w, 1), 0);
    return w;
  };

  for (int epoch = first_epoch; epoch < last_epoch && !budget_spent; ++epoch) {
    const auto epoch_start = clock_type::now();
    std::int64_t first_step = 0;
    double loss_sum = 0, seconds_before = 0;
    std::size_t correct = 0, seen = 0;
    if (progress.in_epoch) {  // continuing the epoch a signal stopped
      const epoch_position& e = *progress.in_epoch;
      std::copy(e.order.begin(), e.order.end(), order.begin());
      first_step = e.steps_done;
      loss_sum = e.loss_sum;
      seconds_before = e.seconds;
      correct = static_cast<std::size_t>(e.correct);
      seen = static_cast<std::size_t>(e.seen);
      progress.in_epoch.reset();
    } else {
      std::iota(order.begin(), order.end(), std::size_t{0});
      for (std::size_t i = n_train - 1; i > 0; --i) std::swap(order[i], order[data_rng.below(i + 1)]);
    }
    reporter.begin_epoch(epoch + 1);
    for (std::int64_t s = first_step;; ++s) {
      // A signal: the step before has finished; save exactly here (the epoch's order and totals
      // included) and stop. Checked after the last step too, before the epoch's evaluation.
      if (stop_requested()) {
        const ops::step_totals t = job_totals(ranks, net->take_step_totals());
        loss_sum += t.loss_sum;
        correct += static_cast<std::size_t>(t.correct);
        seen += static_cast<std::size_t>(t.images);
        const int asked_here = sess.stop_signal ? sess.stop_signal->load() : 0;
        const int signo = asked_here ? asked_here : SIGTERM;   // else another rank's signal
        const bool nothing_new = progress.step == last_saved_step;
        if (!nothing_new) {
          progress.wall_seconds = wall_now();
          progress.in_epoch = epoch_position{s, std::vector<std::uint64_t>(order.begin(), order.end()), loss_sum,
                                             seconds_before + std::chrono::duration<double>(clock_type::now() - epoch_start).count(),
                                             static_cast<std::int64_t>(correct), static_cast<std::int64_t>(seen)};
          average_running_statistics();
          save(checked_weights("before the stop"));
        }
        reporter.interrupt();
        log << "cnnzoo-train: stopped by signal " << signo << " in epoch " << epoch + 1 << " after step " << s << " of "
            << steps_per_epoch << "; "
            << (own_checkpoint ? (nothing_new ? "the checkpoint in " : "saved a checkpoint in ") + out.string() +
                                     ". Continue with: cnnzoo-train --resume " + out.string()
                               : std::string("nothing had been trained yet, so nothing was saved"))
            << "\n";
        outcome o;
        o.epochs_done = progress.epoch;
        o.final_accuracy = NAN;
        o.train_seconds = wall_now();
        o.out_dir = out;
        o.stopped_by_signal = signo;
        return o;
      }
      if (s == steps_per_epoch) break;
      const std::size_t first = static_cast<std::size_t>(s) * static_cast<std::size_t>(batch);
      const int n = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(batch), n_train - first));
      const std::span<const std::size_t> idx(order.data() + first, static_cast<std::size_t>(n));
      // With a time budget the schedule follows the wall clock (evaluation included, as a user's
      // clock counts it) and the run ends when the budget is spent: within an epoch here (every
      // epoch takes at least one step), or at an epoch's end below.
      const double wall = wall_now();
      if (budgeted && s > first_step && wall >= budget_seconds) {
        budget_spent = true;
        break;
      }
      // The host draws each image's augmentation (the same numbers, in the same order, as the
      // whole-image host pipeline of the tests' oracle); the training device renders the pixels.
      const data::batch_plan plan = data::plan_batch(idx, train_set.labels, aug, classes,
                                                     static_cast<float>(r.label_smoothing), r.mixup_alpha, data_rng);
      net->optimizer().lr = budgeted ? lr_at(budget_step(r, wall)) : lr_at(progress.step);
      if (exchange) {
        // Every rank drew the whole batch's plan (so the data stream does not depend on the number
        // of ranks) and trains on its own slice of it.
        const dist::share mine = dist::shard(static_cast<std::size_t>(n), rank, n_ranks);
        exchange->begin_step(static_cast<int>(mine.count), n);
        net->queue_step(std::span(plan.recipes).subspan(mine.first, mine.count),
                        std::span(plan.targets).subspan(mine.first * classes, mine.count * classes),
                        std::span(plan.labels).subspan(mine.first, mine.count), progress.step);
      } else {
        net->queue_step(plan.recipes, plan.targets, plan.labels, progress.step);
      }
      ++progress.step;
      // The totals are read every few steps (every step on the CPU): on a GPU each read waits for it.
      if ((s + 1) % net->steps_between_reads() == 0 || s + 1 == steps_per_epoch) {
        const ops::step_totals t = job_totals(ranks, net->take_step_totals());
        if (t.bad_steps > 0) {
          const std::int64_t bad = t.first_bad_step;
          stop_non_finite("the loss became " + std::string(std::isnan(t.first_bad_loss) ? "NaN" : "infinite") +
                          " at epoch " + std::to_string(epoch + 1) + ", step " + std::to_string(bad) +
                          " (learning rate " + number(lr_at(bad)) + ")");
        }
        loss_sum += t.loss_sum;
        correct += static_cast<std::size_t>(t.correct);
        seen += static_cast<std::size_t>(t.images);
        reporter.step(s + 1, t.mean_loss());
      }
    }
    if (budget_spent) {
      // Steps queued since the last read (on a GPU) are counted before the epoch is closed.
      const ops::step_totals t = job_totals(ranks, net->take_step_totals());
      if (t.bad_steps > 0) stop_non_finite("the loss became non-finite at step " + std::to_string(t.first_bad_step));
      loss_sum += t.loss_sum;
      correct += static_cast<std::size_t>(t.correct);
      seen += static_cast<std::size_t>(t.images);
    }
    // How the GPU ran the steps (graph replays, or why it could not capture them), once.
    if (epoch == first_epoch)
      if (const std::string st = net->step_status(); !st.empty()) log << "cnnzoo-train: steps: " << st;
    const double epoch_secs = seconds_before + std::chrono::duration<double>(clock_type::now() - epoch_start).count();
    images_seen += static_cast<double>(seen);
    train_step_seconds += epoch_secs;
    // A finite loss does not prove finite weights: an overflowing update (a huge learning rate)
    // can leave inf/NaN that only the next step's loss would show. Such an epoch is neither
    // evaluated, logged nor saved, so the last good checkpoint stays the last one.
    average_running_statistics();
    const host_weights weights =
        checked_weights("in epoch " + std::to_string(epoch + 1) + ", mean loss " +
                        number(loss_sum / static_cast<double>(std::max<std::size_t>(seen, 1))));
    if (n_ranks > 1) check_same_weights(ranks, weights.params, weights.state, net->velocity(), epoch + 1);

    epoch_metrics m;
    m.epoch = epoch + 1;
    m.step = progress.step;
    m.lr = net->optimizer().lr;
    m.train_loss = loss_sum / static_cast<double>(std::max<std::size_t>(seen, 1));
    m.train_acc = static_cast<double>(correct) / static_cast<double>(std::max<std::size_t>(seen, 1));
    m.images_per_second = static_cast<double>(seen) / epoch_secs;
    const data::dataset* monitor = val_set ? &*val_set : test_set ? &*test_set : nullptr;
    if (monitor) {
      const evaluation e = evaluate(*net, *monitor, stats, ranks);
      m.val_loss = e.loss;
      m.val_acc = e.accuracy;
    }
    progress.epoch = epoch + 1;
    progress.wall_seconds = wall_now();
    m.wall_seconds = progress.wall_seconds;
    if (budgeted && progress.wall_seconds >= budget_seconds) budget_spent = true;
    history.push_back(m);
    epoch_status st;
    st.epoch = m.epoch;
    st.epochs = r.epochs;
    st.step = m.step;
    st.lr = m.lr;
    st.train_loss = m.train_loss;
    st.train_acc = m.train_acc;
    st.val_loss = m.val_loss;
    st.val_acc = m.val_acc;
    st.val_name = val_set ? "val" : "test";
    st.images_per_second = m.images_per_second;
    st.epoch_seconds = epoch_secs;
    reporter.end_epoch(st);

    // The checkpoint first (it carries the history), then the files that show it: a crash between
    // the two leaves a checkpoint whose resume rewrites them.
    if (progress.epoch % r.checkpoint_every == 0 || progress.epoch == last_epoch || budget_spent) save(weights);
    if (dir_is_ours) write_history();
  }

  if (progress.epoch < r.epochs && !budget_spent) {
    // Stopped on purpose (stop_after_epochs): the checkpoint is the result; a report would pass a
    // half-trained network off as the run's outcome.
    log << "cnnzoo-train: stopped after epoch " << progress.epoch << " of " << r.epochs << " as asked; continue with --resume "
        << out.string() << "\n";
    outcome o;
    o.epochs_done = progress.epoch;
    o.final_accuracy = history.empty() ? NAN : history.back().val_acc.value_or(NAN);
    o.train_seconds = progress.wall_seconds;
    o.images_per_second = train_step_seconds > 0 ? images_seen / train_step_seconds : 0;
    o.out_dir = out;
    return o;
  }

  // ---- the final report --------------------------------------------------------------------------------
  // A run resumed with no epoch left (killed before its report, or saved before weight files
  // existed) still leaves its weights.
  if (leader && !fs::exists(out / model_file)) save_model(out / model_file, r, *net, net->params(), net->state(), stats, class_names);
  const data::dataset* final_set = test_set ? &*test_set : val_set ? &*val_set : &train_set;
  const evaluation e = evaluate(*net, *final_set, stats, ranks);
  run_report report;
  report.model = r.model;
  report.epochs = progress.epoch;
  report.evaluated_on = test_set ? "test" : val_set ? "validation" : "train";
  report.train_seconds = progress.wall_seconds;
  report.step_seconds = train_step_seconds;
  // Training throughput (steps only, not evaluation or checkpoints); a resumed run that had no epoch
  // left to train reports the last epoch's.
  report.images_per_second = train_step_seconds > 0 ? images_seen / train_step_seconds
                             : history.empty()     ? 0
                                                   : history.back().images_per_second;
  report.final_loss = e.loss;
  report.confusion = e.confusion;
  report.class_names = class_names;
  report.config = r.to_json();
  report.config["device"] = net->device();
  // How the job ran: ranks, threads per rank, the engine, and what summing the gradients cost.
  nlohmann::json job = {{"ranks", n_ranks}, {"threads_per_rank", ro.threads > 0 ? ro.threads : hardware_threads()}, {"engine", ranks.engine()},
                        {"sync_bn", r.sync_bn && n_ranks > 1}};
  if (exchange) {
    const auto t = exchange->take_timing();
    job["allreduce_seconds_per_step"] = t.calls ? t.seconds / static_cast<double>(t.calls) : 0.0;
    job["bucket_bytes"] = exchange->bucket_bytes();
  }
  report.config["job"] = job;
  if (!leader) return {progress.epoch, true, e.accuracy, report.train_seconds, report.images_per_second, out, 0};
  write_report_json(out / report_file, report);
  log << "cnnzoo-train: " << report.evaluated_on << " accuracy " << e.accuracy * 100 << "% after "
      << progress.epoch << " epochs, " << report.train_seconds << " s; wrote " << (out / report_file).string()
      << ", " << (out / metrics_file).string() << ", " << (out / plot_file).string() << ", "
      << (out / checkpoint_file).string() << ", " << (out / model_file).string() << "\n";
  return {progress.epoch, true, e.accuracy, report.train_seconds, report.images_per_second, out, 0};
}

}  // namespace cnnzoo::trainer
