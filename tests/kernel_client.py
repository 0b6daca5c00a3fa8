"""Driving a real Jupyter kernel as an agent does: execute a cell, collect what it wrote."""

from __future__ import annotations

import time


def execute(client, code: str, timeout: float = 120) -> tuple[dict, str]:
    """The execute_reply content, and everything the cell wrote (streams, results, errors) as text."""
    reply, parts = execute_parts(client, code, timeout)
    return reply, "".join(text for _, text in parts)


def execute_streams(client, code: str, timeout: float = 120) -> tuple[dict, dict[str, str]]:
    """The execute_reply content, and the cell's output by kind: "stdout", "stderr", "other"."""
    reply, parts = execute_parts(client, code, timeout)
    streams = {"stdout": "", "stderr": "", "other": ""}
    for kind, text in parts:
        streams[kind] += text
    return reply, streams


def execute_parts(client, code: str, timeout: float = 120) -> tuple[dict, list[tuple[str, str]]]:
    """The execute_reply content, and what the cell wrote in order, as (kind, text) pairs."""
    msg_id = client.execute(code)
    text: list[tuple[str, str]] = []
    deadline = time.monotonic() + timeout
    while True:
        msg = client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        content = msg["content"]
        if msg["msg_type"] == "stream":
            text.append((content["name"], content["text"]))
        elif msg["msg_type"] in ("execute_result", "display_data"):
            text.append(("other", content["data"].get("text/plain", "")))
        elif msg["msg_type"] == "error":
            text.append(("other", "\n".join(content["traceback"])))
        elif msg["msg_type"] == "status" and content["execution_state"] == "idle":
            break
    while True:
        reply = client.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"], text
