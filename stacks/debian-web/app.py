"""A tiny web app: it greets, and counts visits in redis (the `cache` service), spoken
to in redis's own protocol over a socket so the image needs nothing beyond python3."""
import http.server
import json
import os
import platform
import socket


def redis(*args: str) -> int:
    """Send one command; its integer reply (INCR's)."""
    host, _, port = os.environ.get("CACHE", "cache:6379").partition(":")
    request = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
    with socket.create_connection((host, int(port)), timeout=2) as conn:
        conn.sendall(request.encode())
        reply = conn.recv(1024).decode()
    if not reply.startswith(":"):
        raise RuntimeError(f"redis said {reply.strip()}")
    return int(reply[1:].strip())


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            body = b"ok"
        else:
            body = json.dumps({"hello": os.environ.get("GREETING", "world"),
                               "python": platform.python_version(),
                               "user": os.getuid(),
                               "visits": redis("INCR", "visits")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print(fmt % args, flush=True)


http.server.ThreadingHTTPServer(("", 8000), Handler).serve_forever()
