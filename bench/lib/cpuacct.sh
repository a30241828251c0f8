# shellcheck shell=bash
# cpuacct.sh: CPU time used by groups of processes, for benchmarks on a shared, noisy machine
# where wall-clock throughput depends on what else runs: CPU per message does much less.
# Source it. Uses the cgroup-v1 cpuacct controller when it is mounted and writable (root);
# otherwise cpu_group_new fails and callers go without the figures. Processes join the group
# of the shell that starts them, so: enter a group, start the processes, enter another.
# Must never leave a group behind that it could remove, nor move processes it did not start.

CPUACCT_ROOT=${CPUACCT_ROOT:-/sys/fs/cgroup/cpuacct}

# cpu_group_new NAME: create group NAME under the cpuacct root and print its path.
cpu_group_new() {
  local g=$CPUACCT_ROOT/${1:?cpu_group_new NAME}
  [[ -w $CPUACCT_ROOT/cgroup.procs && -r $CPUACCT_ROOT/cpuacct.usage ]] || return 1
  mkdir "$g" 2>/dev/null && [[ -r $g/cpuacct.usage ]] || return 1
  printf '%s\n' "$g"
}

# cpu_group_enter PATH: move the calling shell into group PATH (the cpuacct root to leave).
cpu_group_enter() {
  echo "$BASHPID" >"${1:?cpu_group_enter PATH}/cgroup.procs"
}

# cpu_group_ns PATH: print the CPU nanoseconds the group's processes have used so far.
cpu_group_ns() {
  local v
  read -r v <"${1:?cpu_group_ns PATH}/cpuacct.usage" && printf '%s\n' "$v"
}

# cpu_group_remove PATH...: leave the groups (back to the root) and remove them, waiting up to
# 5 s for exiting processes. Warns about a group still in use and leaves it.
cpu_group_remove() {
  local g i
  echo "$BASHPID" >"$CPUACCT_ROOT/cgroup.procs" 2>/dev/null || true
  for g in "$@"; do
    [[ -d $g ]] || continue
    for ((i = 0; i < 50; i++)); do
      rmdir "$g" 2>/dev/null && break
      sleep 0.1
    done
    [[ -d $g ]] && echo "cpu_group_remove: warning: $g still has processes: $(tr '\n' ' ' <"$g/cgroup.procs")" >&2
  done
  return 0
}

# proc_cpu_ns PID: print the CPU nanoseconds (user + system, all threads) process PID has
# used, from /proc/PID/stat (clock-tick resolution).
proc_cpu_ns() {
  local st ticks hz
  st=$(cat "/proc/${1:?proc_cpu_ns PID}/stat" 2>/dev/null) || return 1
  st=${st##*) } # fields from 3 on: state ppid ... utime(14) stime(15)
  local -a f
  read -r -a f <<<"$st"
  ticks=$((f[11] + f[12]))
  hz=$(getconf CLK_TCK)
  printf '%s\n' "$((ticks * 1000000000 / hz))"
}
