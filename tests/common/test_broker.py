"""The fsatomic:// transport: kombu's filesystem broker with atomic writes and claims."""

import os
import threading
import uuid

import pytest
from kombu import Connection

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


def unique(name: str) -> str:
    # kombu remembers declared bindings per process, across connections; a fresh queue name
    # per test keeps one test's folders from shadowing another's.
    return f"{name}-{uuid.uuid4().hex[:8]}"


def test_it_creates_its_folders(broker_options):
    with connect(broker_options) as conn:
        conn.SimpleQueue(unique("q")).close()
    for key in ("data_folder_in", "processed_folder", "control_folder"):
        assert os.path.isdir(broker_options[key])


def test_it_delivers_messages_in_order(broker_options):
    with connect(broker_options) as conn:
        queue = conn.SimpleQueue(unique("q"))
        for i in range(5):
            queue.put({"i": i})
        received = []
        for _ in range(5):
            message = queue.get(timeout=1)
            received.append(message.payload["i"])
            message.ack()
        queue.close()
    assert received == [0, 1, 2, 3, 4]


def test_it_leaves_no_temporary_or_claimed_files_behind(broker_options):
    with connect(broker_options) as conn:
        queue = conn.SimpleQueue(unique("q"))
        queue.put({"x": 1})
        queue.get(timeout=1).ack()
        queue.close()
    assert [n for n in os.listdir(broker_options["data_folder_in"]) if "msg" in n] == []
    assert os.listdir(broker_options["processed_folder"]) == []


def test_it_never_hands_out_a_half_written_message(broker_options):
    # The stock transport creates the file and then writes it; a consumer polling at the same
    # time could read it empty. Here every message must arrive whole and exactly once.
    count = 400
    name = unique("race")
    received: list[int] = []
    errors: list[BaseException] = []

    def consume():
        try:
            with connect(broker_options) as conn:
                queue = conn.SimpleQueue(name)
                while len(received) < count:
                    message = queue.get(timeout=10)
                    received.append(message.payload["i"])
                    message.ack()
                queue.close()
        except BaseException as exc:
            errors.append(exc)

    consumer = threading.Thread(target=consume)
    consumer.start()
    with connect(broker_options) as conn:
        queue = conn.SimpleQueue(name)
        for i in range(count):
            queue.put({"i": i, "padding": "x" * 2000})
        queue.close()
    consumer.join(timeout=30)
    assert errors == []
    assert sorted(received) == list(range(count))


def test_it_gives_each_message_to_exactly_one_of_two_consumers(broker_options):
    count = 200
    name = unique("shared")
    with connect(broker_options) as conn:
        queue = conn.SimpleQueue(name)
        for i in range(count):
            queue.put({"i": i})
        queue.close()

    taken: list[list[int]] = [[], []]

    def consume(index):
        with connect(broker_options) as conn:
            queue = conn.SimpleQueue(name)
            while True:
                try:
                    message = queue.get(timeout=0.3)
                except queue.Empty:
                    break
                taken[index].append(message.payload["i"])
                message.ack()
            queue.close()

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(taken[0] + taken[1]) == list(range(count))
