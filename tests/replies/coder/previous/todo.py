"""todo: a tiny to-do list kept in a JSON file."""

import argparse
import json
import os
import sys

DEFAULT_FILE = "todo.json"


def load_tasks(path):
    """Read the task list from path; a missing file is an empty list."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def save_tasks(path, tasks):
    """Write the task list to path as pretty JSON."""
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(tasks, handle, indent=2)
        handle.write("\n")


def next_id(tasks):
    return max((task["id"] for task in tasks), default=0) + 1


def add_task(tasks, text):
    """Append a new open task and return it."""
    text = text.strip()
    if not text:
        raise ValueError("task text is empty")
    task = {"id": next_id(tasks), "text": text, "done": False}
    tasks.append(task)
    return task


def find_task(tasks, task_id):
    for task in tasks:
        if task["id"] == task_id:
            return task
    raise KeyError(task_id)


def list_tasks(tasks):
    """One line per task: '[ ] 1 Buy milk' or '[x] 2 Call mum'."""
    return [f"[{'x' if task['done'] else ' '}] {task['id']} {task['text']}" for task in tasks]


def complete_task(tasks, task_id):
    task = find_task(tasks, task_id)
    task["done"] = True
    return task


def remove_task(tasks, task_id):
    task = find_task(tasks, task_id)
    tasks.remove(task)
    return task


def build_parser():
    parser = argparse.ArgumentParser(prog="todo", description="A tiny to-do list.")
    parser.add_argument("--file", default=DEFAULT_FILE, help="where the tasks are kept")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="add a task")
    add.add_argument("text", nargs="+")
    sub.add_parser("list", help="show all tasks")
    done = sub.add_parser("done", help="mark a task as done")
    done.add_argument("id", type=int)
    remove = sub.add_parser("remove", help="delete a task")
    remove.add_argument("id", type=int)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    tasks = load_tasks(args.file)
    if args.command == "add":
        task = add_task(tasks, " ".join(args.text))
        save_tasks(args.file, tasks)
        print(f"Added task {task['id']}: {task['text']}")
    elif args.command == "list":
        for line in list_tasks(tasks):
            print(line)
        if not tasks:
            print("No tasks yet.")
    elif args.command == "done":
        complete_task(tasks, args.id)
        save_tasks(args.file, tasks)
        print(f"Completed task {args.id}")
    elif args.command == "remove":
        remove_task(tasks, args.id)
        save_tasks(args.file, tasks)
        print(f"Removed task {args.id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
