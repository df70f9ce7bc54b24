// The weights a run leaves for other programs: cnnzoo-train writes model.safetensors beside its
// checkpoint (the same parameters and statistics, with the input convention), --init-from starts a
// run from one, and cnnzoo-predict classifies image files with one: top-k text or JSON, a file
// that is not an image named while the others are still classified, refusals with exit codes.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include <cnnzoo/io/weights.hpp>

#include "predict/predict.hpp"
#include "support/temp_dir.hpp"
#include "train/trainer.hpp"
#include "trainer_support.hpp"

using namespace cnnzoo;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

struct run_result {
  int code;
  std::string out, err;
};

run_result run_predict(std::vector<std::string> args) {
  args.insert(args.begin(), "cnnzoo-predict");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::ostringstream out, err;
  const int code = predict::main(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

// A PNG of the given size, every pixel the colour of class `label` in the learnable set.
void write_png(const fs::path& path, int w, int h, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(w) * h * 3);
  for (std::size_t i = 0; i < rgb.size(); i += 3) {
    rgb[i] = r;
    rgb[i + 1] = g;
    rgb[i + 2] = b;
  }
  REQUIRE(stbi_write_png(path.c_str(), w, h, 3, rgb.data(), w * 3) != 0);
}

// A trained tiny network's run directory (shared by the cases below: training takes a second).
const fs::path& trained_run() {
  static test::temp_dir dir("cnnzoo-weights");
  static const bool done = [] {
    test::write_learnable_data(dir / "data", 96, 32);
    trainer::recipe r = test::quick_recipe(test::tiny_model, dir / "data", dir / "run");
    std::ostringstream log;
    trainer::run(r, log);
    return true;
  }();
  (void)done;
  static const fs::path run = dir / "run";
  return run;
}

}  // namespace

TEST_CASE("A run writes model.safetensors with its checkpoint's weights and input convention", "[apps][weights]") {
  const fs::path run = trained_run();
  const io::safetensors_reader r(run / trainer::model_file);
  CHECK(r.metadata_or("model") == test::tiny_model);
  const auto convention = io::read_input_convention(r);
  CHECK(convention.assumed.empty());
  CHECK(convention.classes.size() == 10);
  CHECK(convention.stats.mean.size() == 3);

  const auto ck = train::checkpoint_reader::load(run / trainer::checkpoint_file);
  const auto* e = zoo::find(test::tiny_model);
  REQUIRE(e);
  std::vector<float> p(e->info.trainable), s(e->info.keras_total - e->info.trainable);
  io::read_weights(r, e->tensors(), p, s, test::tiny_model);
  CHECK(p == ck.get<float>("params"));
  CHECK(s == ck.get<float>("state"));
}

TEST_CASE("--init-from starts a run from a weights file, and refuses another model's", "[apps][weights]") {
  const fs::path run = trained_run();
  test::temp_dir dir("cnnzoo-init-from");
  test::write_learnable_data(dir / "data", 96, 32);
  trainer::recipe r = test::quick_recipe(test::tiny_model, dir / "data", dir / "run");
  r.init_from = (run / trainer::model_file).string();
  r.epochs = 1;
  r.lr = 1e-9;  // so that the weights after one epoch are still (almost) those of the file
  std::ostringstream log;
  trainer::run(r, log);
  CHECK_THAT(log.str(), Contains("starting from the weights of"));
  const auto before = train::checkpoint_reader::load(run / trainer::checkpoint_file).get<float>("params");
  const auto after = train::checkpoint_reader::load(dir / "run" / trainer::checkpoint_file).get<float>("params");
  REQUIRE(before.size() == after.size());
  for (std::size_t i = 0; i < before.size(); ++i) REQUIRE(after[i] == Approx(before[i]).margin(1e-6));

  // A file of the same tensors saying it holds another model is refused before training.
  io::safetensors_writer w;
  const io::safetensors_reader good(run / trainer::model_file);
  for (const auto& t : good.tensors()) w.add(t.name, t.shape, good.read_floats(t));
  w.set_metadata("model", "ResNet18");
  w.save(dir / "other.safetensors");
  r.init_from = (dir / "other.safetensors").string();
  r.out_dir = (dir / "run2").string();
  CHECK_THROWS_WITH(trainer::run(r, log), Contains("holds weights of ResNet18, not TestTinyNet"));
}

TEST_CASE("cnnzoo-predict classifies image files, in text or JSON", "[apps][predict]") {
  const fs::path weights = trained_run() / trainer::model_file;
  test::temp_dir dir("cnnzoo-predict");
  write_png(dir / "small.png", 32, 32, 200, 30, 30);
  write_png(dir / "large.png", 300, 200, 30, 200, 30);
  std::ofstream(dir / "notes.png") << "not an image";
  REQUIRE(::mkfifo((dir / "pipe.png").c_str(), 0600) == 0);
  // A PNG header claiming 20000 x 10 pixels: refused before anything is decoded (stb_image itself
  // refuses headers of over 2^30 bytes; the side limit catches the long thin ones below that).
  std::vector<std::uint8_t> huge{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                 0, 0, 0x4e, 0x20, 0, 0, 0, 10, 8, 2, 0, 0, 0, 0, 0, 0, 0};
  test::write_bytes(dir / "huge.png", huge);
  // Binary PPM is read by cnnzoo's own reader (Debian's stb_image 2.27 has two bugs there, found
  // by fuzzing): a good one is classified; a header number past int, or 16-bit samples, are not.
  {
    std::ofstream ppm(dir / "small.ppm", std::ios::binary);
    ppm << "P6\n# a comment\n32 32\n255\n" << std::string(32 * 32 * 3, '\x40');
  }
  std::ofstream(dir / "overflow.ppm") << "P6\n8888888888 4\n255\n";
  std::ofstream(dir / "deep.pgm") << "P5\n4 3\n555\n";

  const auto text = run_predict({"--weights", weights.string(), "--top", "2", (dir / "small.png").string(),
                             (dir / "notes.png").string(), (dir / "large.png").string(), (dir / "absent.png").string(),
                             (dir / "pipe.png").string(), dir.path().string(), (dir / "huge.png").string(),
                             (dir / "overflow.ppm").string(), (dir / "deep.pgm").string(), (dir / "small.ppm").string()});
  CHECK(text.code == 1);  // seven files could not be read; the others are classified
  CHECK_THAT(text.err, Contains("notes.png: not a readable image"));
  CHECK_THAT(text.err, Contains("absent.png: does not exist"));
  CHECK_THAT(text.err, Contains("pipe.png: is a FIFO"));
  CHECK_THAT(text.err, Contains("is a directory"));
  CHECK_THAT(text.err, Contains("huge.png: an image of 20000x10 pixels"));
  CHECK_THAT(text.err, Contains("overflow.ppm: not a readable image (a PNM header number with more than 9 digits)"));
  CHECK_THAT(text.err, Contains("deep.pgm: not a readable image (a PNM with samples up to 555"));
  CHECK_THAT(text.out, Contains("small.ppm: "));
  CHECK_THAT(text.out, Contains("small.png: "));
  CHECK_THAT(text.out, Contains("large.png: "));

  const auto json = run_predict({"--weights", weights.string(), "--json", "--top", "3", (dir / "small.png").string(),
                             (dir / "large.png").string()});
  REQUIRE(json.code == 0);
  std::istringstream lines(json.out);
  int images = 0;
  for (std::string line; std::getline(lines, line); ++images) {
    const auto j = nlohmann::json::parse(line);
    CHECK(j.at("file").get<std::string>().find(".png") != std::string::npos);
    REQUIRE(j.at("top").size() == 3);
    double previous = 1.0, sum = 0;
    for (const auto& t : j.at("top")) {
      const double p = t.at("probability").get<double>();
      CHECK(p <= previous);
      previous = p;
      sum += p;
      CHECK_FALSE(t.at("class").get<std::string>().empty());
    }
    CHECK(sum <= 1.0 + 1e-9);
  }
  CHECK(images == 2);
}

TEST_CASE("cnnzoo-predict's classes are the network's on the normalized image", "[apps][predict]") {
  const fs::path weights = trained_run() / trainer::model_file;
  test::temp_dir dir("cnnzoo-predict-same");
  write_png(dir / "a.png", 32, 32, 10, 120, 240);
  predict::classifier c = predict::load_classifier("", weights, 1, 1);
  const auto result = predict::classify(c, {(dir / "a.png").string()}, 10);
  REQUIRE(result.size() == 1);
  REQUIRE(result[0].error.empty());

  std::vector<std::uint8_t> planes(3 * 32 * 32);
  for (int p = 0; p < 1024; ++p) {
    planes[static_cast<std::size_t>(p)] = 10;
    planes[static_cast<std::size_t>(1024 + p)] = 120;
    planes[static_cast<std::size_t>(2048 + p)] = 240;
  }
  std::vector<float> input(planes.size()), logits(10);
  data::normalize_zscore(planes, input, data::batch_shape{1}, c.stats);
  c.net->predict(input.data(), 1, logits.data());
  const int best = static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  CHECK(result[0].top[0].label == c.classes[static_cast<std::size_t>(best)]);
}

TEST_CASE("cnnzoo-predict refuses bad flags, unknown models and another model's weights", "[apps][predict]") {
  const fs::path weights = trained_run() / trainer::model_file;
  CHECK(run_predict({"image.png"}).code == 2);                                           // no --weights
  CHECK(run_predict({"--weights", weights.string(), "--top", "0", "a.png"}).code == 2);  // top out of range
  const auto unknown = run_predict({"--model", "NoSuchNet", "--weights", weights.string(), "a.png"});
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.err, Contains("unknown model 'NoSuchNet'"));
  const auto other = run_predict({"--model", "ResNet18", "--weights", weights.string(), "a.png"});
  CHECK(other.code == 5);
  CHECK_THAT(other.err, Contains("holds weights of TestTinyNet, not ResNet18"));
  const auto missing = run_predict({"--weights", "/nonexistent/model.safetensors", "a.png"});
  CHECK(missing.code == 5);
  CHECK_THAT(missing.err, Contains("does not exist"));
}
