"""Typed records of what the tool decided from, each with its file writer and reader side by side.

A Markdown artifact (``run_vN.md``, ``review_vN.md``) is written for people and carries its record
as one JSON line in a trailing HTML comment (invisible when the Markdown is rendered), so decisions
never depend on how the prose is worded. Files written before records existed are read by each
module's legacy reader.
"""
