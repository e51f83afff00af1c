"""`cxx_sort_order` reproduces GCC's std::sort (and std::partial_sort) order, ties included."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracklift.superpoints.cxx_sort import cxx_partial_sort_order, cxx_sort_order

# Orders printed by g++ 12.2 (libstdc++) `std::sort` / `std::partial_sort(first, last, last)` on
# records {float w; int index}, compared by w only.
GOLDEN = [
    (
        cxx_sort_order,
        [(i * 7) % 5 for i in range(40)],
        "10 20 25 15 30 35 5 0 33 8 28 13 3 38 23 18 31 1 36 26 21 6 16 11 39 19 4 34 9 29 14 24 12 27 32 7 17 37 2 22",
    ),
    (
        cxx_sort_order,
        [(i * i) % 4 for i in range(70)],
        "0 22 24 26 56 28 30 54 32 34 58 36 52 38 40 50 42 44 48 46 4 66 8 6 10 64 20 12 14 62 16 68 18 2 60 53 67 "
        "49 69 51 65 63 55 61 57 35 59 23 1 3 5 7 9 11 13 15 17 19 21 47 25 27 29 31 33 37 39 41 43 45",
    ),
    (
        cxx_partial_sort_order,
        [(i * 3) % 4 for i in range(25)],
        "8 20 16 4 12 0 24 15 7 3 19 11 23 18 10 22 6 2 14 17 1 9 21 5 13",
    ),
]


@pytest.mark.parametrize(("sort", "keys", "expected"), GOLDEN, ids=["sort40", "sort70", "partial25"])
def test_matches_libstdcxx_golden(sort, keys, expected):
    order = sort(np.asarray(keys, np.float32))
    assert order.tolist() == [int(x) for x in expected.split()]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=300), st.booleans())
def test_sorted_permutation(values, partial):
    keys = np.asarray(values, np.float32) / 3
    order = (cxx_partial_sort_order if partial else cxx_sort_order)(keys)
    assert order.dtype == np.int64
    assert sorted(order.tolist()) == list(range(len(keys)))
    assert np.all(np.diff(keys[order]) >= 0)


def test_distinct_keys_give_the_unique_sorted_order():
    keys = np.random.default_rng(0).permutation(1000).astype(np.float32)
    np.testing.assert_array_equal(cxx_sort_order(keys), np.argsort(keys))
    np.testing.assert_array_equal(cxx_partial_sort_order(keys), np.argsort(keys))


@pytest.mark.parametrize("keys", [np.zeros((2, 2), np.float32), np.array([0.0, np.nan], np.float32)])
def test_bad_keys_raise(keys):
    with pytest.raises(ValueError, match="keys"):
        cxx_sort_order(keys)


_PROGRAM = r"""
#include <algorithm>
#include <cstdio>
#include <vector>
struct rec { float w; int i; };
bool operator<(const rec& x, const rec& y) { return x.w < y.w; }
int main() {
  int mode, n;
  while (std::scanf("%d %d", &mode, &n) == 2) {
    std::vector<rec> v(n);
    for (int i = 0; i < n; i++) { std::scanf("%f", &v[i].w); v[i].i = i; }
    if (mode == 0) std::sort(v.begin(), v.end()); else std::partial_sort(v.begin(), v.end(), v.end());
    for (const rec& r : v) std::printf("%d ", r.i);
    std::printf("\n");
  }
}
"""


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++ to run the real std::sort")
def test_matches_real_std_sort(tmp_path):
    (tmp_path / "sort.cpp").write_text(_PROGRAM)
    subprocess.run(["g++", "-std=c++11", "-o", str(tmp_path / "sort"), str(tmp_path / "sort.cpp")], check=True)
    rng = np.random.default_rng(0)
    cases = []
    for n in (17, 33, 300, 5000):
        for levels in (1, 3, 50, 10**6):
            for mode in (0, 1):
                cases.append((mode, (rng.integers(0, levels, n) / 7).astype(np.float32)))
    text = "".join(f"{m} {len(k)} " + " ".join(repr(float(x)) for x in k) + "\n" for m, k in cases)
    out = subprocess.run([str(tmp_path / "sort")], input=text, capture_output=True, text=True, check=True).stdout
    for (mode, keys), line in zip(cases, out.splitlines(), strict=True):
        got = (cxx_sort_order if mode == 0 else cxx_partial_sort_order)(keys)
        assert got.tolist() == [int(x) for x in line.split()], (mode, len(keys))
