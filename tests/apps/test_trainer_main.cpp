// cnnzoo-test-train: cnnzoo-train's own command line (train/cli.cpp) with the tiny test network
// (tiny_model.cpp) in its zoo, so that tests can start, signal and kill real trainer processes many
// times over and still finish in seconds.
#include "train/cli.hpp"

int main(int argc, char** argv) { return cnnzoo::trainer::train_main(argc, argv); }
