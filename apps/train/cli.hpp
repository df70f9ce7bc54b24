#pragma once
// cnnzoo-train's command line: its flags and their ranges, the signals that stop a run cleanly, and
// the exit codes (exit_codes.hpp). cnnzoo-train's main() is this; so is the test trainer's
// (tests/apps), which adds a tiny network to the zoo so that kill-and-resume cycles take seconds.
namespace cnnzoo::trainer {

int train_main(int argc, char** argv);

}  // namespace cnnzoo::trainer
