// One base for every error a user can act on: catch (const cnnzoo::error&) takes them all.
#include <catch2/catch.hpp>

#include <type_traits>

#include <cnnzoo/core/error.hpp>
#include <cnnzoo/data/augment.hpp>
#include <cnnzoo/data/cifar10.hpp>
#include <cnnzoo/train/checkpoint.hpp>
#include <cnnzoo/train/schedule.hpp>

using namespace cnnzoo;

static_assert(std::is_base_of_v<std::runtime_error, error>);
static_assert(std::is_base_of_v<error, data::data_error>);
static_assert(std::is_base_of_v<error, data::augment_error>);
static_assert(std::is_base_of_v<error, train::checkpoint_error>);
static_assert(std::is_base_of_v<error, train::schedule_error>);

TEST_CASE("errors: every kind is caught as cnnzoo::error, with its message", "[core][error]") {
  try {
    throw data::data_error("cnnzoo: data_batch_1.bin is 3 bytes, not a whole number of records");
  } catch (const error& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("cnnzoo: data_batch_1.bin"));
  }
  CHECK_THROWS_AS(throw train::checkpoint_error("cnnzoo: corrupt checkpoint"), error);
}
