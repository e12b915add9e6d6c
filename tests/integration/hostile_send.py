#!/usr/bin/env python3
"""hostile_send.py PORT TABLE CALLBACK_URL KEEP_KEY - the rows of hostile.tsv, sent.

test_hostile.sh's sender and judge in one process (a curl, a jq and a few subshells a
row made the test take minutes on a loaded machine). The table's format is at the top
of test_hostile.sh. Each row is one request on a new connection to 127.0.0.1:PORT,
built as curl builds it (Host, User-Agent, Accept, the row's headers, a JSON
Content-Type unless the row gives one; "Content-Type:" with no value sends none);
RAW rows are their bytes, as written. Prints one line a row, TAB-separated:
    ok      DESCRIPTION
    fail    DESCRIPTION     WHY
and at the end "rows N". Exit 0 (the verdicts are in the lines), 2 on bad usage.
"""
import http.client
import json
import re
import socket
import subprocess
import sys

TIMEOUT_S = 10


def percent_b(text):
    """Bash's printf %b on text: the escapes the table uses, to bytes."""
    simple = {"\\": b"\\", "a": b"\a", "b": b"\b", "e": b"\x1b", "f": b"\f",
              "n": b"\n", "r": b"\r", "t": b"\t", "v": b"\v"}
    out = bytearray()
    i = 0
    raw = text.encode("utf-8")
    while i < len(raw):
        c = raw[i:i + 1]
        if c != b"\\" or i + 1 >= len(raw):
            out += c
            i += 1
            continue
        n = chr(raw[i + 1])
        if n in simple:
            out += simple[n]
            i += 2
        elif n == "x":
            m = re.match(rb"[0-9a-fA-F]{1,2}", raw[i + 2:])
            if m:
                out.append(int(m.group(0), 16))
                i += 2 + len(m.group(0))
            else:
                out += b"\\x"
                i += 2
        elif n == "0":
            m = re.match(rb"[0-7]{0,3}", raw[i + 2:])
            out.append(int(m.group(0) or b"0", 8) & 0xFF)
            i += 2 + len(m.group(0))
        else:
            out += b"\\"
            i += 1
    return bytes(out)


def expand(text, url, keep):
    """The table's placeholders filled in ({REP:N:TEXT}, @U@, @KEEP@)."""
    text = re.sub(r"\{REP:([0-9]+):([^}]*)\}", lambda m: m.group(2) * int(m.group(1)), text)
    return text.replace("@U@", url).replace("@KEEP@", keep)


def send_http(port, method, path, headers, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.putheader("User-Agent", "curl/7.88.1")
        conn.putheader("Accept", "*/*")
        has_ct = False
        for h in headers:
            name, _, value = h.partition(":")
            if name.strip().lower() == "content-type":
                has_ct = True
                if value.strip() == "":
                    continue  # curl -H 'Content-Type:' sends none
            conn.putheader(name.strip(), value.strip())
        if body is not None:
            if not has_ct:
                conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return str(resp.status), resp.read()
    except (OSError, http.client.HTTPException) as e:
        return "request failed: %s" % e, b""
    finally:
        conn.close()


def send_raw(port, request):
    data = bytearray()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as s:
            s.sendall(request)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError as e:
        if not data:
            return "request failed: %s" % e, b""
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    first = head.split(b"\r\n", 1)[0].decode("latin-1")
    if not re.match(r"HTTP/1\.[01] ", first):
        return "no status line: '%s'" % first[:60], body
    return first.split()[1], body


def judge(status, body, want_status, want):
    why = ""
    if status != want_status:
        why += "HTTP %s, want %s; " % (status, want_status)
    try:
        doc = json.loads(body)
    except ValueError:
        return why + "answer is not JSON: '%s'; " % body[:300].decode("utf-8", "replace")
    if want.startswith("jq:"):
        ok = subprocess.run(["jq", "-e", "--arg", "w", want, want[3:]], input=body,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    elif want == "-":
        ok = True
    elif want.isdigit():
        ok = (isinstance(doc, dict) and doc.get("ret") == int(want) and
              isinstance(doc.get("msg"), str) and doc["msg"] != "")
    else:
        err = doc.get("error") if isinstance(doc, dict) else None
        ok = (isinstance(err, dict) and err.get("code") == want and
              isinstance(err.get("message"), str) and err["message"] != "")
    if not ok:
        why += "answer is not %s: '%s'; " % (want, body[:300].decode("utf-8", "replace"))
    return why


def main():
    if len(sys.argv) != 5:
        print("usage: hostile_send.py PORT TABLE CALLBACK_URL KEEP_KEY", file=sys.stderr)
        return 2
    port, table, url, keep = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    rows = 0
    with open(table, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line == "" or line.startswith("#"):
                continue
            rows += 1
            cols = line.split("\t")
            if len(cols) != 7 or cols[6] == "":
                print("fail\trow %d: seven columns\tgot: %s" % (rows, line[:80]), flush=True)
                continue
            method, path, headers, body, want_status, want, reason = cols
            if method == "RAW":
                status, answer = send_raw(port, percent_b(expand(path, url, keep)))
            else:
                hlist = []
                if headers != "-":
                    hs = expand(headers, url, keep)
                    m = re.search(r"@MANY:([0-9]+)@", hs)
                    if m:
                        hlist += ["X-Many-%d: %d" % (i, i) for i in range(int(m.group(1)))]
                        hs = hs.replace(m.group(0), "")
                    hlist += [h for h in hs.split("|") if h]
                data = None if body == "-" else percent_b(expand(body, url, keep))
                status, answer = send_http(port, method, expand(path, url, keep), hlist, data)
            why = judge(status, answer, want_status, want)
            if why:
                print("fail\trow %d: %s\t%s" % (rows, reason, why.replace("\t", " ").replace("\n", " ")), flush=True)
            else:
                print("ok\trow %d: %s -> %s %s" % (rows, reason, want_status, want), flush=True)
    print("rows\t%d" % rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
