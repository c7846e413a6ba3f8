"""Blob keys: check_key by str.strip accepts exactly what the per-character rule it replaced accepted."""

from __future__ import annotations

import random
import string

import pytest

from yilian.imaging.blob import check_key, key_path


def _was_a_key(key: str) -> bool:  # the rule as it was
    return len(key) == 64 and not any(c not in "0123456789abcdef" for c in key)


def _keys(rng: random.Random) -> list[str]:
    hexes = "".join(rng.choice("0123456789abcdef") for _ in range(64))
    odd = rng.choice(["A", "g", "/", ".", " ", "\n", "é", "０", "-", "F"])
    at = rng.randrange(64)
    return [
        hexes,
        hexes[:at] + odd + hexes[at + 1 :],  # one foreign character anywhere, the ends included
        odd + hexes[1:],
        hexes[:63] + odd,
        hexes[:63],
        hexes + "0",
        "",
        "".join(rng.choice(string.printable) for _ in range(64)),
        "../" + hexes[3:],
    ]


@pytest.mark.parametrize("seed", range(50))
def test_check_key_accepts_what_the_old_rule_accepted(seed: int) -> None:
    for key in _keys(random.Random(seed)):
        if _was_a_key(key):
            assert check_key(key) == key and key_path(key) == f"{key[:2]}/{key[2:4]}/{key}"
        else:
            with pytest.raises(ValueError, match="not a blob key"):
                check_key(key)
