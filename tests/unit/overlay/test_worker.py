"""The decode queue: one job at a time, bounded, never an unbounded wait."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest

from asr_worker import Busy, DecodeWorker


def test_jobs_run_one_at_a_time_in_order():
    worker = DecodeWorker(depth=16, queue_timeout=30, decode_timeout=30)
    active, peak, order, lock = [0], [0], [], threading.Lock()

    def job(i):
        def run():
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.01)
            with lock:
                active[0] -= 1
            order.append(i)
            return i
        return run

    jobs = [worker.submit(job(i)) for i in range(10)]
    assert [j.future.result(timeout=10) for j in jobs] == list(range(10))
    assert peak[0] == 1
    assert order == list(range(10))
    assert {t.name for t in threading.enumerate()} >= {"decode-worker"}


def test_full_queue_refuses_with_retry_after():
    worker = DecodeWorker(depth=2, queue_timeout=30, decode_timeout=30)
    gate = threading.Event()
    running = worker.submit(gate.wait)
    while worker.pending < 1 or worker._jobs.qsize():   # wait until the worker holds the blocker
        time.sleep(0.001)
    worker.submit(lambda: 1)
    worker.submit(lambda: 2)
    with pytest.raises(Busy) as info:
        worker.submit(lambda: 3)
    assert info.value.retry_after >= 1
    assert "ASR_QUEUE_DEPTH" in str(info.value)
    gate.set()
    assert running.future.result(timeout=5) is True


def test_job_that_waited_too_long_is_dropped_unrun():
    worker = DecodeWorker(depth=4, queue_timeout=0.05, decode_timeout=30)
    ran = []
    worker.submit(lambda: time.sleep(0.2))
    late = worker.submit(lambda: ran.append(1))
    with pytest.raises(Busy) as info:
        late.future.result(timeout=5)
    assert "ASR_QUEUE_TIMEOUT" in str(info.value)
    assert ran == []


def test_errors_reach_the_caller_and_the_worker_survives():
    worker = DecodeWorker(depth=4, queue_timeout=30, decode_timeout=30)

    def boom():
        raise RuntimeError("decoder exploded")

    with pytest.raises(RuntimeError, match="decoder exploded"):
        worker.run_sync(boom, timeout=5)
    assert worker.run_sync(lambda: "still alive", timeout=5) == "still alive"


def test_async_wait_is_bounded_and_a_cancelled_job_never_runs():
    worker = DecodeWorker(depth=4, queue_timeout=0.05, decode_timeout=0.05)
    gate, ran = threading.Event(), []
    worker.submit(gate.wait)

    async def call():
        return await worker.run(lambda: ran.append(1))

    with pytest.raises(Busy) as info:
        asyncio.run(call())
    assert "ASR_DECODE_TIMEOUT" in str(info.value)
    gate.set()
    assert worker.run_sync(lambda: "next", timeout=5) == "next"
    assert ran == []


def test_async_run_reports_queue_wait_and_run_time():
    worker = DecodeWorker(depth=4, queue_timeout=30, decode_timeout=30)
    result, job = asyncio.run(worker.run(lambda: time.sleep(0.02) or "done"))
    assert result == "done"
    assert job.run_time >= 0.02 and job.queue_wait >= 0
