// Progress output: the formatting helpers give exact text, a terminal gets a redrawn bar, and
// anything else gets one plain line per epoch.
#include <catch2/catch.hpp>

#include "train/progress.hpp"

#include <sstream>

using namespace cnnzoo::trainer;

TEST_CASE("format_duration", "[train][progress]") {
  CHECK(format_duration(0) == "0s");
  CHECK(format_duration(0.4) == "0s");
  CHECK(format_duration(59.4) == "59s");
  CHECK(format_duration(59.6) == "1m00s");
  CHECK(format_duration(65) == "1m05s");
  CHECK(format_duration(3599) == "59m59s");
  CHECK(format_duration(3600) == "1h00m");
  CHECK(format_duration(7380) == "2h03m");
  CHECK(format_duration(86399) == "23h59m");
  CHECK(format_duration(3 * 86400 + 4 * 3600 + 59) == "3d04h");
  CHECK(format_duration(-1) == "--");
  CHECK(format_duration(std::nan("")) == "--");
  CHECK(format_duration(HUGE_VAL) == "--");
}

TEST_CASE("format_rate and format_bar", "[train][progress]") {
  CHECK(format_rate(5.234) == "5.23");
  CHECK(format_rate(950) == "950");
  CHECK(format_rate(1234) == "1.23k");
  CHECK(format_rate(45600) == "45.6k");
  CHECK(format_rate(456789) == "457k");
  CHECK(format_rate(1.2e6) == "1.20M");
  CHECK(format_rate(std::nan("")) == "--");
  CHECK(format_bar(0, 5) == "[>    ]");
  CHECK(format_bar(0.5, 10) == "[=====>    ]");
  CHECK(format_bar(1, 4) == "[====]");
  CHECK(format_bar(2, 4) == "[====]");
}

TEST_CASE("the progress and epoch lines", "[train][progress]") {
  step_status s{3, 200, 195, 390, 1234.0, 1.23456, 125};
  CHECK(format_progress_line(s, 10) == "epoch   3/200 [=====>    ] 195/390  1.23k img/s  loss 1.2346  ETA 2m05s");
  s.loss = std::nan("");
  s.eta_seconds = std::nan("");
  CHECK(format_progress_line(s, 4) == "epoch   3/200 [==> ] 195/390  1.23k img/s  loss --  ETA --");

  epoch_status e;
  e.epoch = 3;
  e.epochs = 10;
  e.step = 1170;
  e.lr = 0.0998;
  e.train_loss = 1.23456;
  e.train_acc = 0.54321;
  e.images_per_second = 2345;
  e.epoch_seconds = 12.3;
  CHECK(format_epoch_line(e) == "epoch  3/10  step 1170  lr 0.0998  loss 1.2346  acc 54.32%  2.35k img/s  12s");
  e.val_loss = 1.1;
  e.val_acc = 0.6;
  e.val_name = "test";
  e.eta_seconds = 2412;
  CHECK(format_epoch_line(e) ==
        "epoch  3/10  step 1170  lr 0.0998  loss 1.2346  acc 54.32%  test_loss 1.1000  test_acc 60.00%  2.35k img/s  12s  ETA 40m12s");
}

TEST_CASE("off a terminal: exactly one plain line per epoch", "[train][progress]") {
  std::ostringstream out;
  double now = 0;
  {
    progress_reporter p(out, 2, 4, 128, progress_reporter::mode::automatic, [&] { return now; });
    CHECK(p.active_mode() == progress_reporter::mode::lines);  // a string stream is no terminal
    for (int epoch = 1; epoch <= 2; ++epoch) {
      p.begin_epoch(epoch);
      for (int s = 1; s <= 4; ++s) {
        now += 0.5;
        p.step(s, 2.0 / s);
      }
      epoch_status e;
      e.epoch = epoch;
      e.epochs = 2;
      e.step = 4 * epoch;
      e.lr = 0.1;
      e.train_loss = p.mean_loss();
      e.train_acc = 0.5;
      p.end_epoch(e);
    }
  }
  const std::string text = out.str();
  CHECK(text.find('\r') == std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);
  // 4 steps of 128 images in 2 s; the first epoch's ETA is one more epoch of 2 s.
  CHECK(text.find("epoch 1/2  step 4  lr 0.1  loss 1.0417  acc 50.00%  256 img/s  2s  ETA 2s\n") == 0);
  CHECK(text.find("epoch 2/2  step 8") != std::string::npos);
}

TEST_CASE("on a terminal: the bar is redrawn in place and then replaced by the epoch line", "[train][progress]") {
  std::ostringstream out;
  double now = 100;
  progress_reporter p(out, 1, 10, 64, progress_reporter::mode::bar, [&] { return now; });
  p.begin_epoch(1);
  for (int s = 1; s <= 10; ++s) {
    now += 0.0625;  // 16 steps/s: the bar redraws at most every 0.1 s, and always at the end
    p.step(s, 1.0);
  }
  const std::string bar = out.str();
  CHECK(std::count(bar.begin(), bar.end(), '\r') == 6);  // steps 1, 3, 5, 7, 9 and the last
  CHECK(bar.find('\n') == std::string::npos);
  CHECK(bar.find("10/10  1.02k img/s  loss 1.0000  ETA 0s") != std::string::npos);
  p.message("checkpoint saved");
  epoch_status e;
  e.epoch = 1;
  e.epochs = 1;
  p.end_epoch(e);
  const std::string all = out.str();
  CHECK(all.find("\r\x1b[Kcheckpoint saved\n") != std::string::npos);
  CHECK(all.substr(all.size() - 1) == "\n");
}

TEST_CASE("quiet prints nothing", "[train][progress]") {
  std::ostringstream out;
  {
    progress_reporter p(out, 1, 2, 8, progress_reporter::mode::quiet);
    p.begin_epoch(1);
    p.step(1, 0.5);
    p.message("hello");
    p.end_epoch(epoch_status{});
  }
  CHECK(out.str().empty());
}
