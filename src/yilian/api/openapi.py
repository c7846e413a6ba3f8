"""Write the API's OpenAPI document without starting anything: `python -m yilian.api.openapi [PATH]`.

The web app's client and types are generated from it (`make api-client`), so it is written the same way every
time: keys in the order FastAPI gives them, two-space indent, a final newline.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from yilian.api.app import build_app


def openapi_document() -> dict[str, Any]:
    return build_app().openapi()


def render() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if not args or args[0] == "-":
        sys.stdout.write(text)
        return
    with open(args[0], "w", encoding="utf-8") as out:
        out.write(text)


if __name__ == "__main__":
    main()
