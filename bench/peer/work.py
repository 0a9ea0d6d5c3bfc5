"""The work both tools do: write a 150-line inventory CLI, then 10 revisions of one function each.

Everything a scripted model says is built from here, for iterative_coder (Planner, Tester, Coder,
Reviewer) and for Aider (its main prompt), so the two get the same program and the same fixes.
``versions()`` returns the 11 texts: version 1 and the result of each revision; each revision's
SEARCH text must occur exactly once in the version it edits.
"""

from __future__ import annotations

import json

TASK = (
    "An inventory command-line tool in Python that keeps stock in a CSV file (sku, name, qty, "
    "price, category): list, value, low stock, category report, JSON export, find, sell and "
    "restock, with small functions and clear error messages."
)

V1 = r'''"""Inventory: a small command-line stock keeper for a CSV file of items."""
import argparse
import csv
import json
import sys

FIELDS = ["sku", "name", "qty", "price", "category"]
LOW_STOCK = 5


def parse_qty(text):
    return int(text)


def parse_price(text):
    return float(text)


def normalize_sku(sku):
    return sku.upper()


def make_item(sku, name, qty, price, category="misc"):
    return {"sku": normalize_sku(sku), "name": name, "qty": parse_qty(qty),
            "price": parse_price(price), "category": category}


def load_items(path):
    items = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            item = make_item(row["sku"], row["name"], row["qty"], row["price"], row["category"])
            items[item["sku"]] = item
    return items


def save_items(path, items):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        for item in items.values():
            writer.writerow(item)


def add_item(items, item):
    items[item["sku"]] = item
    return item


def remove_item(items, sku):
    return items.pop(normalize_sku(sku))


def restock(items, sku, amount):
    item = items[normalize_sku(sku)]
    item["qty"] += amount
    return item["qty"]


def sell(items, sku, amount):
    item = items[normalize_sku(sku)]
    item["qty"] -= amount
    return item["qty"]


def item_value(item):
    return item["qty"] * item["price"]


def total_value(items):
    return sum(item_value(item) for item in items.values())


def low_stock(items, limit=LOW_STOCK):
    return [item for item in items.values() if item["qty"] < limit]


def by_category(items):
    groups = {}
    for item in items.values():
        groups.setdefault(item["category"], []).append(item)
    return groups


def search(items, text):
    return [item for item in items.values() if text in item["name"]]


def format_price(value):
    return "$" + str(value)


def format_row(item):
    return f"{item['sku']:<8} {item['name']:<20} {item['qty']:>5} {format_price(item['price']):>10}"


def format_table(items):
    lines = [f"{'SKU':<8} {'NAME':<20} {'QTY':>5} {'PRICE':>10}"]
    for item in items:
        lines.append(format_row(item))
    return "\n".join(lines)


def category_report(items):
    lines = []
    for category, group in by_category(items).items():
        lines.append(f"{category}: {len(group)} items")
    return "\n".join(lines)


def export_json(items):
    return json.dumps(list(items.values()))


def build_parser():
    parser = argparse.ArgumentParser(prog="inventory", description="Keep stock in a CSV file.")
    parser.add_argument("file", help="the inventory CSV file")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("list", "value", "low", "report", "export"):
        sub.add_parser(name)
    find = sub.add_parser("find")
    find.add_argument("text")
    for name in ("sell", "restock"):
        cmd = sub.add_parser(name)
        cmd.add_argument("sku")
        cmd.add_argument("amount", type=int)
    return parser


def run_command(args, items):
    if args.command == "list":
        return format_table(items.values())
    if args.command == "value":
        return format_price(total_value(items))
    if args.command == "low":
        return format_table(low_stock(items))
    if args.command == "report":
        return category_report(items)
    if args.command == "export":
        return export_json(items)
    if args.command == "find":
        return format_table(search(items, args.text))
    if args.command == "sell":
        return f"{args.sku}: {sell(items, args.sku, args.amount)} left"
    return f"{args.sku}: {restock(items, args.sku, args.amount)} in stock"


def main(argv=None):
    args = build_parser().parse_args(argv)
    items = load_items(args.file)
    print(run_command(args, items))
    if args.command in ("sell", "restock"):
        save_items(args.file, items)
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

# (function, category, what to change in words, SEARCH lines, REPLACE lines)
REVISIONS = [
    ("parse_qty", "robustness",
     "parse_qty passes anything int() accepts: a negative quantity or text such as '3.5' or 'ten' "
     "ends in a bare traceback. Strip the text, raise ValueError('quantity must be a whole number, "
     "got ...') when it is not an integer, and ValueError('quantity cannot be negative: ...') when "
     "it is below zero.",
     '''def parse_qty(text):
    return int(text)
''',
     '''def parse_qty(text):
    try:
        qty = int(str(text).strip())
    except ValueError:
        raise ValueError(f"quantity must be a whole number, got {text!r}") from None
    if qty < 0:
        raise ValueError(f"quantity cannot be negative: {qty}")
    return qty
'''),
    ("parse_price", "robustness",
     "parse_price fails on prices written as people write them, like '$1,299.50', and keeps float "
     "noise. Strip spaces and a leading '$', drop thousands commas, raise ValueError('price must "
     "be a number, got ...') for anything else, and round the result to 2 decimals.",
     '''def parse_price(text):
    return float(text)
''',
     '''def parse_price(text):
    cleaned = str(text).strip().lstrip("$").replace(",", "")
    try:
        price = float(cleaned)
    except ValueError:
        raise ValueError(f"price must be a number, got {text!r}") from None
    return round(price, 2)
'''),
    ("normalize_sku", "robustness",
     "normalize_sku keeps surrounding spaces, so ' ab12 ' and 'AB12' are two different items, and "
     "an empty SKU is accepted. Strip the SKU before upper-casing it and raise ValueError('SKU "
     "cannot be empty') when nothing is left.",
     '''def normalize_sku(sku):
    return sku.upper()
''',
     '''def normalize_sku(sku):
    sku = sku.strip().upper()
    if not sku:
        raise ValueError("SKU cannot be empty")
    return sku
'''),
    ("sell", "failing",
     "sell lets the quantity go below zero (selling 10 of an item with 3 in stock leaves -7) and "
     "accepts a zero or negative amount. Raise ValueError('amount to sell must be positive') for "
     "amount <= 0 and ValueError('only N of SKU in stock') when the amount is more than the stock, "
     "before changing anything.",
     '''def sell(items, sku, amount):
    item = items[normalize_sku(sku)]
    item["qty"] -= amount
''',
     '''def sell(items, sku, amount):
    item = items[normalize_sku(sku)]
    if amount <= 0:
        raise ValueError("amount to sell must be positive")
    if amount > item["qty"]:
        raise ValueError(f"only {item['qty']} of {item['sku']} in stock")
    item["qty"] -= amount
'''),
    ("format_price", "missing",
     "format_price prints '$12.5' and '$1299.5' instead of dollars and cents (requirement 4). "
     "Format with two decimals and a thousands separator ('$1,299.50'), and put the minus sign "
     "before the dollar sign for a negative value ('-$3.00').",
     '''def format_price(value):
    return "$" + str(value)
''',
     '''def format_price(value):
    if value < 0:
        return f"-${-value:,.2f}"
    return f"${value:,.2f}"
'''),
    ("search", "missing",
     "search is case-sensitive and looks only at the name, so 'find widget' misses 'Blue Widget' "
     "and 'find ab12' misses SKU AB12 (requirement 6). Compare the stripped, lower-cased text "
     "against the lower-cased name and SKU.",
     '''def search(items, text):
    return [item for item in items.values() if text in item["name"]]
''',
     '''def search(items, text):
    needle = text.strip().lower()
    return [item for item in items.values()
            if needle in item["name"].lower() or needle in item["sku"].lower()]
'''),
    ("low_stock", "missing",
     "low_stock leaves out items exactly at the limit (qty < limit) and lists them in file order. "
     "Requirement 5 says at or below the limit, fewest first: use qty <= limit and sort by "
     "quantity, then SKU.",
     '''def low_stock(items, limit=LOW_STOCK):
    return [item for item in items.values() if item["qty"] < limit]
''',
     '''def low_stock(items, limit=LOW_STOCK):
    found = [item for item in items.values() if item["qty"] <= limit]
    return sorted(found, key=lambda item: (item["qty"], item["sku"]))
'''),
    ("load_items", "robustness",
     "load_items stops with a bare KeyError or ValueError on a bad row and gives no line number, "
     "and it fails on blank rows and on an empty category. Skip rows whose cells are all empty, "
     "use 'misc' for an empty category, and re-raise a bad row as ValueError('PATH, line N: "
     "...') with the CSV line number.",
     '''        for row in csv.DictReader(fh):
            item = make_item(row["sku"], row["name"], row["qty"], row["price"], row["category"])
            items[item["sku"]] = item
''',
     '''        for line, row in enumerate(csv.DictReader(fh), start=2):
            if not any((value or "").strip() for value in row.values()):
                continue
            try:
                item = make_item(row["sku"], row["name"], row["qty"], row["price"],
                                 row["category"] or "misc")
            except (KeyError, ValueError) as err:
                raise ValueError(f"{path}, line {line}: {err}") from None
            items[item["sku"]] = item
'''),
    ("category_report", "missing",
     "category_report gives only the item count per category, in file order. Requirement 7 asks "
     "for units and value too, sorted by category: print 'category: N items, U units, $V' with "
     "the units summed and the value from item_value, formatted by format_price.",
     '''    for category, group in by_category(items).items():
        lines.append(f"{category}: {len(group)} items")
''',
     '''    for category, group in sorted(by_category(items).items()):
        qty = sum(item["qty"] for item in group)
        value = sum(item_value(item) for item in group)
        lines.append(f"{category}: {len(group)} items, {qty} units, {format_price(value)}")
'''),
    ("main", "failing",
     "main lets every error escape as a traceback: a missing file, an unknown SKU in sell or "
     "restock, or the new ValueErrors. Requirement 9 asks for one error line and exit code 1: "
     "catch OSError, KeyError and ValueError around loading and running the command, print "
     "'inventory: error: ...' to stderr and return 1.",
     '''    args = build_parser().parse_args(argv)
    items = load_items(args.file)
    print(run_command(args, items))
''',
     '''    args = build_parser().parse_args(argv)
    try:
        items = load_items(args.file)
        print(run_command(args, items))
    except (OSError, KeyError, ValueError) as err:
        print(f"inventory: error: {err}", file=sys.stderr)
        return 1
'''),
]

# One sentence on each change, the same for both tools (Aider's prompt wants it before the blocks,
# iterative_coder's after them).
SAYS = [
    "parse_qty now rejects non-integer and negative quantities with a clear ValueError.",
    "parse_price now accepts '$' and thousands commas, rejects non-numbers and rounds to cents.",
    "normalize_sku now strips spaces and rejects an empty SKU.",
    "sell now refuses a non-positive amount and more than is in stock.",
    "format_price now prints dollars and cents with a thousands separator.",
    "search now matches the name or the SKU, ignoring case.",
    "low_stock now includes items at the limit and sorts them, fewest first.",
    "load_items now skips blank rows, defaults the category and names the bad line.",
    "category_report now gives units and value per category, sorted by category.",
    "main now reports errors as one line on stderr and returns 1.",
]

PLAN = """# Inventory CLI

## Request
A command-line tool that keeps a shop's stock in a CSV file with the columns sku, name, qty, price
and category. It lists the stock, totals its value, shows low stock, reports per category, exports
JSON, finds items, and sells or restocks an item, saving the file afterwards.

## Main challenges
- Input as people type it: prices with `$` and commas, SKUs with stray spaces or lower case.
- Refusing impossible changes (selling more than is in stock) instead of writing bad data.
- Bad rows and bad arguments must give one clear error line, never a traceback.
- Keeping each function small so that tests can call them directly.

## Requirements
1. `load_items(path)` reads the CSV file into a dict keyed by SKU, and `save_items(path, items)` writes it back with the same columns.
2. `make_item(sku, name, qty, price, category)` returns an item with an upper-case SKU, an integer quantity and a price in dollars; a bad SKU, quantity or price raises ValueError with a clear message.
3. `sell(items, sku, amount)` and `restock(items, sku, amount)` change the quantity and return the new one; a sale of more than is in stock is refused.
4. `item_value(item)` and `total_value(items)` give the stock value, and `format_price(value)` writes it as dollars and cents, e.g. `$1,299.50`.
5. `low_stock(items, limit)` lists the items at or below the limit (5 by default), fewest first.
6. `search(items, text)` finds items whose name or SKU contains the text, ignoring case.
7. `category_report(items)` gives one line per category, sorted: its number of items, units and value.
8. `export_json(items)` returns the inventory as a JSON list of items.
9. `main(argv)` offers the subcommands list, value, low, report, export, find, sell and restock on a CSV file, saves the file after sell and restock, and reports any error as one line on stderr with exit code 1.

Do you approve this plan? Reply "approve", or tell me what to change.
"""

TESTS = r'''# Not checked automatically: the readability of the table layout (the Reviewer judges it).
import json

import script

CSV = "sku,name,qty,price,category\nAB12,Blue Widget,3,2.50,tools\nCD34,Red Gadget,12,10,toys\n"


def write_csv(tmp_path):
    path = tmp_path / "stock.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def test_req1_load_and_save_round_trip(tmp_path):
    path = write_csv(tmp_path)
    items = script.load_items(path)
    assert sorted(items) == ["AB12", "CD34"]
    script.save_items(path, items)
    assert script.load_items(path) == items


def test_req2_make_item_types():
    item = script.make_item("ab12", "Blue Widget", "3", "2.50", "tools")
    assert item["sku"] == "AB12"
    assert item["qty"] == 3 and isinstance(item["qty"], int)
    assert item["price"] == 2.5


def test_req3_sell_and_restock(tmp_path):
    items = script.load_items(write_csv(tmp_path))
    assert script.sell(items, "ab12", 2) == 1
    assert script.restock(items, "AB12", 4) == 5


def test_req4_values(tmp_path):
    items = script.load_items(write_csv(tmp_path))
    assert script.item_value(items["CD34"]) == 120
    assert script.total_value(items) == 127.5


def test_req5_low_stock_lists_low_items(tmp_path):
    items = script.load_items(write_csv(tmp_path))
    assert [item["sku"] for item in script.low_stock(items)] == ["AB12"]


def test_req6_search_by_name(tmp_path):
    items = script.load_items(write_csv(tmp_path))
    assert [item["sku"] for item in script.search(items, "Widget")] == ["AB12"]


def test_req8_export_json(tmp_path):
    items = script.load_items(write_csv(tmp_path))
    assert {item["sku"] for item in json.loads(script.export_json(items))} == {"AB12", "CD34"}


def test_req9_main_sell_saves(tmp_path, capsys):
    path = write_csv(tmp_path)
    assert script.main([str(path), "sell", "CD34", "2"]) == 0
    assert "CD34: 10 left" in capsys.readouterr().out
    assert script.load_items(path)["CD34"]["qty"] == 10
'''

DEMO = {"runs": [
    {"name": "list the stock", "args": ["stock.csv", "list"],
     "files": {"stock.csv": "sku,name,qty,price,category\nAB12,Blue Widget,3,2.50,tools\n"
               "CD34,Red Gadget,12,10,toys\n"}, "stdin": "", "window_seconds": None},
    {"name": "category report", "args": ["stock.csv", "report"],
     "files": {"stock.csv": "sku,name,qty,price,category\nAB12,Blue Widget,3,2.50,tools\n"
               "CD34,Red Gadget,12,10,toys\n"}, "stdin": "", "window_seconds": None},
]}

# Requirements fixed by each revision (for the Reviewer's coverage rows): revision k turns these to met.
REQ_OF_REVISION = [2, 2, 2, 3, 4, 6, 5, 1, 7, 9]
REQS = list(range(1, 10))


def versions() -> list[str]:
    """Version 1 and the text after each revision (11 texts)."""
    out = [V1]
    for _, _, _, search, replace in REVISIONS:
        prev = out[-1]
        assert prev.count(search) == 1, search
        out.append(prev.replace(search, replace, 1))
    return out


def block(search: str, replace: str) -> str:
    """The SEARCH/REPLACE markers with their lines (no fence)."""
    return f"<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


# ----------------------------------------------------------------- iterative_coder's replies
def ic_planner() -> str:
    return PLAN


def ic_tester() -> str:
    return (f"```python\n{TESTS}```\n\nOne test or more per checkable requirement; requirement 7's "
            f"layout is left to the Reviewer.\n\n```json\n{json.dumps(DEMO)}\n```\n")


def ic_coder(k: int) -> str:
    """The Coder's reply for version k (1 = the whole file; k >= 2 = revision k-1 as a block,
    in the form coder_edits.md shows: a ```python fence, no file name line)."""
    if k == 1:
        return (f"```python\n{V1}```\n\nThe whole CLI in small functions, one per job; "
                "main() dispatches the subcommands.\n")
    _, _, _, search, replace = REVISIONS[k - 2]
    return f"```python\n{block(search, replace)}```\n\n{SAYS[k - 2]}\n"


def _coverage(done: int) -> list[dict]:
    """Coverage rows after ``done`` revisions: a requirement is partly met while a revision that
    fixes it is still to come."""
    pending: dict[int, str] = {}
    for req, (fn, *_) in zip(REQ_OF_REVISION[done:], REVISIONS[done:]):
        pending.setdefault(req, fn)
    rows = []
    for req in REQS:
        if req in pending:
            rows.append({"requirement": req, "status": "partly",
                         "evidence": f"{pending[req]}() does not do all of it yet"})
        else:
            rows.append({"requirement": req, "status": "met",
                         "evidence": f"test_req{req} passes" if req != 7
                         else "category_report() prints items, units and value, sorted"})
    return rows


def ic_reviewer(k: int) -> str:
    """The Reviewer's JSON for version k: REVISE naming revision k (k = 1..10), APPROVE at 11."""
    done = k - 1                       # revisions already in version k
    review = {"verdict": "APPROVE" if k == 11 else "REVISE", "coverage": _coverage(done)}
    review["previous_points"] = ([] if k == 1 else
                                 [{"point": 1, "status": "fixed",
                                   "evidence": f"{REVISIONS[k - 2][0]}() now does it"}])
    if k <= 10:
        fn, cat, words, _, _ = REVISIONS[k - 1]
        review["points"] = [{"category": cat, "where": fn, "issue": words}]
    else:
        review["points"] = []
    return json.dumps(review, indent=2) + "\n"


def ic_reviewer_compact(k: int) -> str:
    """The Reviewer's reply for version k in the compact form of ``prompts/reviewer.md``: only the
    coverage rows whose status differs from the previous review's (on version 1, from what the passing
    tests show: every requirement but those fully met with a test), no open point, the new point."""
    done = k - 1
    rows = _coverage(done)
    if k == 1:
        tested = {int(name[len("test_req"):].split("_")[0]) for name in TESTS.split("def ")[1:]
                  if name.startswith("test_req")}
        changed = [row for row in rows if not (row["status"] == "met" and row["requirement"] in tested)]
    else:
        before = {row["requirement"]: row["status"] for row in _coverage(done - 1)}
        changed = [row for row in rows if row["status"] != before[row["requirement"]]]
    review: dict = {"verdict": "APPROVE" if k == 11 else "REVISE"}
    if changed:  # the prompt asks to leave out a key whose list would be empty
        review["coverage"] = changed
    if k <= 10:
        fn, cat, words, _, _ = REVISIONS[k - 1]
        review["points"] = [{"category": cat, "where": fn, "issue": words}]
    return json.dumps(review, indent=2) + "\n"


# ------------------------------------------------------------------------- Aider's replies
def aider_main(k: int, fname: str = "script.py", fmt: str = "diff") -> str:
    """Aider's main reply for turn k (0 = create the file, 1..10 = the revisions).

    diff: an explanation, then the file name line and a fenced SEARCH/REPLACE block, as Aider's
    editblock prompt asks (a new file: an empty SEARCH). whole: the file name line and the whole file."""
    vs = versions()
    if fmt == "whole":
        say = ("Here is the whole CLI in small functions." if k == 0 else SAYS[k - 1])
        return f"{say}\n\n{fname}\n```python\n{vs[k]}```\n"
    if k == 0:
        return (f"I will create {fname} with the whole CLI in small functions, one per job.\n\n"
                f"{fname}\n```python\n{block('', V1)}```\n")
    _, _, _, search, replace = REVISIONS[k - 1]
    return f"{SAYS[k - 1]}\n\n{fname}\n```python\n{block(search, replace)}```\n"


def aider_request(k: int) -> str:
    """What the person types to Aider at turn k (one line)."""
    if k == 0:
        return f"Create script.py: {TASK}"
    fn, _, words, _, _ = REVISIONS[k - 1]
    return f"Please fix {fn} in script.py: {words}"


if __name__ == "__main__":
    vs = versions()
    for i, v in enumerate(vs, 1):
        print(f"version {i}: {len(v.splitlines())} lines, {len(v)} chars")
    print(ic_reviewer(1)[:600])
