"""The restricted unpickler: plain containers and numpy arrays load; anything else is refused unrun."""

import pickle

import numpy as np
import pytest

from tracklift.io.safe_pickle import ForbiddenGlobalError, load_pickle, loads_pickle


def nested() -> dict:
    return {
        "metainfo": {"categories": {"chair": 2, "table": 4}, "version": "1.1"},
        "data_list": [
            {
                "instances": [{"bbox_3d": [0.5, -1.0, 0.25, 1.0, 2.0, 0.5], "bbox_label_3d": 2}],
                "axis_align_matrix": np.eye(4),
                "flags": (True, False, None),
                "ids": {1, 2, 3},
                "raw": b"\x00\xffbytes",
                "big": 2**70,
                "half": np.float32(0.5),
                "n": np.int64(-7),
            },
        ],
        "arrays": [
            np.arange(12, dtype=np.int16).reshape(3, 4),
            np.zeros((0, 3)),
            np.array(["a", "bc"]),
            np.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", "<f8")]),
            np.asfortranarray(np.ones((2, 3))),
        ],
    }


def assert_same(a, b) -> None:
    assert type(a) is type(b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert a == b


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_round_trip_of_containers_and_numpy(tmp_path, protocol):
    path = tmp_path / "infos.pkl"
    path.write_bytes(pickle.dumps(nested(), protocol=protocol))
    assert_same(load_pickle(path), nested())


class Custom:
    def __reduce__(self):
        return (Custom, ())


class Exploit:
    """Unpickling it with pickle.load would run `os.system(...)`."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.target}",))


def test_os_system_is_refused_and_never_run(tmp_path):
    target = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"ok": [1, 2], "payload": Exploit(target)}, protocol=2))
    with pytest.raises(ForbiddenGlobalError, match=r"evil\.pkl.*(posix|os)\.system"):
        load_pickle(path)
    assert not target.exists()


def test_custom_class_is_refused_with_its_name(tmp_path):
    path = tmp_path / "custom.pkl"
    path.write_bytes(pickle.dumps([Custom()]))
    with pytest.raises(ForbiddenGlobalError, match=r"custom\.pkl.*test_io_safe_pickle\.Custom"):
        load_pickle(path)


@pytest.mark.parametrize(
    "payload",
    [
        b"cbuiltins\neval\n(S'1+1'\ntR.",  # GLOBAL builtins.eval, then REDUCE
        b"c_codecs\nencode\n(S'x'\nS'rot13'\ntR.",  # an allowed global with an argument it refuses
        b"(cbuiltins\nexec\nS'print(1)'\no.",  # INST/OBJ opcodes go through the same allow-list
    ],
)
def test_hand_written_payloads_are_refused(payload):
    with pytest.raises(pickle.UnpicklingError, match="refusing|latin-1"):
        loads_pickle(payload, "payload")


def test_damaged_and_missing_files_are_named(tmp_path):
    path = tmp_path / "cut.pkl"
    path.write_bytes(pickle.dumps(nested())[:50])
    with pytest.raises(pickle.UnpicklingError, match=r"cut\.pkl: not a readable pickle"):
        load_pickle(path)
    with pytest.raises(FileNotFoundError, match="nope.pkl"):
        load_pickle(tmp_path / "nope.pkl")
