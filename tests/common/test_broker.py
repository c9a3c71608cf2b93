"""The fsatomic:// transport: kombu's filesystem broker with atomic writes and claims."""

import json
import os
import threading
import uuid

import pytest
from kombu import Connection, Exchange, Queue

import llmplanner.broker  # noqa: F401  registers the scheme


@pytest.fixture
def broker_options(tmp_path):
    queue = tmp_path / "queue"
    return {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "processed_folder": str(tmp_path / "processing"),
        "control_folder": str(tmp_path / "control"),
        "polling_interval": 0.01,
    }


def connect(options):
    return Connection("fsatomic://localhost//", transport_options=options)


def declare(options, name: str = "q") -> Queue:
    """A durable queue, declared (bound) before anyone publishes or consumes.

    Names are made unique: kombu remembers bindings per process, across connections, so a
    reused name would skip writing the binding into this test's fresh folders.
    """
    name = f"{name}-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, Exchange(name), routing_key=name)
    with connect(options) as conn:
        queue(conn.default_channel).declare()
    return queue


def publish(options, queue: Queue, payloads) -> None:
    with connect(options) as conn:
        producer = conn.Producer(serializer="json")
        for payload in payloads:
            producer.publish(payload, exchange=queue.exchange, routing_key=queue.routing_key)


def drain(options, queue: Queue, *, until: int | None = None, idle_s: float = 0.3) -> list[int]:
    """Consume ``i`` of each message until ``until`` arrived or the queue stays idle."""
    received: list[int] = []
    with connect(options) as conn:
        consumer = conn.SimpleQueue(queue)
        while until is None or len(received) < until:
            try:
                message = consumer.get(timeout=idle_s if until is None else 10)
            except consumer.Empty:
                if until is None:
                    break
                raise
            received.append(message.payload["i"])
            message.ack()
        consumer.close()
    return received


def test_it_creates_its_folders(broker_options):
    declare(broker_options)
    for key in ("data_folder_in", "processed_folder", "control_folder"):
        assert os.path.isdir(broker_options[key])


def test_it_delivers_messages_in_order(broker_options):
    queue = declare(broker_options)
    publish(broker_options, queue, [{"i": i} for i in range(5)])
    assert drain(broker_options, queue, until=5) == [0, 1, 2, 3, 4]


def test_it_leaves_no_temporary_or_claimed_files_behind(broker_options):
    queue = declare(broker_options)
    publish(broker_options, queue, [{"i": 1}])
    assert drain(broker_options, queue, until=1) == [1]
    assert [n for n in os.listdir(broker_options["data_folder_in"]) if "msg" in n] == []
    assert os.listdir(broker_options["processed_folder"]) == []


def test_it_never_hands_out_a_half_written_message(broker_options):
    # The stock transport creates the file and then writes it; a consumer polling at the same
    # time could read it empty. Here every message must arrive whole and exactly once.
    count = 400
    queue = declare(broker_options, "race")
    received: list[int] = []
    errors: list[BaseException] = []

    def consume():
        try:
            received.extend(drain(broker_options, queue, until=count))
        except BaseException as exc:
            errors.append(exc)

    consumer = threading.Thread(target=consume, daemon=True)  # daemon: a hung one cannot block exit
    consumer.start()
    publish(broker_options, queue, [{"i": i, "padding": "x" * 2000} for i in range(count)])
    consumer.join(timeout=30)
    assert not consumer.is_alive() and errors == []
    assert sorted(received) == list(range(count))


def test_it_gives_each_message_to_exactly_one_of_two_consumers(broker_options):
    count = 200
    queue = declare(broker_options, "shared")
    publish(broker_options, queue, [{"i": i} for i in range(count)])
    taken: list[list[int]] = [[], []]

    def consume(index):
        taken[index].extend(drain(broker_options, queue))

    threads = [threading.Thread(target=consume, args=(i,), daemon=True) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert sorted(taken[0] + taken[1]) == list(range(count))


def test_it_keeps_every_binding_when_queues_bind_at_once(broker_options):
    # Bindings live in one table file per exchange, rewritten on each bind: concurrent binds
    # must not lose each other's entries (they are read on every publish).
    exchange = Exchange(f"fan-{uuid.uuid4().hex[:8]}", type="fanout")
    names = [f"member-{i}-{uuid.uuid4().hex[:6]}" for i in range(8)]
    barrier = threading.Barrier(len(names), timeout=30)

    def bind(name):
        with connect(broker_options) as conn:
            barrier.wait()
            Queue(name, exchange)(conn.default_channel).declare()

    threads = [threading.Thread(target=bind, args=(n,), daemon=True) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    table_file = os.path.join(broker_options["control_folder"], f"{exchange.name}.exchange")
    with open(table_file) as f:
        bound = {row[2] for row in json.load(f)}
    assert bound == set(names)
