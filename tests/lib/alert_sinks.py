"""alert_sinks.py - real local listeners that receive mfb's alerts in tests:
an HTTPS webhook endpoint and an SMTP server that offers STARTTLS (Python
3.12 has no smtpd module, so this is a small socketserver SMTP dialogue).
Both run on loopback in a thread, use a certificate the test provides
(the receiver's self-signed one works: its SAN holds 127.0.0.1), and keep
what they received for the test to inspect.

    with WebhookSink(cert, key) as hook:      # hook.url, hook.requests
    with SmtpSink(cert, key) as smtp:         # smtp.url, smtp.messages
"""
import http.server
import socket
import socketserver
import ssl
import threading


class WebhookSink:
    """HTTPS POST endpoint; records (path, headers, body bytes)."""

    def __init__(self, cert, key, status=200):
        self.requests = []
        self.status = status
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                sink.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()},
                                      body))
                self.send_response(sink.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/hooks/mfb"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        return False


class SmtpSink:
    """SMTP with STARTTLS; refuses MAIL before TLS. Records dicts with
    mail_from, rcpt (list), data (str), tls (bool)."""

    def __init__(self, cert, key):
        self.messages = []
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line):
                self.wfile.write((line + "\r\n").encode())
                self.wfile.flush()

            def finish(self):
                super().finish()
                if getattr(self, "_tls", None) is not None:
                    self._tls.close()

            def handle(self):
                tls = False
                msg = {"mail_from": None, "rcpt": [], "data": None, "tls": False}
                self.reply("220 localhost mfb-test ESMTP")
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    cmd = line.decode(errors="replace").strip()
                    verb = cmd.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        if tls:
                            self.reply("250-localhost")
                            self.reply("250 AUTH PLAIN LOGIN")
                        else:
                            self.reply("250-localhost")
                            self.reply("250 STARTTLS")
                    elif verb == "STARTTLS":
                        self.reply("220 go ahead")
                        conn = ctx.wrap_socket(self.connection, server_side=True)
                        self.connection = self._tls = conn
                        self.rfile = conn.makefile("rb")
                        self.wfile = conn.makefile("wb")
                        tls = True
                    elif verb == "MAIL":
                        if not tls:
                            self.reply("530 must issue STARTTLS first")
                            continue
                        msg["mail_from"] = cmd[10:].strip()
                        msg["tls"] = True
                        self.reply("250 ok")
                    elif verb == "RCPT":
                        msg["rcpt"].append(cmd[8:].strip())
                        self.reply("250 ok")
                    elif verb == "DATA":
                        self.reply("354 end with .")
                        lines = []
                        while True:
                            d = self.rfile.readline()
                            if not d or d in (b".\r\n", b".\n"):
                                break
                            if d.startswith(b".."):
                                d = d[1:]
                            lines.append(d.decode(errors="replace"))
                        msg["data"] = "".join(lines)
                        sink.messages.append(dict(msg))
                        self.reply("250 queued")
                    elif verb == "AUTH":
                        self.reply("235 ok")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("250 ok")

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"smtp://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        return False


def closed_port():
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
