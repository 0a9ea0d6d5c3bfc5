"""A page that greets the visitor, served with the standard library."""

import os
from http.server import BaseHTTPRequestHandler, HTTPServer

PAGE = """<!doctype html>
<html><head><title>Hello</title>
<style>body { background: #ffd; font-family: sans-serif; } h1 { color: #036; }</style></head>
<body><h1>Hello, visitor!</h1><p>You are visitor number {count}.</p></body></html>
"""


def page(count):
    """The page for the ``count``-th visitor."""
    return PAGE.replace("{count}", str(count))


class PageHandler(BaseHTTPRequestHandler):
    visits = 0

    def do_GET(self):
        if self.path != "/":
            self.send_error(404)
            return
        PageHandler.visits += 1
        body = page(PageHandler.visits).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    server = HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8000"))), PageHandler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
