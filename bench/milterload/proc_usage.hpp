// CPU and memory of a process, for "milter CPU per message" and "generator CPU per message":
// /proc/PID/stat (utime + stime, all threads) and /proc/PID/status (VmHWM, VmRSS) for the
// milter, getrusage() for milterload itself. Linux only.
#pragma once

#include <sys/types.h>

#include <optional>

namespace agentgate::bench {

// utime + stime of the whole process in seconds; nullopt when it cannot be read.
std::optional<double> process_cpu_seconds(pid_t pid);

struct ProcessMemory {
  long peak_rss_kib = 0;  // VmHWM
  long rss_kib = 0;       // VmRSS
};
std::optional<ProcessMemory> process_memory(pid_t pid);

struct SelfCpu {
  double user_seconds = 0;
  double system_seconds = 0;
};
SelfCpu self_cpu();

}  // namespace agentgate::bench
