"""The HTTP server class the lab's Python services share."""

from __future__ import annotations

import socketserver
from http.server import ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    """ThreadingHTTPServer without the reverse DNS lookup of its own address at bind time
    (``socket.getfqdn``): inside a lab node that lookup waits for an unreachable resolver."""

    daemon_threads = True

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
