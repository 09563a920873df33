"""``drafter serve`` drafts per second with the offline backend, measured (not asserted).

    .venv/bin/python benchmarks/bench_serve.py                      # --workers 1, then 2; 10 s each
    .venv/bin/python benchmarks/bench_serve.py --workers 2 --duration 20 --concurrency 32 --access-log

For each worker count: start ``drafter serve --offline`` (uvicorn) on a free 127.0.0.1 port, warm up,
then keep ``--concurrency`` keep-alive connections busy with ``POST /v1/draft`` for ``--duration``
seconds (and at most ``--max-requests``), and print drafts/second, p50/p95/p99 latency, the worker
count and the cores. Every answer is checked (200, JSON with a reply). The client is a minimal asyncio
HTTP/1.1 client rather than httpx: it shares the machine's cores with the server, so it must cost as
little as possible; its own CPU share is printed. ``--access-log`` keeps uvicorn's per-request log line
(on by default in ``drafter serve``; the figures are without it unless asked).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = [
    "Bande d'incompétents, ça fait 3 semaines que j'attends ma commande {n}",
    "You useless clowns, I have been waiting 3 weeks for order {n}",
    "Bonjour, ma commande {n} est arrivée cassée, pouvez-vous m'aider ?",
    "This is the THIRD time I write about invoice {n}: you charged me 49.99 twice. Thieves.",
    "Votre service client est une honte, personne ne répond depuis 10 jours (dossier {n}).",
    "Hi, the app keeps crashing since the last update, my account number is {n}.",
    "Vous êtes vraiment des escrocs, remboursez-moi les 120 € de la commande {n} ou je porte plainte",
    "Worst company ever, my parcel {n} was left in the rain and everything is ruined",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bodies(count: int = 64) -> list[bytes]:
    out = []
    for i in range(count):
        text = MESSAGES[i % len(MESSAGES)].format(n=48_000 + 37 * i)
        payload = json.dumps({"message": text, "context": {"agent": "Sam"}}).encode()
        out.append(b"POST /v1/draft HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                   b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload)
    return out


class Window:
    """One measured window on connections that stay open: warm-up first, then ``duration`` seconds."""

    def __init__(self, warmup: float, duration: float, max_requests: int) -> None:
        self.opened = time.monotonic()
        self.begins = self.opened + warmup
        self.ends = self.begins + duration
        self.budget = max_requests
        self.latencies: list[float] = []
        self.errors: list[str] = []


async def one_connection(port: int, requests: list[bytes], k: int, concurrency: int, w: Window) -> None:
    # connections open one by one during the warm-up, while the workers are busy, as they would arrive
    # in production: opened all at once on idle workers, most of them would land on one worker
    await asyncio.sleep(k * (w.begins - w.opened) / 2 / concurrency)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = k * 7
    try:
        while time.monotonic() < w.ends and w.budget > 0:
            w.budget -= 1
            sent = time.monotonic()
            writer.write(requests[i % len(requests)])
            i += 1
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            length = next(int(line.split(b":", 1)[1]) for line in lines
                          if line.lower().startswith(b"content-length:"))
            body = await reader.readexactly(length)
            done = time.monotonic()
            if not lines[0].startswith(b"HTTP/1.1 200") or not json.loads(body).get("reply"):
                w.errors.append(lines[0].decode() + " " + body[:200].decode(errors="replace"))
            elif w.begins <= sent and done <= w.ends:
                w.latencies.append(done - sent)
    except (OSError, asyncio.IncompleteReadError) as exc:
        w.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        writer.close()


async def load(port: int, concurrency: int, w: Window, on_begin, on_end) -> None:  # noqa: ANN001
    loop = asyncio.get_running_loop()
    loop.call_at(loop.time() + (w.begins - time.monotonic()), on_begin)
    loop.call_at(loop.time() + (w.ends - time.monotonic()), on_end)
    requests = bodies()
    await asyncio.gather(*(one_connection(port, requests, k, concurrency, w) for k in range(concurrency)))


def machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy so far, all cores (Linux /proc/stat)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)      # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_by_process(root: int) -> dict[int, float] | None:
    """CPU seconds (user + system) used so far by ``root`` and each of its descendants (Linux /proc).
    On a shared machine the rate depends on the neighbours; CPU per draft much less so."""
    stats: dict[int, tuple[int, int]] = {}
    try:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))  # ppid, ticks
    except OSError:
        return None
    tree, changed = {root}, True
    while changed:
        changed = False
        for pid, (ppid, _) in stats.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                changed = True
    tick = os.sysconf("SC_CLK_TCK")
    return {pid: stats[pid][1] / tick for pid in tree if pid in stats}


def wait_ready(port: int, proc: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"drafter serve exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("drafter serve did not start")


def run(workers: int, args: argparse.Namespace) -> dict[str, float]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "DRAFTER_"))}
    command = [sys.executable, "-m", "drafter", "serve", "--offline", "--port", str(port), "--workers",
               str(workers), "--log-level", "info" if args.access_log else "warning"]
    if not args.access_log:
        command.append("--no-access-log")
    log = Path(tempfile.mkdtemp(prefix="bench-serve-")) / "server.log"      # the access log, when kept
    with log.open("wb") as err:
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
    marks: dict[str, tuple[float, dict[int, float] | None, float | None]] = {}
    try:
        wait_ready(port, proc, log)
        w = Window(args.warmup, args.duration, args.max_requests)
        asyncio.run(load(port, args.concurrency, w,
                         lambda: marks.__setitem__("begin", (time.process_time(), cpu_by_process(proc.pid),
                                                             machine_busy_seconds())),
                         lambda: marks.__setitem__("end", (time.process_time(), cpu_by_process(proc.pid),
                                                           machine_busy_seconds()))))
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(log.parent, ignore_errors=True)
    latencies, seconds = sorted(w.latencies), w.ends - w.begins
    q = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [0.0] * 99
    result = {"workers": workers, "drafts": len(latencies), "errors": len(w.errors),
              "rate": len(latencies) / seconds, "p50": q[49] * 1000, "p95": q[94] * 1000, "p99": q[98] * 1000}
    (client_before, before, busy_before), (client_after, after, busy_after) = marks["begin"], marks["end"]
    client = (client_after - client_before) / seconds
    line = (f"workers {workers}: {result['rate']:.0f} drafts/s ({len(latencies)} in {seconds:g} s, "
            f"{len(w.errors)} errors), latency p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms, "
            f"p99 {result['p99']:.1f} ms; client {client:.0%} of a core")
    if before is not None and after is not None and latencies:
        used = {pid: after[pid] - before.get(pid, 0.0) for pid in after}
        result["server_cpu_ms"] = 1000 * sum(used.values()) / len(latencies)
        shares = ", ".join(f"{u / seconds:.0%}" for _, u in sorted(used.items()) if u / seconds >= 0.01)
        line += (f"; server CPU {result['server_cpu_ms']:.2f} ms per draft, i.e. "
                 f"{1000 / result['server_cpu_ms']:.0f} drafts/s per busy core (worker load: {shares})")
        if busy_before is not None and busy_after is not None:
            others = (busy_after - busy_before - sum(used.values())) / seconds - client
            line += f"; other processes on the machine used {max(0.0, others):.0%} of a core"
    print(line, flush=True)
    for error in w.errors[:3]:
        print(f"  error: {error}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of measured load (default 10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load first (default 3)")
    parser.add_argument("--concurrency", type=int, default=16, help="connections kept busy (default 16)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="upper bound per phase")
    parser.add_argument("--access-log", action="store_true", help="keep uvicorn's access log (as serve does)")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"drafter serve --offline, POST /v1/draft, {args.concurrency} connections, {args.duration:g} s "
          f"each; {cores} cores (os.cpu_count {os.cpu_count()}), Python {sys.version.split()[0]}, "
          f"access log {'on' if args.access_log else 'off'}", flush=True)
    for workers in (int(w) for w in args.workers.split(",")):
        run(workers, args)


if __name__ == "__main__":
    main()
