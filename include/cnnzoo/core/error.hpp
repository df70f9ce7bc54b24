#pragma once
// The one base of the errors cnnzoo throws for something a user can act on: missing or damaged
// data, a corrupt checkpoint, a bad schedule, a failing GPU. `catch (const cnnzoo::error& e)`
// takes them all; e.what() starts with "cnnzoo" and says what is wrong and what to do. The kinds
// beneath it (data_error, checkpoint_error, cuda_error, ...) say where it came from. Programming
// errors (an argument outside its documented range) stay std::invalid_argument / std::logic_error.
#include <stdexcept>

namespace cnnzoo {

class error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

}  // namespace cnnzoo
