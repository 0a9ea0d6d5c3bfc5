"""A to-do list served as JSON over HTTP (standard library only)."""

import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

TODOS = []


def add_todo(todos, title):
    """Add a to-do with the next id; the new to-do."""
    todo = {"id": len(todos) + 1, "title": title, "done": False}
    todos.append(todo)
    return todo


def find_todo(todos, number):
    """The to-do with id ``number``, or None."""
    return next((todo for todo in todos if todo["id"] == number), None)


class TodoHandler(BaseHTTPRequestHandler):
    def send_json(self, status, data):
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/todos":
            self.send_json(200, TODOS)
            return
        if self.path.startswith("/todos/") and self.path[7:].isdigit():
            todo = find_todo(TODOS, int(self.path[7:]))
            if todo is not None:
                self.send_json(200, todo)
                return
        self.send_json(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/todos":
            self.send_json(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            title = json.loads(self.rfile.read(length) or b"{}")["title"]
        except (ValueError, KeyError):
            self.send_json(400, {"error": "a to-do needs a title"})
            return
        self.send_json(201, add_todo(TODOS, title))


def main():
    port = int(os.environ.get("PORT", "8000"))
    server = HTTPServer(("127.0.0.1", port), TodoHandler)
    print(f"Serving the to-do API on http://127.0.0.1:{port} (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("Stopped.")
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
