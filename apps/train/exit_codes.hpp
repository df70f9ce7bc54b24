#pragma once
// cnnzoo-train's exit codes: one per thing a user does differently next. README.md has the same
// table; cli.cpp's --help footer prints it.
namespace cnnzoo::trainer {

enum exit_code : int {
  exit_done = 0,            // trained (or resumed a finished run: nothing to do)
  exit_failure = 1,         // anything else: a bug to report, with the message
  exit_bad_flags = 2,       // a flag out of range, flags that contradict each other, an unknown model
  exit_non_finite = 3,      // the loss or the weights became NaN or infinite; the last good checkpoint is kept
  exit_bad_data = 4,        // data missing, damaged, partial, or not the data the resumed run was trained on
  exit_bad_checkpoint = 5,  // a checkpoint or --init-from weights file that cannot be used
  exit_cannot_write = 6,    // an output cannot be written (disk full, permissions); the previous files are intact
  exit_out_dir_taken = 7,   // --out is in use by another trainer, or holds a run (--resume or --overwrite)
  exit_out_of_memory = 8,   // the run cannot fit in this machine's memory; the message gives a batch that fits
  exit_interrupted = 9,     // stopped by SIGINT, SIGTERM, SIGHUP, SIGUSR1 or SIGUSR2 after saving a checkpoint: --resume continues
};

inline constexpr const char* exit_code_table =
    "Exit codes: 0 done; 1 other failure; 2 bad flags or unknown model; 3 non-finite loss or weights (the last "
    "good checkpoint is kept); 4 bad, missing or partial data, or other data than the resumed run's; 5 a checkpoint "
    "or weights file that cannot be used; 6 an output cannot be written (disk full, permissions); 7 --out is used "
    "by another trainer or holds a run (--resume or --overwrite); 8 not enough memory (the message gives a batch "
    "size that fits); 9 stopped by SIGINT/SIGTERM/SIGHUP (or SIGUSR1/SIGUSR2, which mpirun forwards to its ranks) with a checkpoint saved (--resume continues; a second "
    "signal stops at once, keeping the last checkpoint).";

}  // namespace cnnzoo::trainer
