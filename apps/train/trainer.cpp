#include "trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <cnnzoo/data/augment.hpp>
#include <cnnzoo/data/batch_plan.hpp>
#include <cnnzoo/data/cifar10.hpp>
#include <cnnzoo/io/weights.hpp>
#include <cnnzoo/train/checkpoint.hpp>
#include <cnnzoo/train/schedule.hpp>

#include "metrics.hpp"
#include "plot.hpp"
#include "progress.hpp"
#include "zoo/registry.hpp"

namespace cnnzoo::trainer {

namespace fs = std::filesystem;

namespace {

using clock_type = std::chrono::steady_clock;
constexpr int classes = 10;

void validate(const recipe& r) {
  auto bad = [](const std::string& m) { throw train_error("cnnzoo-train: " + m, 2); };
  if (r.epochs <= 0) bad("--epochs must be positive");
  if (!(r.time_budget_minutes >= 0) || !std::isfinite(r.time_budget_minutes))
    bad("--time-budget must be a finite number of minutes >= 0");
  if (r.batch_size <= 0) bad("--batch-size must be positive");
  if (!(r.lr > 0)) bad("--lr must be positive");
  if (r.val_split < 0) bad("--val-split must be >= 0");
  if (r.label_smoothing < 0 || r.label_smoothing >= 1) bad("--label-smoothing must be in [0, 1)");
  if (r.mixup_alpha < 0) bad("--mixup-alpha must be >= 0");
  if (r.dropout >= 1) bad("--dropout must be below 1");
  if (r.init != "he_normal" && r.init != "glorot_uniform") bad("--init must be he_normal or glorot_uniform");
  if (r.device != "auto" && r.device != "cpu" && r.device != "cuda") bad("--device must be auto, cpu or cuda");
  if (r.precision != "fp32" && r.precision != "tf32" && r.precision != "bf16" && r.precision != "fp16")
    bad("--precision must be fp32, tf32, bf16 or fp16");
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

struct saved_progress {
  int epoch = 0;
  std::int64_t step = 0;
  double wall_seconds = 0;
};

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::size_t count_non_finite(const std::vector<float>& v) {
  return static_cast<std::size_t>(std::count_if(v.begin(), v.end(), [](float x) { return !std::isfinite(x); }));
}

// `params` and `state` as just downloaded (and checked) from `net`.
void save_checkpoint(const fs::path& path, const recipe& r, zoo::runner& net, const std::vector<float>& params,
                     const std::vector<float>& state, const rng& data_rng, const saved_progress& p) {
  train::checkpoint_writer w(r.model);
  w.add_string("recipe", r.to_json().dump());
  w.add("params", params);
  w.add("state", state);
  w.add("momentum", net.velocity());
  const auto d = data_rng.state(), g = net.generator().state();
  w.add("rng.data", std::vector<std::uint64_t>(d.begin(), d.end()));
  w.add("rng.network", std::vector<std::uint64_t>(g.begin(), g.end()));
  w.add("progress.epoch_step", std::vector<std::int64_t>{p.epoch, p.step});
  w.add("progress.wall_seconds", std::vector<double>{p.wall_seconds});
  // The table of tensors, so a checkpoint can be read without this build.
  std::string table;
  for (const auto& e : net.tensors()) {
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

}  // namespace

outcome run(const recipe& given, std::ostream& log, const session& sess) {
  // ---- the recipe: as given, or as saved by the run being resumed ------------------------------
  recipe r = given;
  std::optional<train::checkpoint_reader> ck;
  if (sess.resume_dir) {
    const fs::path path = *sess.resume_dir / checkpoint_file;
    ck = train::checkpoint_reader::load(path);
    // The model named in the file's header is the one it was written for; the user's --model
    // (if any) must be that one.
    if (!given.model.empty()) {
      const zoo::entry* asked = zoo::find(given.model);
      ck->expect_model(asked ? asked->info.name : given.model);
    }
    try {
      r = recipe::from_json(nlohmann::json::parse(ck->get_string("recipe")));
    } catch (const nlohmann::json::exception& e) {
      throw train::checkpoint_error("cnnzoo: checkpoint " + path.string() + " is corrupt: its recipe cannot be read (" +
                                    e.what() + ")");
    }
    ck->expect_model(r.model);
    r.out_dir = sess.resume_dir->string();
    if (sess.epochs) r.epochs = *sess.epochs;
    if (sess.lr) r.lr = *sess.lr;
    if (sess.device) r.device = *sess.device;
    if (sess.threads) r.threads = *sess.threads;
    if (sess.data_dir) r.data_dir = *sess.data_dir;
  }
  validate(r);
  if (sess.stop_after_epochs < 0) throw train_error("cnnzoo-train: --stop-after-epochs must be >= 0", 2);
  const zoo::entry* entry = zoo::find(r.model);
  if (!entry) {
    std::string known;
    for (const auto* m : zoo::models()) known += " " + m->info.name;
    throw train_error("cnnzoo-train: unknown model '" + r.model + "'; known:" + known, 2);
  }
  r.model = entry->info.name;

  // ---- data ----------------------------------------------------------------------------------------
  const fs::path data_dir = data::resolve_data_dir(r.data_dir.empty() ? std::nullopt : std::optional<std::string>(r.data_dir));
  data::dataset train_set = data::load_train(data_dir);
  std::optional<data::dataset> test_set = data::load_test(data_dir);
  std::optional<data::dataset> val_set;
  if (r.val_split > 0) {
    if (static_cast<std::size_t>(r.val_split) >= train_set.size())
      throw train_error("cnnzoo-train: --val-split " + std::to_string(r.val_split) + " leaves no training images (" +
                            std::to_string(train_set.size()) + " in " + data_dir.string() + ")", 2);
    auto [t, v] = data::split_validation(std::move(train_set), static_cast<std::size_t>(r.val_split));
    train_set = std::move(t);
    val_set = std::move(v);
  }
  if (r.limit_train > 0 && static_cast<std::size_t>(r.limit_train) < train_set.size())
    train_set = train_set.slice(0, static_cast<std::size_t>(r.limit_train));
  const std::vector<std::string> class_names = data::load_class_names(data_dir);
  const data::channel_statistics stats = data::channel_stats(train_set);

  // ---- the network ---------------------------------------------------------------------------------
  const zoo::runner_options ro = runner_options_for(r);
  std::unique_ptr<zoo::runner> net = entry->make(ro);
  configure(*net, r);
  if (!ck && !r.init_from.empty()) {
    // Parameters and BatchNorm statistics from the file; momentum starts at zero.
    std::vector<float> p(net->params().size()), s(net->state().size());
    io::read_weights(io::safetensors_reader(r.init_from), net->tensors(), p, s, r.model);
    net->set_params(p);
    net->set_state(s);
    log << "cnnzoo-train: starting from the weights of " << r.init_from << "\n";
  }

  rng data_rng(r.seed ^ 0xDA7A5EEDull);
  saved_progress progress{};
  if (ck) {
    // Counts are checked against this build's model, so a file of another shape is refused as such
    // (checkpoint_error) rather than failing inside the network.
    const std::size_t n_params = net->params().size(), n_state = net->state().size();
    net->set_params(ck->get<float>("params", n_params));
    net->set_state(ck->get<float>("state", n_state));
    net->set_velocity(ck->get<float>("momentum", n_params));
    data_rng.set_state(to_state(ck->get<std::uint64_t>("rng.data")));
    net->generator().set_state(to_state(ck->get<std::uint64_t>("rng.network")));
    const auto es = ck->get<std::int64_t>("progress.epoch_step", 2);
    progress = {static_cast<int>(es[0]), es[1], ck->get<double>("progress.wall_seconds", 1)[0]};
    if (progress.epoch < 0 || progress.step < 0)
      throw train::checkpoint_error("cnnzoo: checkpoint " + ck->source() + " is corrupt: negative epoch or step");
  }
  int last_saved_epoch = progress.epoch;

  const std::size_t n_train = train_set.size();
  const int batch = r.batch_size;
  const std::int64_t steps_per_epoch = static_cast<std::int64_t>((n_train + static_cast<std::size_t>(batch) - 1) / static_cast<std::size_t>(batch));
  const train::schedule lr_at = schedule_for(r, steps_per_epoch);
  const data::augment_config aug = augmentation_for(r);

  // ---- output directory ------------------------------------------------------------------------------
  const fs::path out = r.out_dir;
  fs::create_directories(out);
  // Whether out/checkpoint.bin belongs to this run (resumed from, or written by it): a fresh run
  // in an old run's directory must not call that run's checkpoint its own "last good" one.
  bool own_checkpoint = ck.has_value();
  if (!ck && fs::exists(out / checkpoint_file))
    log << "cnnzoo-train: note: " << out.string() << " holds an earlier run; starting a new one there (its "
        << checkpoint_file << " is replaced after the first epoch; --resume " << out.string() << " would continue it)\n";
  if (r.device != "cuda" && net->device().rfind("cpu", 0) == 0 && r.precision != "fp32")
    log << "cnnzoo-train: note: the CPU trains in fp32 (the recipe's " << r.precision << " applies on CUDA)\n";
  std::vector<epoch_metrics> history;
  if (ck && fs::exists(out / metrics_file)) history = read_metrics(out / metrics_file, progress.epoch);
  {  // Rewrite the metrics file up to the resumed epoch (lines of epochs after the checkpoint are
     // re-done), through a temporary file so that a crash here cannot lose the earlier lines.
    fs::path tmp = out / metrics_file;
    tmp += ".tmp";
    {
      metrics_writer rewrite(tmp, false);
      for (const auto& m : history) rewrite.write(m);
    }
    fs::rename(tmp, out / metrics_file);
  }
  metrics_writer metrics(out / metrics_file, true);

  log << "cnnzoo-train: " << r.model << " (" << entry->info.trainable << " trainable parameters) on "
      << net->device() << ", " << n_train << " training images"
      << (val_set ? ", " + std::to_string(val_set->size()) + " held out for validation" : std::string{})
      << (test_set ? ", " + std::to_string(test_set->size()) + " test images" : std::string{}) << ", batch " << batch
      << ", " << r.epochs << " epochs, schedule " << lr_at.name() << "\n";
  if (ck) log << "cnnzoo-train: resuming " << out.string() << " after epoch " << progress.epoch << "\n";

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
                      3);
  };
  const auto run_start = clock_type::now();
  const double wall_before = progress.wall_seconds;
  double images_seen = 0, train_step_seconds = 0;  // this invocation's training, evaluation excluded
  const int first_epoch = progress.epoch;
  const int last_epoch = sess.stop_after_epochs > 0 ? std::min(r.epochs, first_epoch + sess.stop_after_epochs) : r.epochs;
  const bool budgeted = r.time_budget_minutes > 0;
  const double budget_seconds = 60 * r.time_budget_minutes;
  bool budget_spent = budgeted && wall_before >= budget_seconds;

  for (int epoch = first_epoch; epoch < last_epoch && !budget_spent; ++epoch) {
    const auto epoch_start = clock_type::now();
    std::iota(order.begin(), order.end(), std::size_t{0});
    for (std::size_t i = n_train - 1; i > 0; --i) std::swap(order[i], order[data_rng.below(i + 1)]);
    double loss_sum = 0;
    std::size_t correct = 0, seen = 0;
    reporter.begin_epoch(epoch + 1);
    for (std::int64_t s = 0; s < steps_per_epoch; ++s) {
      const std::size_t first = static_cast<std::size_t>(s) * static_cast<std::size_t>(batch);
      const int n = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(batch), n_train - first));
      const std::span<const std::size_t> idx(order.data() + first, static_cast<std::size_t>(n));
      // The host draws each image's augmentation (the same numbers, in the same order, as the
      // whole-image host pipeline of the tests' oracle); the training device renders the pixels.
      const data::batch_plan plan = data::plan_batch(idx, train_set.labels, aug, classes,
                                                     static_cast<float>(r.label_smoothing), r.mixup_alpha, data_rng);
      // With a time budget the schedule follows the wall clock (evaluation included, as a user's
      // clock counts it) and the run ends when the budget is spent: within an epoch here (every
      // epoch takes at least one step), or at an epoch's end below.
      const double wall = wall_before + std::chrono::duration<double>(clock_type::now() - run_start).count();
      if (budgeted && s > 0 && wall >= budget_seconds) {
        budget_spent = true;
        break;
      }
      net->optimizer().lr = budgeted ? lr_at(budget_step(r, wall)) : lr_at(progress.step);
      net->queue_step(plan.recipes, plan.targets, plan.labels, progress.step);
      ++progress.step;
      // The totals are read every few steps (every step on the CPU): on a GPU each read waits for it.
      if ((s + 1) % net->steps_between_reads() == 0 || s + 1 == steps_per_epoch) {
        const ops::step_totals t = net->take_step_totals();
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
      const ops::step_totals t = net->take_step_totals();
      if (t.bad_steps > 0) stop_non_finite("the loss became non-finite at step " + std::to_string(t.first_bad_step));
      loss_sum += t.loss_sum;
      correct += static_cast<std::size_t>(t.correct);
      seen += static_cast<std::size_t>(t.images);
    }
    // How the GPU ran the steps (graph replays, or why it could not capture them), once.
    if (epoch == first_epoch)
      if (const std::string st = net->step_status(); !st.empty()) log << "cnnzoo-train: steps: " << st;
    const double epoch_secs = std::chrono::duration<double>(clock_type::now() - epoch_start).count();
    images_seen += static_cast<double>(seen);
    train_step_seconds += epoch_secs;
    // A finite loss does not prove finite weights: an overflowing update (a huge learning rate)
    // can leave inf/NaN that only the next step's loss would show. Such an epoch is neither
    // evaluated, logged nor saved, so the last good checkpoint stays the last one.
    const std::vector<float> params = net->params(), state = net->state();
    for (const auto* v : {&params, &state}) {
      if (const std::size_t bad = count_non_finite(*v))
        stop_non_finite(std::to_string(bad) + " of " + std::to_string(v->size()) + " " +
                        (v == &params ? "parameters" : "BatchNorm statistics") + " became NaN or infinite in epoch " +
                        std::to_string(epoch + 1) + " (learning rate " + number(net->optimizer().lr) +
                        ", mean loss " + number(loss_sum / static_cast<double>(seen)) + ")");
    }

    epoch_metrics m;
    m.epoch = epoch + 1;
    m.step = progress.step;
    m.lr = net->optimizer().lr;
    m.train_loss = loss_sum / static_cast<double>(seen);
    m.train_acc = static_cast<double>(correct) / static_cast<double>(seen);
    m.images_per_second = static_cast<double>(seen) / epoch_secs;
    const data::dataset* monitor = val_set ? &*val_set : test_set ? &*test_set : nullptr;
    if (monitor) {
      const evaluation e = evaluate(*net, *monitor, stats);
      m.val_loss = e.loss;
      m.val_acc = e.accuracy;
    }
    progress.epoch = epoch + 1;
    progress.wall_seconds = wall_before + std::chrono::duration<double>(clock_type::now() - run_start).count();
    m.wall_seconds = progress.wall_seconds;
    if (budgeted && progress.wall_seconds >= budget_seconds) budget_spent = true;
    metrics.write(m);
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

    if (progress.epoch % std::max(1, r.checkpoint_every) == 0 || progress.epoch == last_epoch || budget_spent) {
      save_checkpoint(out / checkpoint_file, r, *net, params, state, data_rng, progress);
      save_model(out / model_file, r, *net, params, state, stats, class_names);
      own_checkpoint = true;
      last_saved_epoch = progress.epoch;
    }
    training_history h;
    for (const auto& e : history) {
      h.epoch.push_back(e.epoch);
      h.train_loss.push_back(e.train_loss);
      h.train_acc.push_back(e.train_acc);
      h.val_loss.push_back(e.val_loss.value_or(NAN));
      h.val_acc.push_back(e.val_acc.value_or(NAN));
    }
    write_training_curves(out / plot_file, h, val_set ? "validation" : "test");
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
  // A run resumed with no epoch left (or saved before weight files existed) still leaves its weights.
  if (!fs::exists(out / model_file)) save_model(out / model_file, r, *net, net->params(), net->state(), stats, class_names);
  const data::dataset* final_set = test_set ? &*test_set : val_set ? &*val_set : &train_set;
  const evaluation e = evaluate(*net, *final_set, stats);
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
  write_report_json(out / report_file, report);
  log << "cnnzoo-train: " << report.evaluated_on << " accuracy " << e.accuracy * 100 << "% after "
      << progress.epoch << " epochs, " << report.train_seconds << " s; wrote " << (out / report_file).string()
      << ", " << (out / metrics_file).string() << ", " << (out / plot_file).string() << ", "
      << (out / checkpoint_file).string() << ", " << (out / model_file).string() << "\n";
  return {progress.epoch, true, e.accuracy, report.train_seconds, report.images_per_second, out};
}

}  // namespace cnnzoo::trainer
