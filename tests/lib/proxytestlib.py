"""proxytestlib.py - a small TCP proxy in front of the receiver, to stop a
download at a byte chosen by the test, without timings.

    proxy = CuttingProxy(rx.port)        # mfb's target URL then names proxy.port
    proxy.hold_after(n)                  # forward the receiver's first n bytes, hold the rest
    proxy.holding.wait(120)              # mfb has received them and waits for more
    proxy.release()                      # forward the rest, as if nothing happened
    proxy.release(more=m)                # or only m bytes more, then hold again
    proxy.cut()                          # or: close every connection (the receiver gone)

TLS passes through it untouched: the pinned fingerprint still holds
(restore_resume.py cuts downloads with it; restore_diskfull.py holds one
while the test fills the disk under it, then lets it go on).
"""

import socket
import threading


class CuttingProxy:
    """Forwards 127.0.0.1:port to the receiver's port, counting the bytes the
    receiver sends. With hold_after(n) it forwards only the first n of them
    (over all connections) and holds back the rest until release(); cut()
    instead closes every connection, and while upstream is None new ones are
    closed at once."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.lock = threading.Lock()
        self.received = 0  # bytes forwarded from the receiver to mfb
        self.limit = None
        self.holding = threading.Event()
        self.cond = threading.Condition(self.lock)
        self.generation = 0  # each release() lets the held connections go on
        self.socks = set()
        self.threads = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._spawn(self._accept)

    def _spawn(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        t.start()
        self.threads.append(t)

    def hold_after(self, n):
        with self.lock:
            self.received = 0
            self.limit = n
            self.holding.clear()

    def release(self, more=None):
        """Forwards what was held back and everything after it, or only
        `more` bytes of it and then holds again (holding is set anew)."""
        with self.cond:
            self.limit = None if more is None else self.received + more
            self.holding.clear()
            self.generation += 1
            self.cond.notify_all()

    def reset_count(self):
        """Counts afresh, holding nothing back (a held connection goes on)."""
        with self.cond:
            self.received = 0
            self.limit = None
            self.generation += 1
            self.cond.notify_all()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            with self.lock:
                port = self.upstream
            try:
                if port is None:
                    raise OSError("the receiver is down")
                server = socket.create_connection(("127.0.0.1", port))
            except OSError:
                client.close()
                continue
            with self.lock:
                self.socks.update((client, server))
            self._spawn(self._pump, client, server, False)
            self._spawn(self._pump, server, client, True)

    def _pump(self, src, dst, downstream):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while downstream and data:
                    with self.lock:
                        n = len(data) if self.limit is None else \
                            max(0, self.limit - self.received)
                        now, data = data[:n], data[n:]
                        self.received += len(now)
                        full = self.limit is not None and self.received >= self.limit
                        generation = self.generation
                    if now:
                        dst.sendall(now)
                    if full:
                        self.holding.set()
                        with self.cond:  # until release(), or cut()
                            self.cond.wait_for(lambda: self.generation != generation or
                                               self.upstream is None)
                            if self.upstream is None:
                                return
                if not downstream:
                    dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def cut(self):
        """Closes every connection; new ones are refused until upstream is set."""
        with self.cond:
            self.upstream = None
            socks, self.socks = self.socks, set()
            self.cond.notify_all()  # a held connection ends
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.cut()
        for t in self.threads:
            t.join(timeout=10)
