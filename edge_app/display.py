"""Names (of files, sites, reasons) made safe to show on a terminal or in a page.

The one place for it: the engine's report and the command line both print file names a
phone or an old Windows zip may have filled with control characters or bytes that are
not UTF-8.
"""

from __future__ import annotations

import unicodedata

_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}


def display_name(name) -> str:
    """``name`` safe to print on a terminal or put in a page: control characters (newline,
    escape, ...), invisible format characters (right-to-left overrides, zero-width
    joiners), line separators and bytes that were not UTF-8 (surrogate escapes) become
    ``\\xNN`` / ``\\uNNNN``; everything else (Korean, spaces, emoji) stays as it is."""
    name = str(name)
    out = []
    for ch in name:
        if unicodedata.category(ch) in _INVISIBLE:
            o = ord(ch)
            if 0xDC80 <= o <= 0xDCFF:  # a byte that was not UTF-8 (os.fsdecode)
                out.append(f"\\x{o - 0xDC00:02x}")
            elif o < 0x100:
                out.append(f"\\x{o:02x}")
            else:
                out.append(f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}")
        else:
            out.append(ch)
    return "".join(out)
