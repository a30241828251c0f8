#!/usr/bin/env python3
"""store_fault.py: make a WAL-mode SQLite store unreadable for the processes that use it, and
give it back (e2e fault tests).

usage: store_fault.py lock DB SECONDS
       store_fault.py garbage DB SAVE
       store_fault.py restore DB SAVE

lock     Holds SQLite's WAL-index locks (bytes 120-127 of DB-shm: write, checkpoint, recover and
         the five read marks) exclusively for SECONDS (or until SIGTERM).  Every reader, also
         a connection opened long before, then fails after SQLite's ~10 s retry loop with
         "locking protocol".  (A writer's `BEGIN EXCLUSIVE` does NOT do this: in WAL mode
         readers go on reading; and fcntl locks on the main file are useless because every
         open WAL connection holds a SHARED lock for its lifetime.)  Prints
         "locked TIME_NS" once the locks are held.
garbage  Checkpoints the WAL into DB, copies DB to SAVE, and renames a file of random bytes
         over DB (a replaced store file: agentgated checks the inode at every poll and end of
         message and reconnects). Prints "garbage TIME_NS" (the moment the store became
         unreadable).
restore  Renames a copy of SAVE over DB.
"""
import fcntl
import os
import shutil
import signal
import sqlite3
import sys
import time


def lock(db, seconds):
    shm = db + "-shm"
    if not os.path.exists(shm):
        print(f"store_fault: {shm} does not exist (is the store in WAL mode and open?)", file=sys.stderr)
        return 2
    fd = os.open(shm, os.O_RDWR)
    deadline = time.monotonic() + 5
    while True:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 8, 120)
            break
        except OSError:  # a reader or writer holds one of them right now: retry
            if time.monotonic() > deadline:
                print("store_fault: could not take the WAL-index locks in 5 s", file=sys.stderr)
                return 1
            time.sleep(0.001)
    print(f"locked {time.time_ns()}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    time.sleep(seconds)
    return 0


def read_generation(conn):
    return conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()


def garbage(db, save):
    """Moves a garbage file over DB (a new inode, as a botched restore would): agentgated
    notices the replaced file at its next poll or end of message and reconnects, which fails."""
    writer = sqlite3.connect(db, isolation_level=None, timeout=5)
    deadline = time.monotonic() + 5
    while True:
        busy, _, _ = writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy == 0:
            break
        if time.monotonic() > deadline:
            print("store_fault: WAL checkpoint stayed busy for 5 s", file=sys.stderr)
            return 1
        time.sleep(0.01)
    writer.close()
    shutil.copyfile(db, save)
    tmp = db + ".garbage"
    with open(tmp, "wb") as f:
        f.write(os.urandom(os.path.getsize(save)))
        f.flush()
        os.fsync(f.fileno())
    for suffix in ("-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    os.rename(tmp, db)
    print(f"garbage {time.time_ns()}", flush=True)
    return 0


def restore(db, save):
    """Moves a copy of SAVE back over DB (a new inode again)."""
    tmp = db + ".restore"
    shutil.copyfile(save, tmp)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    os.rename(tmp, db)
    conn = sqlite3.connect(db, timeout=5)
    read_generation(conn)
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "lock":
        return lock(argv[2], float(argv[3]))
    if len(argv) == 4 and argv[1] == "garbage":
        return garbage(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "restore":
        return restore(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
