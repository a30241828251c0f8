// The libmilter adapter: each callback wraps its SMFICTX in an MtaContext and runs the filter
// step; the Step becomes an sfsistat. Nothing here decides anything.
#include "milter/callbacks.hpp"

#include "milter/filter.hpp"

namespace agentgate::milter {
namespace {

class LibmilterContext final : public MtaContext {
 public:
  explicit LibmilterContext(SMFICTX* ctx) : ctx_(ctx) {}
  Session* session() override { return static_cast<Session*>(smfi_getpriv(ctx_)); }
  void set_session(Session* s) override {
    if (smfi_setpriv(ctx_, s) != MI_SUCCESS) throw std::runtime_error("smfi_setpriv failed");
  }
  std::string macro(const char* name) override {
    const char* v = smfi_getsymval(ctx_, const_cast<char*>(name));
    return v ? v : "";
  }
  void request_macros(int stage, const char* names) override {
    smfi_setsymlist(ctx_, stage, const_cast<char*>(names));
  }
  void set_reply(const char* rcode, const char* xcode, const std::string& text) override {
    smfi_setreply(ctx_, const_cast<char*>(rcode), const_cast<char*>(xcode),
                  const_cast<char*>(text.c_str()));
  }
  void quarantine(const std::string& reason) override {
    smfi_quarantine(ctx_, const_cast<char*>(reason.c_str()));
  }
  void delete_header(const char* name, int index) override {
    smfi_chgheader(ctx_, const_cast<char*>(name), index, nullptr);
  }
  void insert_header(int index, const char* name, const std::string& value) override {
    smfi_insheader(ctx_, index, const_cast<char*>(name), const_cast<char*>(value.c_str()));
  }

 private:
  SMFICTX* ctx_;
};

sfsistat to_sfsistat(Step step) {
  switch (step) {
    case Step::cont:
      return SMFIS_CONTINUE;
    case Step::no_reply:
      return SMFIS_NOREPLY;
    case Step::reject:
      return SMFIS_REJECT;
    case Step::skip:
      return SMFIS_SKIP;
    case Step::tempfail:
      break;
  }
  return SMFIS_TEMPFAIL;
}

sfsistat on_negotiate(SMFICTX* ctx, unsigned long f0, unsigned long f1, unsigned long,
                      unsigned long, unsigned long* pf0, unsigned long* pf1, unsigned long* pf2,
                      unsigned long* pf3) {
  LibmilterContext m(ctx);
  filter_negotiate(m, f0, f1, pf0, pf1);
  *pf2 = 0;
  *pf3 = 0;
  return SMFIS_CONTINUE;
}

sfsistat on_connect(SMFICTX* ctx, char*, _SOCK_ADDR* addr) {
  LibmilterContext m(ctx);
  return to_sfsistat(filter_connect(m, addr));
}

sfsistat on_envfrom(SMFICTX* ctx, char** argv) {
  LibmilterContext m(ctx);
  return to_sfsistat(filter_mail(m, argv[0]));
}

sfsistat on_envrcpt(SMFICTX* ctx, char** argv) {
  LibmilterContext m(ctx);
  return to_sfsistat(filter_rcpt(m, argv[0]));
}

sfsistat on_header(SMFICTX* ctx, char* name, char* value) {
  LibmilterContext m(ctx);
  return to_sfsistat(filter_header(m, name, value));
}

sfsistat on_body(SMFICTX* ctx, unsigned char* chunk, size_t len) {
  LibmilterContext m(ctx);
  return to_sfsistat(filter_body(m, chunk, len));
}

sfsistat on_eom(SMFICTX* ctx) {
  LibmilterContext m(ctx);
  return to_sfsistat(filter_eom(m));
}

sfsistat on_abort(SMFICTX* ctx) {
  LibmilterContext m(ctx);
  filter_abort(m);
  return SMFIS_CONTINUE;
}

sfsistat on_close(SMFICTX* ctx) {
  LibmilterContext m(ctx);
  filter_close(m);
  return SMFIS_CONTINUE;
}

}  // namespace

smfiDesc make_filter_description() {
  smfiDesc d{};
  d.xxfi_name = const_cast<char*>("agentgate");
  d.xxfi_version = SMFI_VERSION;
  d.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST;
  d.xxfi_connect = on_connect;
  d.xxfi_envfrom = on_envfrom;
  d.xxfi_envrcpt = on_envrcpt;
  d.xxfi_header = on_header;
  d.xxfi_body = on_body;
  d.xxfi_eom = on_eom;
  d.xxfi_abort = on_abort;
  d.xxfi_close = on_close;
  d.xxfi_negotiate = on_negotiate;
  return d;
}

}  // namespace agentgate::milter
