/*
 * nullmilter: a do-nothing libmilter filter.
 *
 * Used by the agentgate end-to-end harness (tests/e2e) to prove that the
 * private MTAs talk to a milter at all, and by the benchmarks as the
 * baseline cost of "an MTA with a milter attached".  It registers a callback
 * for every protocol stage and keeps libmilter's default negotiation, so the
 * MTA sends every step, exactly as it would to a real filter.  Every callback
 * answers SMFIS_CONTINUE; the message is never modified.
 *
 * Usage: nullmilter -p SOCKSPEC [-q]
 *   -p SOCKSPEC  libmilter syntax: unix:/path/to.sock or inet:PORT@HOST
 *   -q           quiet: no per-message log lines on stderr
 *
 * When not quiet it writes one line per connection/message stage of interest
 * to stderr (connect, MAIL, end-of-message with queue id and {auth_authen},
 * close), which the harness greps to see what the MTA sent.
 *
 * The unix socket is created mode 0666 (the MTA may run as another user)
 * and removed on exit.  libmilter needs up to ~5 s to exit after SIGTERM.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

static int quiet;

static const char* macro(SMFICTX* ctx, const char* name) {
  const char* v = smfi_getsymval(ctx, (char*)name);
  return v != NULL ? v : "-";
}

static void logline(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

static void logline(const char* fmt, ...) {
  va_list ap;

  if (quiet) return;
  /* One vfprintf per line: stdio locks the stream, so lines from
   * different session threads do not interleave. */
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
}

static sfsistat nm_connect(SMFICTX* ctx, char* host, _SOCK_ADDR* sa) {
  (void)sa;
  logline("nullmilter: connect host=%s daemon=%s\n", host != NULL ? host : "-",
          macro(ctx, "{daemon_name}"));
  return SMFIS_CONTINUE;
}

static sfsistat nm_helo(SMFICTX* ctx, char* helo) {
  (void)ctx;
  (void)helo;
  return SMFIS_CONTINUE;
}

static sfsistat nm_envfrom(SMFICTX* ctx, char** argv) {
  logline("nullmilter: mail from=%s auth_type=%s auth_authen=%s\n",
          argv != NULL && argv[0] != NULL ? argv[0] : "-", macro(ctx, "{auth_type}"),
          macro(ctx, "{auth_authen}"));
  return SMFIS_CONTINUE;
}

static sfsistat nm_envrcpt(SMFICTX* ctx, char** argv) {
  (void)ctx;
  (void)argv;
  return SMFIS_CONTINUE;
}

static sfsistat nm_data(SMFICTX* ctx) {
  (void)ctx;
  return SMFIS_CONTINUE;
}

static sfsistat nm_unknown(SMFICTX* ctx, const char* cmd) {
  (void)ctx;
  (void)cmd;
  return SMFIS_CONTINUE;
}

static sfsistat nm_header(SMFICTX* ctx, char* name, char* value) {
  (void)ctx;
  (void)name;
  (void)value;
  return SMFIS_CONTINUE;
}

static sfsistat nm_eoh(SMFICTX* ctx) {
  (void)ctx;
  return SMFIS_CONTINUE;
}

static sfsistat nm_body(SMFICTX* ctx, unsigned char* chunk, size_t len) {
  (void)ctx;
  (void)chunk;
  (void)len;
  return SMFIS_CONTINUE;
}

static sfsistat nm_eom(SMFICTX* ctx) {
  logline("nullmilter: eom qid=%s auth_type=%s auth_authen=%s\n", macro(ctx, "i"),
          macro(ctx, "{auth_type}"), macro(ctx, "{auth_authen}"));
  return SMFIS_CONTINUE;
}

static sfsistat nm_abort(SMFICTX* ctx) {
  (void)ctx;
  return SMFIS_CONTINUE;
}

static sfsistat nm_close(SMFICTX* ctx) {
  (void)ctx;
  logline("nullmilter: close\n");
  return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
    .xxfi_name = "nullmilter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = 0,
    .xxfi_connect = nm_connect,
    .xxfi_helo = nm_helo,
    .xxfi_envfrom = nm_envfrom,
    .xxfi_envrcpt = nm_envrcpt,
    .xxfi_header = nm_header,
    .xxfi_eoh = nm_eoh,
    .xxfi_body = nm_body,
    .xxfi_eom = nm_eom,
    .xxfi_abort = nm_abort,
    .xxfi_close = nm_close,
    .xxfi_unknown = nm_unknown,
    .xxfi_data = nm_data,
    .xxfi_negotiate = NULL, /* default: take every step the MTA offers */
};

static void usage(const char* prog) {
  fprintf(stderr,
          "usage: %s -p SOCKSPEC [-q]\n"
          "  SOCKSPEC: unix:/path/to.sock or inet:PORT@HOST\n",
          prog);
}

int main(int argc, char** argv) {
  const char* spec = NULL;
  int c, rc;

  while ((c = getopt(argc, argv, "p:qh")) != -1) {
    switch (c) {
      case 'p':
        spec = optarg;
        break;
      case 'q':
        quiet = 1;
        break;
      case 'h':
        usage(argv[0]);
        return 0;
      default:
        usage(argv[0]);
        return 2;
    }
  }
  if (spec == NULL || optind != argc) {
    usage(argv[0]);
    return 2;
  }

  /* Postfix's smtpd runs as user "postfix" and must be able to write to
   * a unix socket we create as root: make it srw-rw-rw-. */
  umask(0111);

  if (smfi_setconn((char*)spec) == MI_FAILURE) {
    fprintf(stderr, "nullmilter: smfi_setconn(%s) failed\n", spec);
    return 1;
  }
  if (smfi_register(desc) == MI_FAILURE) {
    fprintf(stderr, "nullmilter: smfi_register failed\n");
    return 1;
  }
  /* true: remove a stale unix socket left by an earlier run. */
  if (smfi_opensocket(true) == MI_FAILURE) {
    fprintf(stderr, "nullmilter: cannot open socket %s: %s\n", spec, strerror(errno));
    return 1;
  }
  if (!quiet) fprintf(stderr, "nullmilter: listening on %s\n", spec);
  rc = smfi_main() == MI_SUCCESS ? 0 : 1;

  /* libmilter leaves the unix socket behind on exit; remove it so that
   * "milter down" looks the same every time (no such file). */
  if (strncmp(spec, "unix:", 5) == 0)
    unlink(spec + 5);
  else if (strncmp(spec, "local:", 6) == 0)
    unlink(spec + 6);
  if (!quiet) fprintf(stderr, "nullmilter: stopped\n");
  return rc;
}
