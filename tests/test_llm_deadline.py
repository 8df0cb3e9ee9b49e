"""The openai backend bounds a whole request, not each read: a local server that drips its
answer one byte at a time (and would go on far longer than the timeout) is cut off."""
import socket
import threading
import time

from dataforge.llm import Sampling, from_spec

DRIPS = 60          # the server would drip for DRIPS * GAP seconds...
GAP = 0.1
TIMEOUT = 0.5       # ...the client allows TIMEOUT for the whole request


class DripServer:
    """Answers every request with headers, then one body byte every GAP seconds; stops by
    itself after DRIPS bytes or when the client goes away; serves one connection."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(5)
        self.sent: list[int] = []  # bytes of body sent per connection before it ended
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    def _serve(self):
        try:
            for _ in range(1):
                conn, _ = self.sock.accept()
                with conn:
                    conn.settimeout(5)
                    conn.recv(65536)  # the request (small)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: %d\r\n\r\n" % (DRIPS + 100))
                    n = 0
                    try:
                        for _ in range(DRIPS):
                            conn.sendall(b" ")
                            n += 1
                            time.sleep(GAP)
                    except OSError:  # the client hung up: what we want
                        pass
                    self.sent.append(n)
        except OSError:
            pass
        finally:
            self.sock.close()


def test_dripping_server_is_cut_off_by_the_total_deadline():
    srv = DripServer()
    llm = from_spec(f"openai:{srv.url}@m", timeout=TIMEOUT, max_retries=0)
    res = llm.generate(["hello"], Sampling(max_tokens=4))
    assert res[0].error and "timeout" in res[0].error, res[0].error
    srv.thread.join(timeout=DRIPS * GAP + 5)
    # every read came within GAP < TIMEOUT, so only a whole-request deadline ends it early:
    # the server was cut off long before it had dripped its body
    assert srv.sent and srv.sent[0] < DRIPS // 2, srv.sent
