"""A status's HTML `content` as the plain text detectors read, and the links in it.

Mastodon sends sanitised HTML (`<p>`, `<br>`, `<a>`, `<span>`, a few inline tags). We parse it
with the standard library's tolerant HTML parser rather than regular expressions, so that
odd markup from a remote server (statuses in reports may be federated) cannot smuggle text
past us or break the parse: every tag is dropped, its text kept, entities unescaped.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

MAX_LINKS = 50
MAX_LINK_LEN = 2048

_BLOCK = {"p", "div", "blockquote", "li", "ul", "ol", "pre", "h1", "h2", "h3", "h4", "h5", "h6"}
_SKIP = {"script", "style", "template"}  # never text, whatever a remote server sends


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._skipping = 0

    def _newlines(self, n: int) -> None:
        # collapse to at most n newlines at a boundary, never leading
        text = "".join(self.parts)
        if not text:
            return
        have = len(text) - len(text.rstrip("\n"))
        if have < n:
            self.parts.append("\n" * (n - have))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK:
            self._newlines(2)
        elif tag == "a":
            a = dict(attrs)
            classes = set((a.get("class") or "").split())
            href = a.get("href") or ""
            # mentions and hashtags link to profiles and tag pages, not to what was shared
            if (not classes & {"mention", "hashtag", "u-url"} and href.startswith(("https://", "http://"))
                    and len(href) <= MAX_LINK_LEN and href not in self.links
                    and len(self.links) < MAX_LINKS):
                self.links.append(href)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK:
            self._newlines(2)

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


_SPACES = re.compile(r"[ \t\r\f\v]+")


def html_to_text(html: str) -> tuple[str, list[str]]:
    """(plain text, links) of a status's HTML. Line breaks are kept (`<br>` one, paragraphs a
    blank line); runs of spaces are collapsed; the text is stripped."""
    p = _Text()
    p.feed(html)
    p.close()
    text = "".join(p.parts).replace("\xa0", " ")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip(), p.links
