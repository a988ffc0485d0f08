"""A tiny web app: it greets, and counts visits in redis-like fashion in a file."""
import http.server
import json
import os
import platform


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            body = b"ok"
        else:
            body = json.dumps({"hello": os.environ.get("GREETING", "world"),
                               "python": platform.python_version(),
                               "user": os.getuid()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print(fmt % args, flush=True)


http.server.ThreadingHTTPServer(("", 8000), Handler).serve_forever()
