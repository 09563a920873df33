"""A fake OpenAI Batch API on 127.0.0.1, standard library only, for ``drafter batch --openai-batch``.

    POST /v1/files                  multipart upload (purpose=batch)       -> a file object
    POST /v1/batches                {input_file_id, endpoint, completion_window} -> a batch, "validating"
    GET  /v1/batches/{id}           validating -> in_progress -> ``final_status`` over ``statuses``
    GET  /v1/files/{id}/content     the bytes of an uploaded file or of a batch's output/error file
    POST /v1/chat/completions       live calls (the guard's revisions), answered by ``live``

When a batch completes, every request line of its input file is answered by ``answers[custom_id]``:
a text (a 200 chat completion), ``failure(status, message)`` (a line in the error file) or ``MISSING``
(no line at all). Ids without an entry get ``good_reply`` in the language the prompt asks for.

    with BatchApiServer() as server:
        server.answers["t-3"] = "You IDIOT!!"
        ...  # point OPENAI_BASE_URL at server.base_url
        assert server.count("create_batch") == 1
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REPLY_FR = ("Bonjour,\n\nJe comprends votre exaspération et je vous remercie de nous avoir écrit. "
            "Votre demande est bien enregistrée.\n\nJ'ouvre aujourd'hui une vérification auprès du service "
            "concerné et je reviens vers vous dès que j'ai sa réponse.\n\nCordialement,\n"
            "L'équipe du service client")
REPLY_EN = ("Hello,\n\nI understand how frustrating this is, and thank you for writing to us. Your request "
            "is registered.\n\nI am opening a check with the team concerned today and I will write back to "
            "you as soon as I have their answer.\n\nBest regards,\nThe customer service team")
MISSING = object()


@dataclass(frozen=True)
class Failure:
    status: int
    message: str


def failure(status: int, message: str = "scripted failure") -> Failure:
    return Failure(status, message)


def good_reply(body: dict[str, Any]) -> str:
    """A reply that passes the hard rules, in the language the drafting prompt asks for."""
    messages = body.get("messages") or []
    prompt = messages[1].get("content", "") if len(messages) > 1 else ""
    return REPLY_FR if "Reply language: French" in prompt else REPLY_EN


def completion(text: str, model: str, n: int) -> dict[str, Any]:
    return {"id": f"chatcmpl-fake{n}", "object": "chat.completion", "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 40, "completion_tokens": len(text.split()),
                      "total_tokens": 40 + len(text.split())}}


class BatchApiServer:
    def __init__(self) -> None:
        self.answers: dict[str, Any] = {}
        self.live: Callable[[dict[str, Any]], str] = good_reply   # answers POST /v1/chat/completions
        self.statuses = ("validating", "in_progress", "in_progress")  # then final_status
        self.final_status = "completed"
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []                  # (operation, detail)
        self.chat_bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle
    def start(self) -> BatchApiServer:
        handler = type("Handler", (_Handler,), {"owner": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> BatchApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def count(self, operation: str) -> int:
        with self._lock:
            return sum(1 for op, _ in self.calls if op == operation)

    def uploaded_requests(self) -> list[dict[str, Any]]:
        """The request lines of every uploaded batch input file."""
        with self._lock:
            files = [f for f in self.files.values() if f["purpose"] == "batch"]
        return [json.loads(line) for f in files for line in f["data"].decode("utf-8").splitlines() if line]

    # -- state changes (under the lock)
    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):04d}"

    def _add_file(self, data: bytes, filename: str, purpose: str) -> dict[str, Any]:
        file = {"id": self._new_id("file"), "object": "file", "bytes": len(data),
                "created_at": int(time.time()), "filename": filename, "purpose": purpose,
                "status": "processed", "data": data}
        self.files[file["id"]] = file
        return file

    def _complete(self, batch: dict[str, Any]) -> None:
        lines = [json.loads(x) for x in self.files[batch["input_file_id"]]["data"].decode().splitlines() if x]
        out, err = [], []
        for n, request in enumerate(lines):
            answer = self.answers.get(request["custom_id"])
            if answer is MISSING:
                continue
            if isinstance(answer, Failure):
                err.append({"id": f"batch_req_{n}", "custom_id": request["custom_id"],
                            "response": {"status_code": answer.status, "request_id": f"req_{n}",
                                         "body": {"error": {"message": answer.message,
                                                            "type": "server_error"}}},
                            "error": None})
                continue
            text = answer if isinstance(answer, str) else good_reply(request["body"])
            out.append({"id": f"batch_req_{n}", "custom_id": request["custom_id"],
                        "response": {"status_code": 200, "request_id": f"req_{n}",
                                     "body": completion(text, request["body"].get("model", "m"), n)},
                        "error": None})
        for key, rows in (("output_file_id", out), ("error_file_id", err)):
            if rows:
                data = "".join(json.dumps(r) + "\n" for r in rows).encode()
                batch[key] = self._add_file(data, f"{batch['id']}-{key}.jsonl", "batch_output")["id"]
        batch["request_counts"] = {"total": len(lines), "completed": len(out), "failed": len(err)}
        batch["completed_at"] = int(time.time())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    owner: BatchApiServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: Any, *, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if raw is None else "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _not_found(self) -> None:
        self._send(404, {"error": {"message": f"no such path {self.path}", "type": "invalid_request_error"}})

    def do_POST(self) -> None:  # noqa: N802
        owner, body = self.owner, self._body()
        path = self.path.split("?")[0].rstrip("/")
        with owner._lock:
            if path == "/v1/files":
                fields = _multipart(self.headers.get("Content-Type", ""), body)
                name, data = fields.get("file", ("upload.jsonl", b""))
                file = owner._add_file(data, name, fields.get("purpose", ("", b""))[1].decode())
                owner.calls.append(("upload", file["id"]))
                self._send(200, {k: v for k, v in file.items() if k != "data"})
            elif path == "/v1/batches":
                request = json.loads(body)
                if request.get("input_file_id") not in owner.files:
                    self._send(400, {"error": {"message": "unknown input_file_id",
                                               "type": "invalid_request_error"}})
                    return
                batch = {"id": owner._new_id("batch"), "object": "batch", "endpoint": request["endpoint"],
                         "completion_window": request["completion_window"],
                         "metadata": request.get("metadata"),
                         "input_file_id": request["input_file_id"], "created_at": int(time.time()),
                         "status": "validating", "polls": 0, "output_file_id": None, "error_file_id": None,
                         "request_counts": {"total": 0, "completed": 0, "failed": 0}}
                owner.batches[batch["id"]] = batch
                owner.calls.append(("create_batch", batch["id"]))
                self._send(200, _public(batch))
            elif path == "/v1/chat/completions":
                request = json.loads(body)
                owner.chat_bodies.append(request)
                owner.calls.append(("chat", ""))
                text = owner.live(request)
                self._send(200, completion(text, request.get("model", "m"), len(owner.chat_bodies)))
            else:
                self._not_found()

    def do_GET(self) -> None:  # noqa: N802
        owner = self.owner
        path = self.path.split("?")[0].rstrip("/")
        with owner._lock:
            if m := re.fullmatch(r"/v1/batches/([\w-]+)", path):
                batch = owner.batches.get(m.group(1))
                if batch is None:
                    self._send(404, {"error": {"message": "No batch found", "type": "invalid_request_error"}})
                    return
                owner.calls.append(("retrieve", batch["id"]))
                if batch["status"] not in ("completed", "failed", "expired", "cancelled"):
                    batch["polls"] += 1
                    if batch["polls"] < len(owner.statuses):
                        batch["status"] = owner.statuses[batch["polls"]]
                    else:
                        batch["status"] = owner.final_status
                        if owner.final_status == "failed":
                            batch["errors"] = {"object": "list",
                                               "data": [{"code": "invalid", "message": "scripted"}]}
                        else:
                            owner._complete(batch)
                self._send(200, _public(batch))
            elif m := re.fullmatch(r"/v1/files/([\w-]+)/content", path):
                file = owner.files.get(m.group(1))
                if file is None:
                    self._not_found()
                    return
                owner.calls.append(("download", file["id"]))
                self._send(200, None, raw=file["data"])
            else:
                self._not_found()


def _public(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in batch.items() if k != "polls"}


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str, bytes]]:
    """name -> (filename, bytes) of each part of a multipart/form-data body."""
    parser = email.parser.BytesParser(policy=email.policy.HTTP)
    message = parser.parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields[name] = (part.get_filename() or "", part.get_payload(decode=True) or b"")
    return fields
