// Every schedule's value at chosen steps against its formula, warm-up in front of each, and
// choosing by name at run time.
#include <catch2/catch.hpp>

#include <cnnzoo/train/schedule.hpp>

#include <cmath>
#include <numbers>

using namespace cnnzoo::train;
using Catch::Matchers::Contains;

TEST_CASE("constant", "[train][schedule]") {
  constant_schedule s{0.05};
  CHECK(s(0) == 0.05);
  CHECK(s(123456) == 0.05);
}

TEST_CASE("step: milestones as fractions or epochs, gamma per milestone", "[train][schedule]") {
  const auto s = step_schedule::at_fractions(0.1, {0.5, 0.75}, 0.1, 1000);
  REQUIRE(s.milestones == std::vector<std::int64_t>{500, 750});
  CHECK(s(0) == Approx(0.1));
  CHECK(s(499) == Approx(0.1));
  CHECK(s(500) == Approx(0.01));
  CHECK(s(749) == Approx(0.01));
  CHECK(s(750) == Approx(0.001));
  CHECK(s(5000) == Approx(0.001));

  const auto e = step_schedule::at_epochs(0.2, {150, 60, 120}, 0.2, 391);  // order does not matter
  REQUIRE(e.milestones == std::vector<std::int64_t>{60 * 391, 120 * 391, 150 * 391});
  CHECK(e(60 * 391 - 1) == Approx(0.2));
  CHECK(e(60 * 391) == Approx(0.04));
  CHECK(e(130 * 391) == Approx(0.008));
  CHECK(e(150 * 391) == Approx(0.0016));

  CHECK_THROWS_WITH(step_schedule::at_fractions(0.1, {1.5}, 0.1, 100), Contains("(0, 1)"));
}

TEST_CASE("cosine: floor + (lr - floor)(1 + cos(pi t/T))/2", "[train][schedule]") {
  cosine_schedule s{0.1, 1000, 0.001};
  for (std::int64_t t : {0, 1, 250, 500, 999, 1000}) {
    const double expect = 0.001 + 0.099 * 0.5 * (1 + std::cos(std::numbers::pi * static_cast<double>(t) / 1000.0));
    CHECK(s(t) == Approx(expect).epsilon(1e-12));
  }
  CHECK(s(0) == Approx(0.1));
  CHECK(s(500) == Approx(0.0505));
  CHECK(s(1000) == Approx(0.001));
  CHECK(s(2000) == Approx(0.001));  // past the end it holds the floor
}

TEST_CASE("htd: lr/2 (1 - tanh(L + (U - L) t/T)) with L = -6, U = 3", "[train][schedule]") {
  htd_schedule s{0.1, 900};
  REQUIRE(s.lower == -6);
  REQUIRE(s.upper == 3);
  CHECK(s(0) == Approx(0.05 * (1 - std::tanh(-6.0))));
  CHECK(s(0) == Approx(0.1).epsilon(1e-4));
  CHECK(s(600) == Approx(0.05));  // L + 9 * 2/3 = 0: half the initial rate
  CHECK(s(300) == Approx(0.05 * (1 - std::tanh(-3.0))));
  CHECK(s(900) == Approx(0.05 * (1 - std::tanh(3.0))));
  CHECK(s(900) < 0.0003);
}

TEST_CASE("one-cycle: linear up to lr over pct_start, then down to lr/final_div", "[train][schedule]") {
  onecycle_schedule s{0.4, 1000, 0.25, 10, 100};
  REQUIRE(s.peak_step() == 250);
  CHECK(s(0) == Approx(0.04));
  CHECK(s(125) == Approx(0.04 + 0.36 * 0.5));
  CHECK(s(250) == Approx(0.4));
  CHECK(s(625) == Approx(0.004 + 0.396 * 0.5));  // cosine half way down
  CHECK(s(1000) == Approx(0.004));

  onecycle_schedule lin = s;
  lin.cosine_anneal = false;
  CHECK(lin(625) == Approx(0.4 + (0.004 - 0.4) * 0.5));
  CHECK(lin(1000) == Approx(0.004));
}

TEST_CASE("warm-up ramps linearly from about zero to the schedule's value", "[train][schedule]") {
  const auto w = with_warmup(cosine_schedule{0.1, 1000}, 100);
  const cosine_schedule c{0.1, 1000};
  CHECK(w(0) == Approx(c(0) * 1 / 100.0));
  CHECK(w(0) < 0.0011);
  CHECK(w(49) == Approx(c(49) * 50 / 100.0));
  CHECK(w(99) == Approx(c(99)));
  CHECK(w(100) == c(100));
  CHECK(w(700) == c(700));

  const auto h = with_warmup(htd_schedule{0.1, 1000}, 10);
  CHECK(h(4) == Approx(htd_schedule{0.1, 1000}(4) * 0.5));
  CHECK_THROWS_AS(with_warmup(constant_schedule{0.1}, -1), schedule_error);
}

TEST_CASE("make_schedule picks a schedule by name, with warm-up when asked", "[train][schedule]") {
  schedule_params p;
  p.lr = 0.1;
  p.total_steps = 1000;
  p.steps_per_epoch = 10;

  CHECK(make_schedule("constant", p)(500) == 0.1);
  CHECK(make_schedule("step", p)(600) == Approx(0.01));
  CHECK(make_schedule("cosine", p)(500) == Approx(0.05));
  CHECK(make_schedule("htd", p)(666) == Approx(0.05 * (1 - std::tanh(-6 + 9 * 0.666))));
  CHECK(make_schedule("onecycle", p)(300) == Approx(0.1));

  p.milestones = {30, 60};
  p.milestones_in_epochs = true;
  CHECK(make_schedule("step", p)(299) == Approx(0.1));
  CHECK(make_schedule("step", p)(300) == Approx(0.01));

  p.warmup_steps = 20;
  const schedule s = make_schedule("htd", p);
  CHECK(s.name() == "htd+warmup");
  CHECK(s(9) == Approx(htd_schedule{0.1, 1000}(9) * 0.5));
  CHECK(s(20) == Approx(htd_schedule{0.1, 1000}(20)));

  const schedule copy = s;  // a value: copies agree
  CHECK(copy(500) == s(500));
}

TEST_CASE("a wrong name or impossible parameters are refused clearly", "[train][schedule]") {
  schedule_params p;
  p.total_steps = 100;
  CHECK_THROWS_WITH(make_schedule("exponential", p),
                    Contains("unknown learning-rate schedule 'exponential'") &&
                        Contains("constant, step, cosine, htd, onecycle"));
  p.lr = -1;
  CHECK_THROWS_WITH(make_schedule("cosine", p), Contains("learning rate must be a positive number"));
  p.lr = 0.1;
  p.total_steps = 0;
  CHECK_THROWS_WITH(make_schedule("htd", p), Contains("total number of steps"));
  p.total_steps = 100;
  p.milestones_in_epochs = true;
  CHECK_THROWS_WITH(make_schedule("step", p), Contains("steps per epoch"));
  CHECK_THROWS_AS(schedule(cosine_schedule{0.1, 100, 0.5}), schedule_error);  // floor above lr
}
