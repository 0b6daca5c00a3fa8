"""Driving a real Jupyter kernel as an agent does: execute a cell, collect what it wrote."""

from __future__ import annotations

import time


def execute(client, code: str, timeout: float = 120) -> tuple[dict, str]:
    """The execute_reply content, and everything the cell wrote (streams, results, errors) as text."""
    msg_id = client.execute(code)
    text = []
    deadline = time.monotonic() + timeout
    while True:
        msg = client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        content = msg["content"]
        if msg["msg_type"] == "stream":
            text.append(content["text"])
        elif msg["msg_type"] in ("execute_result", "display_data"):
            text.append(content["data"].get("text/plain", ""))
        elif msg["msg_type"] == "error":
            text.append("\n".join(content["traceback"]))
        elif msg["msg_type"] == "status" and content["execution_state"] == "idle":
            break
    while True:
        reply = client.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"], "".join(text)
