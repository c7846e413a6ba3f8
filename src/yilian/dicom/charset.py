"""Decoding Chinese Specific Character Sets where pydicom falls short (PS3.5 §6.1, Annex J; PS3.3 C.12.1.1.2)."""

from __future__ import annotations

import re

from pydicom.dataset import Dataset

ISO_2022_IR_58 = "ISO 2022 IR 58"

# pydicom 3.0 maps ISO 2022 IR 58 to Python's "iso_ir_58" codec, which is plain GB2312 (EUC-CN) and leaves
# the ISO 2022 escape sequences (ESC $ ) A designating GB2312 to G1, ESC ( B returning G0 to ASCII) in the
# decoded text. The bytes between escapes are already EUC-CN, so dropping the escapes gives the right text.
_ISO_2022_ESCAPES = re.compile("\x1b(?:\\$\\)A|\\(B)")


def uses_iso_2022_ir_58(ds: Dataset) -> bool:
    """Whether Specific Character Set (0008,0005) lists ISO 2022 IR 58 (GB2312 by code extension, PS3.5 J.3)."""
    value = ds.get("SpecificCharacterSet")
    values = [value] if isinstance(value, str) else list(value or [])
    return any(str(v).strip() == ISO_2022_IR_58 for v in values)


def strip_iso_2022_escapes(text: str) -> str:
    """Text decoded from ISO 2022 IR 58 without the escape sequences pydicom leaves in (PS3.5 §6.1.2.5.3)."""
    return _ISO_2022_ESCAPES.sub("", text)
