#pragma once
// What a recipe may hold: the allowed range of every numeric field, by its flag. One table serves
// three readers: --help prints each range, cnnzoo-train refuses a flag outside it before anything
// is loaded (exit 2), and a checkpoint whose recipe is outside it is refused as an input (exit 5),
// so no NaN, infinity or absurd value reaches the renderer, the schedule or a JSON file.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "recipe.hpp"

namespace cnnzoo::trainer {

struct field_range {
  std::string flag;                           // "--rotation"
  double min = 0, max = 0;
  bool open_min = false, open_max = false;    // (min, ...] or [..., max)
  bool integer = false;
  std::function<double(const recipe&)> value;
  std::string meaning;                        // "0: off", appended to the range in --help

  bool contains(double v) const noexcept;
  std::string text() const;                   // "[0, 180]", "(0, 100]"
};

// Every numeric field of a recipe (the seed aside: any 64-bit value).
const std::vector<field_range>& field_ranges();
// The range of a flag ("--rotation"); throws std::out_of_range for a flag without one.
const field_range& range_of(std::string_view flag);

// Every problem of recipe `r`, as "--FLAG VALUE is outside RANGE" (or a name that is not one of
// the choices, or --warmup-epochs longer than the run); empty when it can run.
std::vector<std::string> recipe_problems(const recipe& r);
// This machine's hardware threads: the most --threads may ask for.
int hardware_threads();
// Threads for one of `local_ranks` ranks of a job on this machine: the cores this process may run
// on (its affinity mask: mpirun may bind a rank to a core or a socket), shared evenly with the other
// ranks when the mask spans the machine; at least 1.
int rank_thread_default(int local_ranks);

// The problems joined with "; ".
std::string join_problems(const std::vector<std::string>& problems);

}  // namespace cnnzoo::trainer
