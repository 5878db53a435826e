"""The Unicode font an invoice PDF embeds: the configured one (``ROUNDPOOL_INVOICE_FONT``), else the first
known system font that covers every character of the document (DejaVu Sans for the documents it covers,
then IPAGothic, Noto Sans CJK). No font covering the text → :class:`DocumentFontMissing`, never a ``?``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cost.billing.errors import BillingError

FONT_SETTING = "ROUNDPOOL_INVOICE_FONT"
# (path, index in a font collection)
SYSTEM_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 0),  # Latin, Greek, Cyrillic: the nicer face for those
    ("/usr/share/fonts/opentype/ipafont-gothic/ipagp.ttf", 0),
    ("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf", 0),
    ("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 0),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 0),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 0),
    ("/System/Library/Fonts/ヒラギノ角ゴシック W3.ttc", 0),
)


class DocumentFontMissing(BillingError, LookupError):
    def __init__(self, missing: str, tried: Sequence[str]) -> None:
        self.missing = missing
        self.tried = tuple(tried)
        shown = "".join(sorted(set(missing))[:10])
        super().__init__(
            f"no font covers {shown!r} of this document: install one (e.g. fonts-noto-cjk or fonts-ipafont-gothic) "
            f"or set {FONT_SETTING} to a TrueType font covering it"
        )


@dataclass(frozen=True)
class Font:
    path: Path
    collection_index: int = 0


@lru_cache(maxsize=16)
def _coverage(path: str, index: int) -> frozenset[int] | None:
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]  # fontTools ships neither stubs nor py.typed

    try:
        with TTFont(path, fontNumber=index, lazy=True) as font:
            cmap = font.getBestCmap()
            return frozenset(cmap) if cmap else frozenset()
    except (OSError, Exception):
        return None


def _needed(text: str) -> set[int]:
    return {ord(c) for c in text if not c.isspace() and ord(c) >= 0x20}


def find_font(text: str, configured: Path | None = None, candidates: Iterable[tuple[str, int]] = SYSTEM_FONTS) -> Font:
    """The font to embed for a document whose text is ``text``."""
    needed = _needed(text)
    tried: list[str] = []
    options = [(str(configured), 0)] if configured is not None else list(candidates)
    best_missing: set[int] | None = None
    for path, index in options:
        tried.append(path)
        covered = _coverage(path, index)
        if covered is None:
            continue
        missing = needed - covered
        if not missing:
            return Font(Path(path), index)
        if best_missing is None or len(missing) < len(best_missing):
            best_missing = missing
    missing_text = "".join(chr(c) for c in sorted(best_missing if best_missing is not None else needed))
    raise DocumentFontMissing(missing_text, tried)
