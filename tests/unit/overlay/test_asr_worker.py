"""The decode queue: one job at a time, bounded, never an unbounded wait."""
from __future__ import annotations

import asyncio
import queue
import threading
import time

import pytest

from asr_worker import Busy, DecodeWorker, JobQueue


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


def test_job_queue_is_fifo_bounded_and_closes():
    jobs = JobQueue(depth=2)
    jobs.put_nowait("a")
    jobs.put_nowait("b")
    with pytest.raises(queue.Full):
        jobs.put_nowait("c")
    assert jobs.qsize() == 2
    assert jobs.get() == "a"
    jobs.put_nowait("c")                       # a slot came free
    jobs.close()                               # never refused, even when full
    assert [jobs.get(), jobs.get(), jobs.get()] == ["b", "c", None]
    assert jobs.qsize() == 0


def test_stop_ends_the_worker_even_with_a_full_queue():
    worker = DecodeWorker(depth=1, queue_timeout=30, decode_timeout=30)
    gate = threading.Event()
    worker.submit(gate.wait)
    while worker.pending < 1 or worker._jobs.qsize():
        time.sleep(0.001)
    last = worker.submit(lambda: "queued before stop")
    worker.stop()
    gate.set()
    assert last.future.result(timeout=5) == "queued before stop"
    worker._thread.join(timeout=5)
    assert not worker._thread.is_alive()


def test_async_errors_reach_the_caller():
    worker = DecodeWorker(depth=4, queue_timeout=30, decode_timeout=30)

    def boom():
        raise ValueError("bad samples")

    with pytest.raises(ValueError, match="bad samples"):
        asyncio.run(worker.run(boom))
    assert asyncio.run(worker.run(lambda: 7))[0] == 7


def test_a_caller_cancelled_while_queued_leaves_its_job_unrun():
    worker = DecodeWorker(depth=4, queue_timeout=30, decode_timeout=30)
    gate, ran = threading.Event(), []
    worker.submit(gate.wait)

    async def call_then_give_up():
        task = asyncio.ensure_future(worker.run(lambda: ran.append(1)))
        await asyncio.sleep(0.05)
        task.cancel()                          # the client went away
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(call_then_give_up())
    gate.set()
    assert worker.run_sync(lambda: "next", timeout=5) == "next"
    assert ran == []


def test_many_awaited_jobs_each_get_their_own_answer():
    worker = DecodeWorker(depth=64, queue_timeout=30, decode_timeout=30)

    async def many():
        return await asyncio.gather(*(worker.run(lambda i=i: i * i) for i in range(50)))

    answers = asyncio.run(many())
    assert [result for result, _job in answers] == [i * i for i in range(50)]
    assert all(job.finished_at >= job.started_at >= job.queued_at for _r, job in answers)
