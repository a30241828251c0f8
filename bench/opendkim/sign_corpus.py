#!/usr/bin/python3
"""sign_corpus.py KEYFILE IN OUT: DKIM-sign every message of a milterload corpus.

The corpus format is the one bench/milterload reads (see bench/milterload/message.hpp):

    #envelope from=<a@x> rcpt=<b@y>,<c@z> login=agent-1
    Header: value
    ...

    body...
    #end

Every message is signed with python3-dkim (rsa-sha256, relaxed/relaxed, d=example.com,
s=bench, h=From:To:Subject:Date:Message-ID; an absent one of these is signed as absent) and
written back with its DKIM-Signature header first; everything else, including the envelope lines, the blank lines
between messages and each line's ending (CRLF or LF), is copied byte for byte. The signature
uses the line ending of the message it signs. The signed bytes are the lines between the
envelope line and "#end", which is what milterload sends (with CRLF line ends: relaxed body
canonicalisation makes LF and CRLF corpora sign alike).

It must never change a message's content: a signature over bytes other than those sent would
measure failures, not verification. Errors name the input line and exit with status 1.
"""
import os
import sys

import dkim

SELECTOR = b"bench"
DOMAIN = b"example.com"
SIGNED_HEADERS = [b"From", b"To", b"Subject", b"Date", b"Message-ID"]


class CorpusError(Exception):
    pass


def line_ending(line):
    return b"\r\n" if line.endswith(b"\r\n") else b"\n"


def stripped(line):
    return line.rstrip(b"\r\n")


def has_from(lines):
    for line in lines:
        text = stripped(line)
        if not text:
            return False  # end of the header
        if text[:5].lower() == b"from:":
            return True
    return False


def sign_message(key, lines):
    """Return the DKIM-Signature header for the message made of LINES (each with its end)."""
    if not has_from(lines):
        raise CorpusError("no From header (DKIM signs and verifiers require one)")
    eol = line_ending(lines[0]) if lines else b"\r\n"
    message = b"".join(lines)
    signature = dkim.sign(
        message,
        SELECTOR,
        DOMAIN,
        key,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=SIGNED_HEADERS,
        signature_algorithm=b"rsa-sha256",
        linesep=eol,
    )
    # dkim.sign folds with linesep but be strict: every line of the header ends in EOL.
    folded = signature.replace(b"\r\n", b"\n").rstrip(b"\n").split(b"\n")
    return b"".join(part + eol for part in folded)


def sign_corpus(key, src, dst):
    """Copy SRC to DST, signing each message; return the number of messages."""
    count = 0
    line_no = 0
    message = None  # lines of the message being read, None between messages
    envelope_line = 0
    for line in src:
        line_no += 1
        text = stripped(line)
        if message is None:
            if text.startswith(b"#envelope"):
                message = []
                envelope_line = line_no
            elif text:
                raise CorpusError(f"line {line_no}: expected '#envelope ...', got {text[:60]!r}")
            dst.write(line)
            continue
        if text != b"#end":
            message.append(line)
            continue
        try:
            dst.write(sign_message(key, message))
        except (CorpusError, dkim.DKIMException) as e:
            raise CorpusError(f"message at line {envelope_line}: cannot sign: {e}") from e
        dst.writelines(message)
        dst.write(line)
        message = None
        count += 1
    if message is not None:
        raise CorpusError(f"message at line {envelope_line}: no '#end'")
    return count


def main(argv):
    if len(argv) != 4:
        print(f"usage: {argv[0]} KEYFILE IN OUT", file=sys.stderr)
        return 2
    keyfile, in_path, out_path = argv[1:]
    with open(keyfile, "rb") as f:
        key = f.read()
    tmp_path = out_path + ".tmp"
    try:
        with open(in_path, "rb") as src, open(tmp_path, "wb") as dst:
            count = sign_corpus(key, src, dst)
        if count == 0:
            raise CorpusError("no messages")
    except CorpusError as e:
        os.unlink(tmp_path)
        print(f"{argv[0]}: {in_path}: {e}", file=sys.stderr)
        return 1
    os.replace(tmp_path, out_path)
    print(f"signed {count} messages -> {out_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
