// cnnzoo-train's progress on a terminal: a bar redrawn in place with images/s, loss and ETA (the
// plain one-line-per-epoch output elsewhere is checked by train_program and trainer_learns).
#include <cstdlib>

#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"
#include "trainer_support.hpp"

using namespace cnnzoo;

namespace {
const std::string program = CNNZOO_TRAIN_EXE;
}

TEST_CASE("cnnzoo-train draws a progress bar on a terminal", "[apps][program]") {
  // util-linux `script` runs the program on a pseudo-terminal; without it there is nothing to test.
  if (std::system("command -v script >/dev/null 2>&1") != 0) {
    WARN("`script` (util-linux) is not installed: the terminal progress bar is not tested");
    return;
  }
  const zoo::entry* model = test::learning_model();
  REQUIRE(model != nullptr);
  test::temp_dir tmp("cnnzoo-train-tty");
  test::write_learnable_data(tmp / "data", 16, 0);
  const std::string inner = "'" + program + "' --model " + model->info.name + " --data '" + (tmp / "data").string() +
                            "' --out '" + (tmp / "run").string() + "' --device cpu --threads 2 --epochs 1 --batch-size 8";
  const auto r = test::run_command("TERM=xterm script -qec \"" + inner + "\" /dev/null", tmp.path());
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  // The bar is redrawn in place (carriage return, erase to the end of the line) with images/s and
  // an ETA, then replaced by the permanent epoch line.
  CHECK(r.out.find("\repoch 1/1 [") != std::string::npos);
  CHECK(r.out.find("img/s") != std::string::npos);
  CHECK(r.out.find("ETA") != std::string::npos);
  CHECK(r.out.find("\x1b[K") != std::string::npos);
  CHECK(r.out.find("epoch 1/1  step 2") != std::string::npos);
  // Without a test split the final report is on the training images, and says so.
  CHECK(test::read_json(tmp / "run" / "report.json").at("evaluated_on") == "train");
}
